/*-------------------------------------------------------------------------
 *
 * pattern_funcs.c
 *	  SQL-callable functions of the pattern language: the jsonb
 *	  pattern-match operator, test_event_pattern and pattern validation.
 *
 * None of them applies eventbus.max_pattern_size: they are IMMUTABLE, and
 * a quota belongs where a pattern is defined (put_rule).
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
PG_FUNCTION_INFO_V1(eventbus_check_stored_event_pattern);

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
 * EventBridge's TestEventPattern.  The service requires the event to be an
 * object with the fields id, account, source, time, region and
 * detail-type, of any JSON type; it does not require resources, although
 * its API reference lists it.
 */
Datum
eventbus_test_event_pattern(PG_FUNCTION_ARGS)
{
	static const char *const required[] = {
		"id", "account", "source", "time", "region", "detail-type"
	};
	Jsonb	   *event = PG_GETARG_JSONB_P(0);
	Jsonb	   *pattern = PG_GETARG_JSONB_P(1);
	EventPattern *compiled;

	if (!JB_ROOT_IS_OBJECT(event))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Parameter Event is not valid."),
				 errdetail("The event must be a JSON object."),
				 errhint("Pass an object with id, account, source, time, region and detail-type.")));

	for (int i = 0; i < lengthof(required); i++)
	{
		JsonbValue	buf;

		if (getKeyJsonValueFromContainer(&event->root, required[i],
										 strlen(required[i]), &buf) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Parameter Event is not valid."),
					 errdetail("The event has no field \"%s\"; TestEventPattern requires id, account, source, time, region and detail-type.", required[i]),
					 errhint("Add the missing field to the event; the pattern-match operator =~ takes partial events.")));
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

/*
 * The check of domain eventbus.event_pattern: true, or the pattern's error.
 * It accepts what the rule index loads (pattern_compile_stored), so that a
 * rule stored under an earlier, looser check survives dump and restore.
 */
Datum
eventbus_check_stored_event_pattern(PG_FUNCTION_ARGS)
{
	Jsonb	   *pattern = PG_GETARG_JSONB_P(0);

	(void) pattern_compile_stored(pattern);
	PG_RETURN_BOOL(true);
}
