/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Counters behind the metrics views, kept in shared memory.
 *
 * Counting never writes a row: a transaction accumulates its counts in a
 * backend-local table, and a transaction callback adds them to a shared
 * hash table at commit (and drops them at abort), so the views only show
 * what committed.  The shared table exists only when eventbus is in
 * shared_preload_libraries; without it counting is a no-op and the views
 * show zeros.  Counters start at zero when the server starts, and
 * eventbus.reset_stats() sets a database's back to zero (as pg_stat_reset()
 * does for PostgreSQL's own counters), remembering when in an entry of kind
 * STATS_KIND_DATABASE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "eventbus.h"
#include "stats.h"

#define STATS_NAME_LEN 72

typedef struct StatsKey
{
	Oid			dbid;
	int32		kind;
	int64		id;				/* rule_id, or 0 for a queue or database */
	char		name[STATS_NAME_LEN];	/* target id or queue name, or "" */
} StatsKey;

/*
 * Delivery latency: a histogram with four buckets per doubling of
 * microseconds (each bucket ~19% wide), kept for the current and the
 * previous window of STATS_WINDOW_SECONDS.
 */
#define LATENCY_BUCKETS 128
#define STATS_WINDOW_SECONDS 60

typedef struct LatencyWindow
{
	int64		window;			/* seconds since epoch / STATS_WINDOW_SECONDS */
	uint32		buckets[LATENCY_BUCKETS];
} LatencyWindow;

typedef struct StatsEntry
{
	StatsKey	key;
	int64		counters[STATS_NCOUNTERS];
	LatencyWindow latency[2];
	TimestampTz reset_at;		/* STATS_KIND_DATABASE: the last reset */
} StatsEntry;

typedef struct StatsShared
{
	LWLock	   *lock;
	bool		full_warned;
} StatsShared;

int			eventbus_max_stats_entries = 10000;

static StatsShared *stats_shared = NULL;
static HTAB *shared_counters = NULL;
static HTAB *pending_counters = NULL;
static bool callback_registered = false;

PG_FUNCTION_INFO_V1(eventbus_stats);
PG_FUNCTION_INFO_V1(eventbus_count_queue);
PG_FUNCTION_INFO_V1(eventbus_reset_stats);
PG_FUNCTION_INFO_V1(eventbus_stats_reset_time);

Size
stats_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(StatsShared)),
					hash_estimate_size(eventbus_max_stats_entries,
									   sizeof(StatsEntry)));
}

/* Called from the shmem startup hook, with AddinShmemInitLock held. */
void
stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	stats_shared = ShmemInitStruct("eventbus stats", sizeof(StatsShared), &found);
	if (!found)
	{
		stats_shared->lock = &(GetNamedLWLockTranche("eventbus stats"))->lock;
		stats_shared->full_warned = false;
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StatsKey);
	info.entrysize = sizeof(StatsEntry);
	shared_counters = ShmemInitHash("eventbus stats counters",
									eventbus_max_stats_entries,
									eventbus_max_stats_entries,
									&info, HASH_ELEM | HASH_BLOBS);
}

static void
stats_publish(void)
{
	HASH_SEQ_STATUS seq;
	StatsEntry *pending;
	bool		overflow = false;

	LWLockAcquire(stats_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, pending_counters);
	while ((pending = hash_seq_search(&seq)) != NULL)
	{
		bool		found;
		StatsEntry *shared = hash_search(shared_counters, &pending->key,
										 HASH_ENTER_NULL, &found);

		if (shared == NULL)
		{
			overflow = true;
			continue;
		}
		if (!found)
		{
			memset(shared->counters, 0, sizeof(shared->counters));
			memset(shared->latency, 0, sizeof(shared->latency));
			shared->reset_at = 0;
		}
		for (int c = 0; c < STATS_NCOUNTERS; c++)
			shared->counters[c] += pending->counters[c];
		for (int w = 0; w < 2; w++)
		{
			LatencyWindow *from = &pending->latency[w];
			LatencyWindow *to;

			if (from->window == 0)
				continue;
			to = &shared->latency[from->window % 2];
			if (to->window != from->window)
			{
				memset(to->buckets, 0, sizeof(to->buckets));
				to->window = from->window;
			}
			for (int b = 0; b < LATENCY_BUCKETS; b++)
				to->buckets[b] += from->buckets[b];
		}
	}
	if (overflow && !stats_shared->full_warned)
		stats_shared->full_warned = true;
	else
		overflow = false;
	LWLockRelease(stats_shared->lock);

	if (overflow)
		ereport(LOG,
				(errmsg("eventbus: the metrics table is full; some counts are not kept"),
				 errhint("Raise eventbus.max_stats_entries (needs a restart).")));
}

