/*-------------------------------------------------------------------------
 *
 * transform_funcs.c
 *	  The SQL functions of target input transformation:
 *	  eventbus.validate_target_input and eventbus.transform_input.
 *
 * transform_input keeps the compiled settings of its last call in
 * fn_extra, so a scan with constant settings compiles them once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "transform.h"

PG_FUNCTION_INFO_V1(eventbus_validate_target_input);
PG_FUNCTION_INFO_V1(eventbus_transform_input);

/* validate_target_input(input jsonb, input_path text, input_transformer jsonb) */
Datum
eventbus_validate_target_input(PG_FUNCTION_ARGS)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext,
											   "eventbus target input validation",
											   ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);

	(void) target_input_compile(PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0),
								PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
								PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	PG_RETURN_BOOL(true);
}

/*
 * transform_input keeps the compiled settings in fn_extra, keyed by the
 * bytes of its three arguments, so a scan with constant settings compiles
 * them once.
 */
typedef struct TransformCache
{
	MemoryContext cxt;			/* holds keys and compiled; reset on a miss */
	bool		valid;
	struct varlena *keys[3];	/* NULL: argument was NULL */
	TargetInput *compiled;
} TransformCache;

static bool
same_datum(struct varlena *cached, struct varlena *arg)
{
	if (cached == NULL || arg == NULL)
		return cached == arg;
	return VARSIZE_ANY(cached) == VARSIZE_ANY(arg) &&
		memcmp(cached, arg, VARSIZE_ANY(arg)) == 0;
}

static TargetInput *
cached_compile(FunctionCallInfo fcinfo, struct varlena *args[3])
{
	TransformCache *cache = (TransformCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(TransformCache));
		cache->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
										   "eventbus transform_input cache",
										   ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = cache;
	}
	else if (cache->valid &&
			 same_datum(cache->keys[0], args[0]) &&
			 same_datum(cache->keys[1], args[1]) &&
			 same_datum(cache->keys[2], args[2]))
		return cache->compiled;

	MemoryContextReset(cache->cxt);
	cache->valid = false;
	old = MemoryContextSwitchTo(cache->cxt);
	for (int i = 0; i < 3; i++)
	{
		cache->keys[i] = NULL;
		if (args[i] != NULL)
		{
			cache->keys[i] = palloc(VARSIZE_ANY(args[i]));
			memcpy(cache->keys[i], args[i], VARSIZE_ANY(args[i]));
		}
	}
	cache->compiled = target_input_compile((Jsonb *) args[0],
										   (text *) args[1],
										   (Jsonb *) args[2]);
	cache->valid = true;
	MemoryContextSwitchTo(old);
	return cache->compiled;
}

/*
 * transform_input(event jsonb, input jsonb, input_path text,
 *				   input_transformer jsonb, rule_name text, rule_arn text)
 */
Datum
eventbus_transform_input(PG_FUNCTION_ARGS)
{
	Jsonb	   *event;
	struct varlena *args[3];
	TargetInput *ti;
	char	   *rule_name = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	char	   *rule_arn = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	char	   *ingestion_time = NULL;
	JsonbValue	v;

	/* settings are checked even when there is no event */
	args[0] = PG_ARGISNULL(1) ? NULL : (struct varlena *) PG_GETARG_JSONB_P(1);
	args[1] = PG_ARGISNULL(2) ? NULL : (struct varlena *) PG_GETARG_TEXT_PP(2);
	args[2] = PG_ARGISNULL(3) ? NULL : (struct varlena *) PG_GETARG_JSONB_P(3);
	ti = cached_compile(fcinfo, args);

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	event = PG_GETARG_JSONB_P(0);

	/* no ingestion time here: the event's "time" stands for it */
	if (JB_ROOT_IS_OBJECT(event) &&
		getKeyJsonValueFromContainer(&event->root, "time", 4, &v) != NULL &&
		v.type == jbvString)
		ingestion_time = pnstrdup(v.val.string.val, v.val.string.len);

	PG_RETURN_JSONB_P(target_input_apply(ti, event, rule_name, rule_arn,
										 ingestion_time));
}
