/*-------------------------------------------------------------------------
 *
 * queue_wait.c
 *	  Long polling: receive(..., wait_seconds) sleeping until a committing
 *	  transaction makes messages visible in its queue.
 *
 * Shared memory holds a fixed array of wake slots, each a condition
 * variable and a generation counter.  A queue maps to a slot by a hash of
 * its database and name; queues that share a slot only wake each other
 * for nothing (their consumers look, find nothing and sleep again).
 *
 * Producer side: whatever writes messages into a queue or makes its
 * messages visible again notes the queue during its transaction
 * (queue_wait_wake_at_commit: outbox_notify_queue() does it for every
 * enqueue, beside its NOTIFY; nack and change_visibility too); a
 * receive() that took messages notes it for a rollback, which gives them
 * back (queue_wait_wake_at_abort).  At the end of the transaction the
 * noted slots' generations are bumped and their waiters woken
 * (ConditionVariableBroadcast).  The transaction callback runs after the
 * transaction has left the proc array, so that a waiter woken by it sees
 * the new rows in its next snapshot.  A rolled-back subtransaction's notes
 * are kept: at worst a wake-up for nothing.
 *
 * Waiter side (receive() in src/sql/60_consumers.sql): it reads the
 * generation of its queue's slot (eventbus._wait_generation) BEFORE a
 * pass, so that a commit after the pass's snapshot cannot be missed, and
 * when the pass found nothing, sleeps (eventbus._wait_for_messages) until
 * the generation moves or a deadline: its own, or the moment the earliest
 * hidden message becomes visible by time, which no commit signals.
 *
 * Without shared memory (eventbus not in shared_preload_libraries) there
 * are no slots: a wait sleeps at most QUEUE_WAIT_FALLBACK_MS and the
 * caller looks again, a bounded re-check instead of a wake-up.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "queue_wait.h"

#define QUEUE_WAIT_SLOTS 1024	/* a power of 2 */
#define QUEUE_WAIT_FALLBACK_MS 100

typedef struct QueueWaitSlot
{
	pg_atomic_uint64 generation;
	ConditionVariable cv;
} QueueWaitSlot;

/* one slot per cache line: producers of different queues do not collide */
typedef union QueueWaitSlotPadded
{
	QueueWaitSlot slot;
	char		pad[PG_CACHE_LINE_SIZE];
} QueueWaitSlotPadded;

StaticAssertDecl(sizeof(QueueWaitSlot) <= PG_CACHE_LINE_SIZE,
				 "a wake slot fits in a cache line");

static QueueWaitSlotPadded *wait_slots = NULL;

/*
 * This backend's notes for the current transaction, per slot: wake at
 * commit for messages visible from pending_commit_at (DT_NOEND: no), wake
 * at abort.  pending_list holds the slots noted, for the end of the
 * transaction.
 */
static uint16 pending_list[QUEUE_WAIT_SLOTS];
static int	n_pending = 0;
static bool pending_noted[QUEUE_WAIT_SLOTS];
static TimestampTz pending_commit_at[QUEUE_WAIT_SLOTS];
static bool pending_abort[QUEUE_WAIT_SLOTS];
static bool callback_registered = false;

PG_FUNCTION_INFO_V1(eventbus_wait_generation);
PG_FUNCTION_INFO_V1(eventbus_wait_for_messages);
PG_FUNCTION_INFO_V1(eventbus_wake_at_commit);
PG_FUNCTION_INFO_V1(eventbus_wake_after_receive);

Size
queue_wait_shmem_size(void)
{
	/* room to align the array to a cache line */
	return add_size(mul_size(QUEUE_WAIT_SLOTS, sizeof(QueueWaitSlotPadded)),
					PG_CACHE_LINE_SIZE);
}

/* Called from the shmem startup hook, with AddinShmemInitLock held. */
void
queue_wait_shmem_startup(void)
{
	bool		found;
	char	   *base;

	base = ShmemInitStruct("eventbus queue wait", queue_wait_shmem_size(), &found);
	wait_slots = (QueueWaitSlotPadded *) TYPEALIGN(PG_CACHE_LINE_SIZE, base);
	if (!found)
	{
		for (int i = 0; i < QUEUE_WAIT_SLOTS; i++)
		{
			pg_atomic_init_u64(&wait_slots[i].slot.generation, 0);
			ConditionVariableInit(&wait_slots[i].slot.cv);
		}
	}
}

static int
queue_slot(const char *queue)
{
	uint32		h;

	h = hash_combine(hash_bytes_uint32((uint32) MyDatabaseId),
					 hash_bytes((const unsigned char *) queue, (int) strlen(queue)));
	return (int) (h & (QUEUE_WAIT_SLOTS - 1));
}

static void
wake_slot(int i)
{
	pg_atomic_fetch_add_u64(&wait_slots[i].slot.generation, 1);
	ConditionVariableBroadcast(&wait_slots[i].slot.cv);
}

