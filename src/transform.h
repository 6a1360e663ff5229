/*-------------------------------------------------------------------------
 *
 * transform.h
 *	  Target input transformation: EventBridge's Input (a constant),
 *	  InputPath (a part of the event) and InputTransformer (variables taken
 *	  from the event and substituted into a template).
 *
 * A target's settings are compiled once (target_input_compile, which also
 * validates them) and applied to many events (target_input_apply).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_TRANSFORM_H
#define EVENTBUS_TRANSFORM_H

#include "postgres.h"

#include "utils/jsonb.h"

typedef struct TargetInput TargetInput;	/* opaque compiled form */

/*
 * Compile (and validate) a target's input settings in CurrentMemoryContext.
 * NULL arguments are absent settings; at most one may be given.  Raises
 * "Target input is not valid. Reason: ..." (SQLSTATE 22023) when invalid.
 * Returns NULL when all three are NULL: the event goes unchanged.
 */
extern TargetInput *target_input_compile(Jsonb *input, text *input_path,
										 Jsonb *input_transformer);

/*
 * What the target receives for an event envelope (a detoasted jsonb object
 * as made by envelope_to_jsonb); a NULL ti gives a copy of the event.  The
 * result is allocated in CurrentMemoryContext, and nothing else is left
 * there.  rule_name, rule_arn and ingestion_time (EventBridge's format,
 * "2015-11-11T21:29:54Z") feed the predefined variables
 * <aws.events.rule-name>, <aws.events.rule-arn> and
 * <aws.events.event.ingestion-time>; a NULL one is treated like a path that
 * the event lacks (null as a JSON value, nothing inside a string).
 */
extern Jsonb *target_input_apply(const TargetInput *ti, Jsonb *event,
								 const char *rule_name, const char *rule_arn,
								 const char *ingestion_time);

#endif							/* EVENTBUS_TRANSFORM_H */
