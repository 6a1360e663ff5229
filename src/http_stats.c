/*-------------------------------------------------------------------------
 *
 * http_stats.c
 *	  Per-destination state shared by the delivery workers: the rate limit
 *	  (InvocationRateLimitPerSecond) and the metrics of API destinations.
 *
 * A fixed-size hash table in shared memory, keyed by database and
 * destination name, holds one entry per destination that a worker has
 * delivered to since the server started (entries stay until a restart; a
 * destination created again under the same name goes on counting in the
 * same entry).  Each entry has a spinlock for its fields; the table's
 * LWLock is taken only to find or add an entry, and workers keep a pointer
 * to theirs.
 *
 * The rate limit is a schedule rather than a bucket of tokens: each request
 * takes the next free start time of its destination (at least 1/rate
 * seconds after the previous one, and never in the past), so that all the
 * workers together start no more than rate requests in any second.  A
 * request whose start time is in the future waits for it without blocking
 * the worker: target_http.c starts it when it comes due, driving the
 * requests in flight meanwhile.  Such a wait is a "rate-limited wait".
 *
 * Latencies (from the start of a request to its response) are counted in a
 * histogram of 4 buckets per doubling of microseconds, from which the SRF
 * eventbus._api_destination_stats() computes p50, p95 and p99 (the
 * geometric middle of the bucket holding the percentile).  Without shared
 * memory (eventbus not preloaded: no workers either) nothing is counted and
 * each target keeps its own schedule.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "http.h"

#define HTTP_STATS_MAX_DESTINATIONS 1024
#define HTTP_NAME_LEN 72
#define HTTP_LATENCY_BUCKETS 128

typedef struct HttpStatsKey
{
	Oid			dbid;
	char		name[HTTP_NAME_LEN];
} HttpStatsKey;

typedef struct HttpDestStats
{
	HttpStatsKey key;
	slock_t		mutex;
	int64		requests;
	int64		responses[4];	/* 2xx, 3xx, 4xx, 5xx */
	int64		timeouts;
	int64		network_errors;
	int64		rate_limited_waits;
	int32		in_flight;
	TimestampTz next_slot;
	uint32		latency[HTTP_LATENCY_BUCKETS];
} HttpDestStats;

typedef struct HttpStatsShared
{
	LWLock	   *lock;
} HttpStatsShared;

static HttpStatsShared *http_shared = NULL;
static HTAB *http_table = NULL;

PG_FUNCTION_INFO_V1(eventbus_api_destination_stats);

Size
http_stats_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(HttpStatsShared)),
					hash_estimate_size(HTTP_STATS_MAX_DESTINATIONS, sizeof(HttpDestStats)));
}

/* Called from the shmem startup hook, with AddinShmemInitLock held. */
void
http_stats_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	http_shared = ShmemInitStruct("eventbus http", sizeof(HttpStatsShared), &found);
	if (!found)
		http_shared->lock = &(GetNamedLWLockTranche("eventbus http"))->lock;
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(HttpStatsKey);
	info.entrysize = sizeof(HttpDestStats);
	http_table = ShmemInitHash("eventbus http destinations",
							   HTTP_STATS_MAX_DESTINATIONS,
							   HTTP_STATS_MAX_DESTINATIONS,
							   &info, HASH_ELEM | HASH_BLOBS);
}

/* The shared entry of a destination of this database (added), or NULL. */
HttpDestStats *
http_stats_entry(const char *destination)
{
	HttpStatsKey key;
	HttpDestStats *entry;
	bool		found;

	if (http_table == NULL)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	strlcpy(key.name, destination, sizeof(key.name));

	LWLockAcquire(http_shared->lock, LW_SHARED);
	entry = hash_search(http_table, &key, HASH_FIND, NULL);
	LWLockRelease(http_shared->lock);
	if (entry)
		return entry;

	LWLockAcquire(http_shared->lock, LW_EXCLUSIVE);
	entry = hash_search(http_table, &key, HASH_ENTER_NULL, &found);
	if (entry && !found)
	{
		SpinLockInit(&entry->mutex);
		entry->requests = 0;
		memset(entry->responses, 0, sizeof(entry->responses));
		entry->timeouts = 0;
		entry->network_errors = 0;
		entry->rate_limited_waits = 0;
		entry->in_flight = 0;
		entry->next_slot = 0;
		memset(entry->latency, 0, sizeof(entry->latency));
	}
	LWLockRelease(http_shared->lock);
	if (entry == NULL)
		ereport(LOG,
				(errmsg("eventbus: the table of API destination metrics is full; destination \"%s\" is neither counted nor rate-limited with the other workers",
						destination)));
	return entry;
}

/*
 * Take the next start time of the destination (*slot: now or later) if it
 * is no later than not_after; false (nothing taken, *slot the time it would
 * have been) when it is, so that a batch never holds a start time it will
 * not use.
 */