static void
queue_wait_xact_callback(XactEvent event, void *arg)
{
	TimestampTz horizon;

	if (n_pending == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			/* no wait that starts now lasts beyond the horizon */
			horizon = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												  QUEUE_WAIT_MAX_SECONDS * 1000);
			for (int k = 0; k < n_pending; k++)
				if (pending_commit_at[pending_list[k]] < horizon)
					wake_slot(pending_list[k]);
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			for (int k = 0; k < n_pending; k++)
				if (pending_abort[pending_list[k]])
					wake_slot(pending_list[k]);
			break;
		case XACT_EVENT_PREPARE:
			/* COMMIT PREPARED runs elsewhere: its waiters time out */
			break;
		default:
			return;
	}
	for (int k = 0; k < n_pending; k++)
		pending_noted[pending_list[k]] = false;
	n_pending = 0;
}

/* The slot of a queue, noted for the current transaction. */
static int
note_slot(const char *queue)
{
	int			i = queue_slot(queue);

	if (!callback_registered)
	{
		RegisterXactCallback(queue_wait_xact_callback, NULL);
		callback_registered = true;
	}
	if (!pending_noted[i])
	{
		pending_noted[i] = true;
		pending_commit_at[i] = DT_NOEND;
		pending_abort[i] = false;
		pending_list[n_pending++] = (uint16) i;
	}
	return i;
}

void
queue_wait_wake_at_commit(const char *queue, TimestampTz visible_at)
{
	int			i;

	if (wait_slots == NULL)
		return;
	i = note_slot(queue);
	if (visible_at < pending_commit_at[i])
		pending_commit_at[i] = visible_at;
}

void
queue_wait_wake_at_abort(const char *queue)
{
	if (wait_slots == NULL)
		return;
	pending_abort[note_slot(queue)] = true;
}

/*
 * eventbus._wait_generation(queue) -> bigint: the generation of the
 * queue's wake slot, to read before looking for messages (0 without
 * shared memory).
 */
Datum
eventbus_wait_generation(PG_FUNCTION_ARGS)
{
	uint64		generation;

	if (wait_slots == NULL)
		PG_RETURN_INT64(0);
	generation = pg_atomic_read_u64(&wait_slots[queue_slot(text_to_cstring(PG_GETARG_TEXT_PP(0)))].slot.generation);
	/* read before the snapshot of the pass that follows */
	pg_memory_barrier();
	PG_RETURN_INT64((int64) generation);
}

static uint32
queue_wait_event(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 wait_event = 0;

	if (wait_event == 0)
		wait_event = WaitEventExtensionNew("EventbusReceive");
	return wait_event;
#else
	return PG_WAIT_EXTENSION;
#endif
}

/*
 * eventbus._wait_for_messages(queue, generation, until) -> boolean: sleep
 * until the generation of the queue's wake slot differs from the one given
 * (true) or until the time given (false), at most
 * QUEUE_WAIT_MAX_SECONDS; cancel and statement_timeout interrupt it.
 * Without shared memory, it sleeps at most QUEUE_WAIT_FALLBACK_MS and
 * returns true (the caller looks again).
 */
Datum
eventbus_wait_for_messages(PG_FUNCTION_ARGS)
{
	char	   *queue = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint64		seen = (uint64) PG_GETARG_INT64(1);
	TimestampTz until = PG_GETARG_TIMESTAMPTZ(2);
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz longest = TimestampTzPlusMilliseconds(now, QUEUE_WAIT_MAX_SECONDS * 1000);
	QueueWaitSlot *slot;
	bool		woken = false;

	if (until > longest)
		until = longest;

	if (wait_slots == NULL)
	{
		long		ms = TimestampDifferenceMilliseconds(now, until);

		if (ms > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Min(ms, QUEUE_WAIT_FALLBACK_MS), queue_wait_event());
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();
		PG_RETURN_BOOL(true);
	}

	slot = &wait_slots[queue_slot(queue)].slot;
	ConditionVariablePrepareToSleep(&slot->cv);
	for (;;)
	{
		long		ms;

		CHECK_FOR_INTERRUPTS();
		if (pg_atomic_read_u64(&slot->generation) != seen)
		{
			woken = true;
			break;
		}
		now = GetCurrentTimestamp();
		if (now >= until)
			break;
		ms = TimestampDifferenceMilliseconds(now, until);
		(void) ConditionVariableTimedSleep(&slot->cv, Max(ms, 1), queue_wait_event());
	}
	ConditionVariableCancelSleep();
	PG_RETURN_BOOL(woken);
}

/*
 * eventbus._wake_at_commit(queue, visible_at): wake the queue's waiters
 * when the current transaction commits (its messages become visible at
 * visible_at).
 */
Datum
eventbus_wake_at_commit(PG_FUNCTION_ARGS)
{
	queue_wait_wake_at_commit(text_to_cstring(PG_GETARG_TEXT_PP(0)),
							  PG_GETARG_TIMESTAMPTZ(1));
	PG_RETURN_VOID();
}

/*
 * eventbus._wake_after_receive(queue, visible_at): the current transaction
 * received messages hidden until visible_at; wake the queue's waiters if
 * it rolls back (the messages are visible again at once) or, when
 * visible_at is near enough, at its commit.
 */
Datum
eventbus_wake_after_receive(PG_FUNCTION_ARGS)
{
	char	   *queue = text_to_cstring(PG_GETARG_TEXT_PP(0));

	queue_wait_wake_at_abort(queue);
	queue_wait_wake_at_commit(queue, PG_GETARG_TIMESTAMPTZ(1));
	PG_RETURN_VOID();
}
