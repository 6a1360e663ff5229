/*-------------------------------------------------------------------------
 *
 * outbox_floor.c
 *	  The scan floor of each outbox: a message id F such that the outbox
 *	  holds no message with message_id <= F, published in shared memory.
 *	  receive() and delivery's claim walk the primary key from F instead of
 *	  from its first entry, so the index entries of the messages acked since
 *	  the last vacuum (all at the head of the queue) are not walked again
 *	  by every claim: the hot path no longer depends on vacuum keeping up.
 *
 * Message ids come from the outbox's identity sequence, and a producer's
 * message becomes visible only when its transaction commits, possibly
 * after messages with higher ids.  So the floor may pass an id only once
 * no transaction can still commit a message with that id.  The first
 * delivery worker of each database raises the floors that claims asked
 * for, in two steps some time apart:
 *   1. read L, the sequence's last value, then collect the transactions
 *      that hold a lock on the outbox conflicting with ShareLock (every
 *      writer: an INSERT takes RowExclusiveLock before it draws an id, and
 *      keeps it until it ends; so every transaction that drew an id <= L
 *      and has not ended is among them);
 *   2. once all of them have ended, every message with id <= L is
 *      committed or gone for good: with a new snapshot, the lowest
 *      message_id above the old floor, m, is the lowest message that
 *      exists (visible, in flight, delayed: anything not deleted), and
 *      the new floor is min(m - 1, L).
 * The floor only rises; a floor that is lower than it could be only
 * makes a claim walk further.  Shared memory starts empty (floor 0) after
 * a restart, and an outbox that has no entry (the table is full) is
 * walked from its start, as before.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/dependency.h"
#include "common/hashfn.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lock.h"
#include "storage/shmem.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "outbox.h"
#include "outbox_floor.h"

#define FLOOR_ENTRIES 4096
#define FLOOR_PROBES 32
#define FLOOR_INTERVAL_MS 200

typedef struct FloorEntry
{
	pg_atomic_uint64 key;		/* dboid << 32 | outbox; 0: free */
	pg_atomic_uint64 floor;
	pg_atomic_uint32 wanted;	/* a claim used it since the last raise */
} FloorEntry;

static FloorEntry *floor_entries = NULL;

/* The worker's step 1, per outbox, until step 2 can run. */
typedef struct FloorCandidate
{
	Oid			outbox;			/* hash key */
	bool		pending;
	int64		last_id;
	int			nlockers;
	VirtualTransactionId *lockers;
} FloorCandidate;

static HTAB *candidates = NULL;
static MemoryContext floor_cxt = NULL;
static TimestampTz last_maintained = 0;

PG_FUNCTION_INFO_V1(eventbus_outbox_floor);

Size
outbox_floor_shmem_size(void)
{
	return mul_size(FLOOR_ENTRIES, sizeof(FloorEntry));
}

void
outbox_floor_shmem_startup(void)
{
	bool		found;

	floor_entries = ShmemInitStruct("eventbus outbox floors", outbox_floor_shmem_size(), &found);
	if (!found)
		for (int i = 0; i < FLOOR_ENTRIES; i++)
		{
			pg_atomic_init_u64(&floor_entries[i].key, 0);
			pg_atomic_init_u64(&floor_entries[i].floor, 0);
			pg_atomic_init_u32(&floor_entries[i].wanted, 0);
		}
}

static uint64
floor_key(Oid outbox)
{
	return ((uint64) MyDatabaseId << 32) | (uint64) outbox;
}

/* The entry of an outbox, made if need be; NULL when none is free. */
static FloorEntry *
floor_entry(Oid outbox, bool create)
{
	uint64		key = floor_key(outbox);
	uint32		start;

	if (floor_entries == NULL || !OidIsValid(outbox))
		return NULL;
	start = hash_bytes((const unsigned char *) &key, sizeof(key)) % FLOOR_ENTRIES;
	for (int i = 0; i < FLOOR_PROBES; i++)
	{
		FloorEntry *e = &floor_entries[(start + i) % FLOOR_ENTRIES];
		uint64		k = pg_atomic_read_u64(&e->key);
		uint64		expected = 0;

		if (k == key)
			return e;
		if (k != 0)
			continue;
		if (!create)
			return NULL;
		if (pg_atomic_compare_exchange_u64(&e->key, &expected, key) || expected == key)
			return e;
	}
	return NULL;
}

int64
outbox_floor_get(Oid outbox)
{
	FloorEntry *e = floor_entry(outbox, true);

	if (e == NULL)
		return 0;
	if (pg_atomic_read_u32(&e->wanted) == 0)
		pg_atomic_write_u32(&e->wanted, 1);
	return (int64) pg_atomic_read_u64(&e->floor);
}

