/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Shared-memory counters for the metrics views (rule_stats,
 *	  target_stats, queue_stats): counted per transaction, published at
 *	  commit, reset per database by eventbus.reset_stats().
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_STATS_H
#define EVENTBUS_STATS_H

#include "postgres.h"

typedef enum StatsCounter
{
	STATS_MATCHED = 0,			/* rule: MatchedEvents */
	STATS_ENQUEUED,				/* target / queue: messages enqueued */
	STATS_RECEIVED,				/* queue: messages received */
	STATS_ACKED,				/* queue: messages acknowledged */
	STATS_DEAD_LETTERED,		/* target / queue: messages dead-lettered */
	STATS_INVOCATIONS,			/* push target: invocations */
	STATS_FAILED_INVOCATIONS,	/* push target: failed invocations */
	STATS_RETRY_ATTEMPTS,		/* push target: retry invocation attempts */
	STATS_NCOUNTERS
} StatsCounter;

typedef enum StatsKind
{
	STATS_KIND_RULE = 0,
	STATS_KIND_TARGET,
	STATS_KIND_QUEUE,
	STATS_KIND_DATABASE			/* no counters: the time of the last reset */
} StatsKind;

extern int	eventbus_max_stats_entries;

/* Shared memory, reserved and attached by eventbus.c's hooks. */
extern Size stats_shmem_size(void);
extern void stats_shmem_startup(void);

extern void stats_count_rule_match(int64 rule_id);
extern void stats_count_target(int64 rule_id, const char *target_id,
							   StatsCounter counter, int64 n);
extern void stats_count_queue(const char *queue, StatsCounter counter, int64 n);

/* Delivery latency of a target (ingestion to invocation start). */
extern void stats_record_latency(int64 rule_id, const char *target_id, int64 usec);

#endif							/* EVENTBUS_STATS_H */