static void
stats_xact_callback(XactEvent event, void *arg)
{
	if (pending_counters == NULL || hash_get_num_entries(pending_counters) == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			stats_publish();
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			hash_destroy(pending_counters);
			pending_counters = NULL;
			break;
		default:
			break;
	}
}

static StatsEntry *
pending_entry(StatsKind kind, int64 id, const char *name)
{
	StatsKey	key;
	StatsEntry *entry;
	bool		found;

	if (pending_counters == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(StatsKey);
		ctl.entrysize = sizeof(StatsEntry);
		ctl.hcxt = TopMemoryContext;
		pending_counters = hash_create("eventbus pending counters", 32, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		if (!callback_registered)
		{
			RegisterXactCallback(stats_xact_callback, NULL);
			callback_registered = true;
		}
	}
	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.kind = kind;
	key.id = id;
	if (name)
		strlcpy(key.name, name, STATS_NAME_LEN);
	entry = hash_search(pending_counters, &key, HASH_ENTER, &found);
	if (!found)
	{
		memset(entry->counters, 0, sizeof(entry->counters));
		memset(entry->latency, 0, sizeof(entry->latency));
		entry->reset_at = 0;
	}
	return entry;
}

static void
stats_count(StatsKind kind, int64 id, const char *name, StatsCounter counter,
			int64 n)
{
	if (shared_counters == NULL)
		return;
	pending_entry(kind, id, name)->counters[counter] += n;
}

static int
latency_bucket(int64 usec)
{
	int			b;

	if (usec < 1)
		return 0;
	b = (int) floor(4.0 * log2((double) usec)) + 1;
	return Min(b, LATENCY_BUCKETS - 1);
}

/* Representative latency of a bucket, in microseconds (its midpoint). */
static double
latency_of_bucket(int b)
{
	if (b == 0)
		return 0.5;
	return pow(2.0, ((double) b - 0.5) / 4.0);
}

void
stats_record_latency(int64 rule_id, const char *target_id, int64 usec)
{
	StatsEntry *entry;
	int64		window;
	LatencyWindow *lw;

	if (shared_counters == NULL)
		return;
	entry = pending_entry(STATS_KIND_TARGET, rule_id, target_id);
	window = (int64) (time(NULL) / STATS_WINDOW_SECONDS);
	lw = &entry->latency[window % 2];
	if (lw->window != window)
	{
		memset(lw->buckets, 0, sizeof(lw->buckets));
		lw->window = window;
	}
	lw->buckets[latency_bucket(usec)]++;
}

void
stats_count_rule_match(int64 rule_id)
{
	stats_count(STATS_KIND_RULE, rule_id, NULL, STATS_MATCHED, 1);
}

void
stats_count_target(int64 rule_id, const char *target_id, StatsCounter counter,
				   int64 n)
{
	stats_count(STATS_KIND_TARGET, rule_id, target_id, counter, n);
}

void
stats_count_queue(const char *queue, StatsCounter counter, int64 n)
{
	stats_count(STATS_KIND_QUEUE, 0, queue, counter, n);
}

/*
 * eventbus._count_queue(queue, received, acked, dead_lettered): called by
 * the consumer functions once per call.
 */
Datum
eventbus_count_queue(PG_FUNCTION_ARGS)
{
	char	   *queue = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (PG_GETARG_INT64(1) != 0)
		stats_count_queue(queue, STATS_RECEIVED, PG_GETARG_INT64(1));
	if (PG_GETARG_INT64(2) != 0)
		stats_count_queue(queue, STATS_ACKED, PG_GETARG_INT64(2));
	if (PG_GETARG_INT64(3) != 0)
		stats_count_queue(queue, STATS_DEAD_LETTERED, PG_GETARG_INT64(3));
	PG_RETURN_VOID();
}

/* The key of this database's STATS_KIND_DATABASE entry. */
static void
database_key(StatsKey *key)
{
	memset(key, 0, sizeof(*key));
	key->dbid = MyDatabaseId;
	key->kind = STATS_KIND_DATABASE;
}

/*
 * eventbus.reset_stats(): every counter of this database back to zero, at
 * once and whatever the caller's transaction does next (as pg_stat_reset()).
 * Counts that transactions still in progress have made are published when
 * they commit, after the reset.  Who may call it is decided by EXECUTE on
 * the function (revoked from PUBLIC).  Removing the entries also frees the
 * slots of rules, targets and queues that no longer exist.
 */
Datum
eventbus_reset_stats(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS seq;
	StatsEntry *entry;
	StatsKey	key;
	bool		found;

	if (shared_counters == NULL)
		PG_RETURN_VOID();

	LWLockAcquire(stats_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, shared_counters);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		/* dynahash allows removing the element just returned */
		if (entry->key.dbid == MyDatabaseId)
			hash_search(shared_counters, &entry->key, HASH_REMOVE, NULL);
	}
	database_key(&key);
	entry = hash_search(shared_counters, &key, HASH_ENTER_NULL, &found);
	if (entry != NULL)
	{
		memset(entry->counters, 0, sizeof(entry->counters));
		memset(entry->latency, 0, sizeof(entry->latency));
		entry->reset_at = GetCurrentTimestamp();
	}
	/* room again: a later overflow is worth a new warning */
	stats_shared->full_warned = false;
	LWLockRelease(stats_shared->lock);
	PG_RETURN_VOID();
}