/* Step 1: the last id drawn, then the transactions that may hold lower ones. */
static void
floor_begin(FloorCandidate *c, Oid outbox)
{
	Oid			seq = getIdentitySequence(outbox, 1, true);
	Datum		arg = ObjectIdGetDatum(seq);
	LOCKTAG		tag;
	VirtualTransactionId *vxids;
	int			n = 0;
	bool		isnull;

	if (!OidIsValid(seq))
		return;
	if (SPI_execute_with_args("SELECT coalesce(pg_catalog.pg_sequence_last_value($1), 0)",
							  1, (Oid[]) {REGCLASSOID}, &arg, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "eventbus: could not read the last message id of outbox %u", outbox);
	c->last_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, outbox);
	vxids = GetLockConflicts(&tag, ShareLock, &n);
	if (c->lockers)
		pfree(c->lockers);
	c->lockers = MemoryContextAlloc(floor_cxt, sizeof(VirtualTransactionId) * (n + 1));
	c->nlockers = 0;
	for (int i = 0; i < n && VirtualTransactionIdIsValid(vxids[i]); i++)
		c->lockers[c->nlockers++] = vxids[i];
	c->pending = true;
}

/* Step 2, if every transaction of step 1 has ended: the new floor. */
static void
floor_finish(FloorCandidate *c, FloorEntry *e, Oid outbox)
{
	int64		old = (int64) pg_atomic_read_u64(&e->floor);
	int64		lowest;
	int64		floor;
	Datum		arg = Int64GetDatum(old);
	bool		isnull;
	char	   *sql;
	int			nestlevel;
	int			rc;

	for (int i = 0; i < c->nlockers; i++)
		if (!VirtualXactLock(c->lockers[i], false))
			return;
	c->pending = false;

	/* a fresh snapshot: every message with id <= last_id is settled */
	PushActiveSnapshot(GetTransactionSnapshot());
	sql = psprintf("SELECT min(o.message_id) FROM %s o WHERE o.message_id > $1",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(outbox)),
											  get_rel_name(outbox)));
	nestlevel = outbox_ordered_scan_settings();
	rc = SPI_execute_with_args(sql, 1, (Oid[]) {INT8OID}, &arg, NULL, false, 1);
	AtEOXact_GUC(true, nestlevel);
	PopActiveSnapshot();
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "eventbus: could not find the first message of outbox %u", outbox);
	lowest = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	floor = isnull ? c->last_id : Min(lowest - 1, c->last_id);
	if (floor > old)
		pg_atomic_write_u64(&e->floor, (uint64) floor);
}

void
outbox_floor_maintain(void)
{
	TimestampTz now = GetCurrentTimestamp();
	uint64		dbpart = (uint64) MyDatabaseId << 32;

	if (floor_entries == NULL ||
		!TimestampDifferenceExceeds(last_maintained, now, FLOOR_INTERVAL_MS))
		return;
	last_maintained = now;

	if (candidates == NULL)
	{
		HASHCTL		ctl;

		floor_cxt = AllocSetContextCreate(TopMemoryContext, "eventbus outbox floors",
										  ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(FloorCandidate);
		ctl.hcxt = floor_cxt;
		candidates = hash_create("eventbus outbox floor candidates", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	for (int i = 0; i < FLOOR_ENTRIES; i++)
	{
		FloorEntry *e = &floor_entries[i];
		uint64		key = pg_atomic_read_u64(&e->key);
		Oid			outbox = (Oid) (key & 0xFFFFFFFF);
		FloorCandidate *c;
		bool		found;
		bool		wanted;

		CHECK_FOR_INTERRUPTS();
		if (key == 0 || (key & ~(uint64) 0xFFFFFFFF) != dbpart)
			continue;
		c = hash_search(candidates, &outbox, HASH_FIND, NULL);
		wanted = pg_atomic_read_u32(&e->wanted) != 0;
		if (!wanted && (c == NULL || !c->pending))
			continue;
		/* a dropped outbox: its id may come back as another table's */
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(outbox)))
		{
			pg_atomic_write_u64(&e->floor, 0);
			pg_atomic_write_u32(&e->wanted, 0);
			if (c)
			{
				if (c->lockers)
					pfree(c->lockers);
				hash_search(candidates, &outbox, HASH_REMOVE, NULL);
			}
			continue;
		}
		if (c == NULL)
		{
			c = hash_search(candidates, &outbox, HASH_ENTER, &found);
			c->pending = false;
			c->lockers = NULL;
			c->nlockers = 0;
		}
		if (c->pending)
			floor_finish(c, e, outbox);
		if (!c->pending && wanted)
		{
			pg_atomic_write_u32(&e->wanted, 0);
			floor_begin(c, outbox);
		}
	}
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
}

/* eventbus._outbox_floor(outbox): its scan floor now (0: none yet). */
Datum
eventbus_outbox_floor(PG_FUNCTION_ARGS)
{
	FloorEntry *e = floor_entry(PG_GETARG_OID(0), false);

	PG_RETURN_INT64(e ? (int64) pg_atomic_read_u64(&e->floor) : 0);
}
