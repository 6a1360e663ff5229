/*-------------------------------------------------------------------------
 *
 * rule_index.h
 *	  The per-bus rule index: a bus's enabled rules with their compiled
 *	  patterns and targets, indexed by field path and value, cached in
 *	  backend memory and rebuilt when the catalog changes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_RULE_INDEX_H
#define EVENTBUS_RULE_INDEX_H

#include "postgres.h"

#include "fifo.h"
#include "pattern.h"
#include "transform.h"

typedef struct RuleTarget
{
	char	   *target_id;
	char	   *kind;			/* queue, function, bus, notify, http */
	char	   *destination;	/* for kind queue: the queue's name */
	Oid			outbox;			/* the outbox table messages go to */
	TargetInput *input;			/* NULL: the message references the event */
	TargetSqs  *sqs;			/* a FIFO queue's target: its SqsParameters */
	/*
	 * A queue target whose owner does not hold send on the queue (checked
	 * when the index is built; a grant or revoke rebuilds it): routing
	 * writes nothing for it and counts a failed invocation.
	 */
	bool		denied;
} RuleTarget;

typedef struct IndexedRule
{
	int64		rule_id;
	char	   *name;
	char	   *arn;
	EventPattern *pattern;		/* NULL: the rule has a schedule only */
	bool		scheduled;		/* it has a schedule expression */
	int			ntargets;
	RuleTarget *targets;
} IndexedRule;

typedef struct BusRuleIndex BusRuleIndex;

/*
 * The index of a bus, built or rebuilt as needed (uses SPI: the caller must
 * be connected).  Never NULL: a bus without rules gets an empty index.
 */
extern BusRuleIndex *rule_index_for_bus(const char *bus);

/* Is this index still the current one for its bus (no catalog change)? */
extern bool rule_index_is_current(BusRuleIndex *index);

/* Rules of the index, for iteration by number. */
extern int	rule_index_nrules(BusRuleIndex *index);
extern IndexedRule *rule_index_rule(BusRuleIndex *index, int i);

/*
 * The rules of the bus that match the event (an envelope jsonb): fills
 * matched[] with rule numbers, returns how many.  matched must have room
 * for rule_index_nrules() entries.
 */
extern int	rule_index_match(BusRuleIndex *index, Jsonb *event, int *matched);

/*
 * The enabled rule with a schedule expression whose ARN is arn (len bytes),
 * or -1: where a scheduled tick of that rule goes.
 */
extern int	rule_index_find_scheduled(BusRuleIndex *index, const char *arn, int len);

/* Forget every cached index (catalog change). */
extern void rule_index_invalidate_all(void);

/* Changes whenever rules, targets, queues, owners or grants may have changed. */
extern uint64 rule_index_catalog_generation(void);

#endif							/* EVENTBUS_RULE_INDEX_H */
