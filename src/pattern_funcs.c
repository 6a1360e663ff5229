/*-------------------------------------------------------------------------
 *
 * pattern_funcs.c
 *	  SQL-callable functions of the pattern language: the jsonb
 *	  pattern-match operator, test_event_pattern and pattern validation.
 *
 * The operator keeps the compiled pattern in fn_extra, keyed by the bytes
 * of the pattern datum, so a scan with a constant pattern compiles it once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "eventbus.h"
#include "pattern.h"

PG_FUNCTION_INFO_V1(eventbus_event_matches);
PG_FUNCTION_INFO_V1(eventbus_test_event_pattern);
PG_FUNCTION_INFO_V1(eventbus_validate_event_pattern);
PG_FUNCTION_INFO_V1(eventbus_is_valid_event_pattern);

typedef struct PatternCache
{
	MemoryContext cxt;			/* holds key and compiled; reset on a miss */
	Jsonb	   *key;
	EventPattern *compiled;
} PatternCache;

/*
 * The compiled form of pattern, from the call site's cache when the same
 * pattern was compiled before.  Raises the pattern error if invalid.
 */
static EventPattern *
cached_pattern(FunctionCallInfo fcinfo, Jsonb *pattern)
{
	PatternCache *cache = (PatternCache *) fcinfo->flinfo->fn_extra;
	MemoryContext oldcxt;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(PatternCache));
		cache->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
										   "eventbus pattern cache",
										   ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = cache;
	}
	else if (cache->compiled != NULL &&
			 VARSIZE(cache->key) == VARSIZE(pattern) &&
			 memcmp(cache->key, pattern, VARSIZE(pattern)) == 0)
		return cache->compiled;

	MemoryContextReset(cache->cxt);
	cache->compiled = NULL;
	oldcxt = MemoryContextSwitchTo(cache->cxt);
	cache->key = palloc(VARSIZE(pattern));
	memcpy(cache->key, pattern, VARSIZE(pattern));
	cache->compiled = pattern_compile_or_error(pattern);
	MemoryContextSwitchTo(oldcxt);
	return cache->compiled;
}

/* event =~ pattern */
Datum
eventbus_event_matches(PG_FUNCTION_ARGS)
{
	Jsonb	   *event = PG_GETARG_JSONB_P(0);
	Jsonb	   *pattern = PG_GETARG_JSONB_P(1);

	PG_RETURN_BOOL(pattern_match(cached_pattern(fcinfo, pattern), event));
}

/*
 * EventBridge's TestEventPattern: the event must be a full envelope with
 * the fields AWS requires.
 */
Datum
eventbus_test_event_pattern(PG_FUNCTION_ARGS)
{
	static const char *const required[] = {
		"id", "account", "source", "time", "region", "resources", "detail-type"
	};
	Jsonb	   *event = PG_GETARG_JSONB_P(0);
	Jsonb	   *pattern = PG_GETARG_JSONB_P(1);
	EventPattern *compiled;

	if (!JB_ROOT_IS_OBJECT(event))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Event is not valid. Reason: the event must be a JSON object"),
				 errdetail("TestEventPattern takes a whole event envelope."),
				 errhint("Pass an object with id, account, source, time, region, resources and detail-type.")));

	for (int i = 0; i < lengthof(required); i++)
	{
		JsonbValue	buf;
		JsonbValue *v = getKeyJsonValueFromContainer(&event->root, required[i],
													 strlen(required[i]), &buf);

		if (v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Event is not valid. Reason: the field \"%s\" is missing", required[i]),
					 errdetail("TestEventPattern requires id, account, source, time, region, resources and detail-type."),
					 errhint("Add the missing field to the event; the pattern-match operator =~ takes partial events.")));
		if (strcmp(required[i], "resources") == 0 ?
			!(v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data)) :
			v->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Event is not valid. Reason: the field \"%s\" must be %s",
							required[i],
							strcmp(required[i], "resources") == 0 ? "an array" : "a string"),
					 errdetail("The event envelope follows EventBridge's event structure."),
					 errhint("Fix the type of the field.")));
	}

	compiled = cached_pattern(fcinfo, pattern);
	PG_RETURN_BOOL(pattern_match(compiled, event));
}

/* Raise the pattern's error if it is invalid; true otherwise. */
Datum
eventbus_validate_event_pattern(PG_FUNCTION_ARGS)
{
	Jsonb	   *pattern = PG_GETARG_JSONB_P(0);

	(void) pattern_compile_or_error(pattern);
	PG_RETURN_BOOL(true);
}

/* true or false, never an error. */
Datum
eventbus_is_valid_event_pattern(PG_FUNCTION_ARGS)
{
	Jsonb	   *pattern = PG_GETARG_JSONB_P(0);
	PatternError error;

	PG_RETURN_BOOL(pattern_compile(pattern, &error) != NULL);
}
