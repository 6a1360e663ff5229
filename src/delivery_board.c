/*-------------------------------------------------------------------------
 *
 * delivery_board.c
 *	  The shared board of push targets, in shared memory: a flag per target
 *	  saying a committed transaction enqueued messages for it, the lease of
 *	  the worker delivering to it, and when its next retry comes due.
 *
 * This is what keeps the cost of a wake-up proportional to the work: a
 * worker woken at commit visits the targets whose flag is set (or whose
 * retries are due), not every target, and a target is delivered to by one
 * worker at a time, so a slow or failing target holds up at most the one
 * worker that holds it while the others serve the rest.
 *
 * Entries are keyed by (database, outbox) in a fixed-size shared hash
 * table; the workers make them when they load their targets, producers
 * only look them up (shared lock) and set flags (atomics).  A producer that
 * finds no entry (a target the workers have not loaded yet, or a full
 * board) sets the database's own entry, keyed by InvalidOid, and the
 * workers then visit every target.  Leases and flags are atomics: taking
 * one is a compare-and-swap, no lock.  A worker that exits releases its
 * leases (before_shmem_exit); a crash of any backend resets shared memory.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "delivery_board.h"

/* error_logged_at once a worker has logged the recovery (long ago: a new error is logged) */
#define BOARD_RECOVERY_LOGGED ((uint64) 1)

/* Push targets the board holds, over all databases. */
#define BOARD_SIZE 8192

typedef struct BoardKey
{
	Oid			dboid;
	Oid			outbox;			/* InvalidOid: the database's own entry */
} BoardKey;

struct BoardEntry
{
	BoardKey	key;
	pg_atomic_uint32 pending;
	pg_atomic_uint32 lease;		/* 0: free; else the worker's slot + 1 */
	pg_atomic_uint64 next_due;	/* TimestampTz, 0: none known */
	pg_atomic_uint32 slow;		/* its last visit held a worker long */
	pg_atomic_uint32 error_hash;	/* the error last logged for it */
	pg_atomic_uint64 error_logged_at;	/* TimestampTz */
};

static HTAB *board = NULL;
static LWLock *board_lock = NULL;

/* Outboxes this transaction enqueued for (producer side). */
static Oid *noted = NULL;
static int	nnoted = 0;
static int	noted_size = 0;

Size
board_shmem_size(void)
{
	return hash_estimate_size(BOARD_SIZE, sizeof(BoardEntry));
}

void
board_shmem_startup(LWLock *lock)
{
	HASHCTL		info;

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(BoardKey);
	info.entrysize = sizeof(BoardEntry);
	board = ShmemInitHash("eventbus delivery board", BOARD_SIZE, BOARD_SIZE, &info,
						  HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
	board_lock = lock;
}

static void
board_key(BoardKey *key, Oid dboid, Oid outbox)
{
	memset(key, 0, sizeof(*key));
	key->dboid = dboid;
	key->outbox = outbox;
}

/* The entry of (dboid, outbox), or NULL (entries never move while they exist). */
static BoardEntry *
board_find(Oid dboid, Oid outbox)
{
	BoardKey	key;
	BoardEntry *entry;

	if (board == NULL)
		return NULL;
	board_key(&key, dboid, outbox);
	LWLockAcquire(board_lock, LW_SHARED);
	entry = hash_search(board, &key, HASH_FIND, NULL);
	LWLockRelease(board_lock);
	return entry;
}

static BoardEntry *
board_enter(Oid dboid, Oid outbox)
{
	BoardKey	key;
	BoardEntry *entry;
	bool		found;

	if (board == NULL)
		return NULL;
	entry = board_find(dboid, outbox);
	if (entry != NULL)
		return entry;
	board_key(&key, dboid, outbox);

	LWLockAcquire(board_lock, LW_EXCLUSIVE);
	entry = hash_search(board, &key, HASH_ENTER_NULL, &found);
	if (entry != NULL && !found)
	{
		/* new: assume it has messages until a claim says otherwise */
		pg_atomic_init_u32(&entry->pending, 1);
		pg_atomic_init_u32(&entry->lease, 0);
		pg_atomic_init_u64(&entry->next_due, 0);
		pg_atomic_init_u32(&entry->slow, 0);
		pg_atomic_init_u32(&entry->error_hash, 0);
		pg_atomic_init_u64(&entry->error_logged_at, 0);
	}
	LWLockRelease(board_lock);
	return entry;
}

BoardEntry *
board_attach(Oid dboid, Oid outbox)
{
	return board_enter(dboid, outbox);
}

BoardEntry *
board_database(Oid dboid)
{
	return board_enter(dboid, InvalidOid);
}

void
board_forget(Oid dboid, const Oid *keep, int nkeep)
{
	HASH_SEQ_STATUS seq;
	BoardEntry *entry;

	if (board == NULL)
		return;
	LWLockAcquire(board_lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, board);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		bool		kept = !OidIsValid(entry->key.outbox);

		if (entry->key.dboid != dboid)
			continue;
		for (int i = 0; i < nkeep && !kept; i++)
			kept = (keep[i] == entry->key.outbox);
		/* a target another worker still holds stays until it lets go */
		if (!kept && pg_atomic_read_u32(&entry->lease) == 0)
			hash_search(board, &entry->key, HASH_REMOVE, NULL);
	}
	LWLockRelease(board_lock);
}