/*
 * eventbus._stats_reset_time(): when this database's counters were last
 * reset, or the server's start when they never were (they count from
 * there); NULL without shared memory (nothing is counted).
 */
Datum
eventbus_stats_reset_time(PG_FUNCTION_ARGS)
{
	StatsKey	key;
	StatsEntry *entry;
	TimestampTz result;

	if (shared_counters == NULL)
		PG_RETURN_NULL();

	database_key(&key);
	LWLockAcquire(stats_shared->lock, LW_SHARED);
	entry = hash_search(shared_counters, &key, HASH_FIND, NULL);
	result = (entry != NULL) ? entry->reset_at : PgStartTime;
	LWLockRelease(stats_shared->lock);
	PG_RETURN_TIMESTAMPTZ(result);
}

/* eventbus._stats(): every counter of this database. */
Datum
eventbus_stats(PG_FUNCTION_ARGS)
{
	static const char *const kinds[] = {"rule", "target", "queue"};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	StatsEntry *entry;

	InitMaterializedSRF(fcinfo, 0);
	if (shared_counters == NULL)
		PG_RETURN_VOID();

	LWLockAcquire(stats_shared->lock, LW_SHARED);
	hash_seq_init(&seq, shared_counters);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[3 + STATS_NCOUNTERS + 4];
		bool		nulls[3 + STATS_NCOUNTERS + 4];
		uint64		hist[LATENCY_BUCKETS];
		uint64		total = 0;
		int64		window = (int64) (time(NULL) / STATS_WINDOW_SECONDS);
		static const double quantiles[3] = {0.50, 0.95, 0.99};

		if (entry->key.dbid != MyDatabaseId ||
			entry->key.kind == STATS_KIND_DATABASE)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(kinds[entry->key.kind]);
		values[1] = Int64GetDatum(entry->key.id);
		values[2] = CStringGetTextDatum(entry->key.name);
		for (int c = 0; c < STATS_NCOUNTERS; c++)
			values[3 + c] = Int64GetDatum(entry->counters[c]);

		/* latency over the current and the previous window */
		memset(hist, 0, sizeof(hist));
		for (int w = 0; w < 2; w++)
		{
			if (entry->latency[w].window < window - 1)
				continue;
			for (int b = 0; b < LATENCY_BUCKETS; b++)
			{
				hist[b] += entry->latency[w].buckets[b];
				total += entry->latency[w].buckets[b];
			}
		}
		values[3 + STATS_NCOUNTERS] = Int64GetDatum((int64) total);
		for (int q = 0; q < 3; q++)
		{
			uint64		rank = (uint64) ceil(quantiles[q] * (double) total);
			uint64		seen = 0;
			int			b;

			if (total == 0)
			{
				nulls[3 + STATS_NCOUNTERS + 1 + q] = true;
				continue;
			}
			for (b = 0; b < LATENCY_BUCKETS - 1; b++)
			{
				seen += hist[b];
				if (seen >= rank)
					break;
			}
			values[3 + STATS_NCOUNTERS + 1 + q] = Float8GetDatum(latency_of_bucket(b) / 1000.0);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(stats_shared->lock);
	PG_RETURN_VOID();
}