bool
http_stats_take_slot(HttpDestStats *entry, TimestampTz *local_slot,
					 int rate_limit, TimestampTz now, TimestampTz not_after,
					 TimestampTz *slot)
{
	int64		interval;
	TimestampTz next;

	if (rate_limit <= 0)
	{
		*slot = now;
		return now <= not_after;
	}
	interval = (int64) (USECS_PER_SEC / rate_limit);
	if (entry == NULL)
	{
		next = Max(now, *local_slot);
		*slot = next;
		if (next > not_after)
			return false;
		*local_slot = next + interval;
		*slot = next;
		return true;
	}
	SpinLockAcquire(&entry->mutex);
	next = Max(now, entry->next_slot);
	if (next <= not_after)
		entry->next_slot = next + interval;
	/* the request waits for the rate limit: now, or until a later batch */
	if (next > now)
		entry->rate_limited_waits++;
	SpinLockRelease(&entry->mutex);
	*slot = next;
	return next <= not_after;
}

void
http_stats_started(HttpDestStats *entry)
{
	if (entry == NULL)
		return;
	SpinLockAcquire(&entry->mutex);
	entry->requests++;
	entry->in_flight++;
	SpinLockRelease(&entry->mutex);
}

static int
latency_bucket(double latency_ms)
{
	double		us = latency_ms * 1000.0;
	int			b;

	if (us < 1.0)
		return 0;
	b = (int) floor(4.0 * log2(us));
	return Min(b, HTTP_LATENCY_BUCKETS - 1);
}

/* A request ended (or was abandoned: outcome NETWORK_ERROR, latency < 0). */
void
http_stats_finished(HttpDestStats *entry, HttpOutcome outcome, long status,
					double latency_ms)
{
	if (entry == NULL)
		return;
	SpinLockAcquire(&entry->mutex);
	if (entry->in_flight > 0)
		entry->in_flight--;
	switch (outcome)
	{
		case HTTP_OUTCOME_RESPONSE:
			if (status >= 200 && status < 600)
				entry->responses[status / 100 - 2]++;
			break;
		case HTTP_OUTCOME_TIMEOUT:
			entry->timeouts++;
			break;
		case HTTP_OUTCOME_NETWORK_ERROR:
		case HTTP_OUTCOME_DENIED:
			if (latency_ms >= 0)
				entry->network_errors++;
			break;
	}
	if (outcome == HTTP_OUTCOME_RESPONSE && latency_ms >= 0)
		entry->latency[latency_bucket(latency_ms)]++;
	SpinLockRelease(&entry->mutex);
}

static double
percentile_ms(const uint32 *buckets, uint64 total, double q)
{
	uint64		rank;
	uint64		seen = 0;

	if (total == 0)
		return 0;
	rank = (uint64) ceil(q * (double) total);
	if (rank == 0)
		rank = 1;
	for (int b = 0; b < HTTP_LATENCY_BUCKETS; b++)
	{
		seen += buckets[b];
		if (seen >= rank)
			return pow(2.0, (b + 0.5) / 4.0) / 1000.0;
	}
	return pow(2.0, HTTP_LATENCY_BUCKETS / 4.0) / 1000.0;
}

/*
 * eventbus._api_destination_stats(): one row per API destination of the
 * current database that a worker has delivered to.
 */
Datum
eventbus_api_destination_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	HttpDestStats *entry;

	InitMaterializedSRF(fcinfo, 0);
	if (http_table == NULL)
		return (Datum) 0;

	LWLockAcquire(http_shared->lock, LW_SHARED);
	hash_seq_init(&seq, http_table);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		HttpDestStats copy;
		Datum		values[13];
		bool		nulls[13] = {0};
		uint64		total = 0;

		if (entry->key.dbid != MyDatabaseId)
			continue;
		SpinLockAcquire(&entry->mutex);
		memcpy(&copy, entry, sizeof(copy));
		SpinLockRelease(&entry->mutex);
		for (int b = 0; b < HTTP_LATENCY_BUCKETS; b++)
			total += copy.latency[b];

		values[0] = CStringGetTextDatum(copy.key.name);
		values[1] = Int64GetDatum(copy.requests);
		values[2] = Int64GetDatum(copy.responses[0]);
		values[3] = Int64GetDatum(copy.responses[1]);
		values[4] = Int64GetDatum(copy.responses[2]);
		values[5] = Int64GetDatum(copy.responses[3]);
		values[6] = Int64GetDatum(copy.timeouts);
		values[7] = Int64GetDatum(copy.network_errors);
		values[8] = Int64GetDatum(copy.rate_limited_waits);
		values[9] = Int32GetDatum(copy.in_flight);
		if (total == 0)
			nulls[10] = nulls[11] = nulls[12] = true;
		else
		{
			values[10] = Float8GetDatum(percentile_ms(copy.latency, total, 0.50));
			values[11] = Float8GetDatum(percentile_ms(copy.latency, total, 0.95));
			values[12] = Float8GetDatum(percentile_ms(copy.latency, total, 0.99));
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(http_shared->lock);
	return (Datum) 0;
}