bool
board_take_pending(BoardEntry *entry)
{
	if (entry == NULL)
		return true;
	/* cheap read first: most visits find it clear */
	if (pg_atomic_read_u32(&entry->pending) == 0)
		return false;
	return pg_atomic_exchange_u32(&entry->pending, 0) != 0;
}

void
board_set_pending(BoardEntry *entry)
{
	if (entry != NULL && pg_atomic_read_u32(&entry->pending) == 0)
		pg_atomic_write_u32(&entry->pending, 1);
}

bool
board_is_pending(BoardEntry *entry)
{
	return entry == NULL || pg_atomic_read_u32(&entry->pending) != 0;
}

bool
board_try_lease(BoardEntry *entry, int slot)
{
	uint32		expected = 0;

	if (entry == NULL)
		return true;
	return pg_atomic_compare_exchange_u32(&entry->lease, &expected, (uint32) slot + 1);
}

void
board_release(BoardEntry *entry, int slot)
{
	uint32		expected = (uint32) slot + 1;

	if (entry != NULL)
		(void) pg_atomic_compare_exchange_u32(&entry->lease, &expected, 0);
}

void
board_release_all(int slot)
{
	HASH_SEQ_STATUS seq;
	BoardEntry *entry;

	if (board == NULL)
		return;
	LWLockAcquire(board_lock, LW_SHARED);
	hash_seq_init(&seq, board);
	while ((entry = hash_seq_search(&seq)) != NULL)
		board_release(entry, slot);
	LWLockRelease(board_lock);
}

bool
board_is_slow(BoardEntry *entry)
{
	return entry != NULL && pg_atomic_read_u32(&entry->slow) != 0;
}

void
board_set_slow(BoardEntry *entry, bool slow)
{
	if (entry != NULL && (pg_atomic_read_u32(&entry->slow) != 0) != slow)
		pg_atomic_write_u32(&entry->slow, slow ? 1 : 0);
}

TimestampTz
board_next_due(BoardEntry *entry)
{
	return entry == NULL ? 0 : (TimestampTz) pg_atomic_read_u64(&entry->next_due);
}

void
board_set_next_due(BoardEntry *entry, TimestampTz due)
{
	if (entry != NULL)
		pg_atomic_write_u64(&entry->next_due, (uint64) due);
}

bool
board_claim_error_log(Oid dboid, Oid outbox, uint32 hash, int interval_ms)
{
	BoardEntry *entry = board_find(dboid, outbox);
	TimestampTz now = GetCurrentTimestamp();
	uint64		logged_at;

	if (entry == NULL)
		return true;
	logged_at = pg_atomic_read_u64(&entry->error_logged_at);
	if (pg_atomic_read_u32(&entry->error_hash) == hash && logged_at != 0 &&
		!TimestampDifferenceExceeds((TimestampTz) logged_at, now, interval_ms))
		return false;
	/* the first to swap the time in logs it */
	if (!pg_atomic_compare_exchange_u64(&entry->error_logged_at, &logged_at, (uint64) now))
		return false;
	pg_atomic_write_u32(&entry->error_hash, hash);
	return true;
}

bool
board_claim_recovery_log(Oid dboid, Oid outbox, bool logged_here)
{
	BoardEntry *entry = board_find(dboid, outbox);
	uint64		logged_at;

	if (entry == NULL)
		return true;
	logged_at = pg_atomic_read_u64(&entry->error_logged_at);
	/* nothing recorded here (the entry is new): the worker that logged it says it */
	if (logged_at == 0)
		return logged_here;
	/* another worker said it is over */
	if (logged_at == BOARD_RECOVERY_LOGGED)
		return false;
	return pg_atomic_compare_exchange_u64(&entry->error_logged_at, &logged_at,
										  BOARD_RECOVERY_LOGGED);
}

void
board_note_enqueued(Oid outbox)
{
	for (int i = 0; i < nnoted; i++)
		if (noted[i] == outbox)
			return;
	if (nnoted == noted_size)
	{
		int			newsize = noted_size == 0 ? 8 : noted_size * 2;

		if (noted == NULL)
			noted = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * newsize);
		else
			noted = repalloc(noted, sizeof(Oid) * newsize);
		noted_size = newsize;
	}
	noted[nnoted++] = outbox;
}

/*
 * At commit: set the flag of every noted target (InvalidOid: "any target",
 * the database's entry).  One that is not on the board sets the database's
 * entry instead.  No entry is made here: a
 * committing transaction must not fail, nor take the exclusive lock.
 */
void
board_publish(Oid dboid)
{
	BoardKey	key;
	bool		missing = false;

	if (board == NULL)
	{
		nnoted = 0;
		return;
	}
	memset(&key, 0, sizeof(key));
	key.dboid = dboid;
	LWLockAcquire(board_lock, LW_SHARED);
	for (int i = 0; i < nnoted; i++)
	{
		BoardEntry *entry;

		key.outbox = noted[i];
		entry = hash_search(board, &key, HASH_FIND, NULL);
		if (entry != NULL)
			board_set_pending(entry);
		else
			missing = true;
	}
	if (missing)
	{
		BoardEntry *entry;

		key.outbox = InvalidOid;
		entry = hash_search(board, &key, HASH_FIND, NULL);
		if (entry != NULL)
			board_set_pending(entry);
	}
	LWLockRelease(board_lock);
	nnoted = 0;
}

void
board_forget_noted(void)
{
	nnoted = 0;
}
