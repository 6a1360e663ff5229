/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The delivery launcher and the per-database delivery workers: their
 *	  shared memory, life cycle, wake-ups and settings.
 *
 * The launcher (a static background worker, registered when eventbus is in
 * shared_preload_libraries) lists the databases that accept connections
 * and starts eventbus.delivery_workers dynamic workers for each.  A worker
 * whose database has no eventbus extension marks its slot "absent" and
 * exits; CREATE EXTENSION wakes the launcher, which starts it again.  DROP
 * DATABASE, ALTER DATABASE ... RENAME and DROP EXTENSION eventbus stop a
 * database's workers first (a utility hook), so they are never blocked by
 * them.
 *
 * A worker sleeps on its latch.  A transaction that enqueued messages for
 * push targets sets the latches of its database's workers when it commits
 * (a transaction callback registered once per backend), and a timeout
 * (eventbus.delivery_naptime, or sooner when a retry comes due) covers
 * retries and wake-ups lost to a crash.
 *
 * A worker never dies of what it finds in the database: an error in one
 * target's cycle is logged once and the other targets go on (delivery.c);
 * a database that is being restored from a dump is left alone until the
 * restore is over (eventbus._restore_pending); a dropped extension or a
 * SIGTERM (shutdown, DROP DATABASE) ends the worker quietly, between two
 * messages, so neither leaves an ERROR or FATAL line in the server log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procsignal.h"
#include "storage/shmem.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "common/hashfn.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "delivery.h"
#include "delivery_board.h"
#include "privileges.h"
#include "compat.h"
#include "eventbus.h"
#include "worker.h"
#include "outbox_floor.h"

#define MAX_DELIVERY_SLOTS 128

typedef enum SlotState
{
	SLOT_FREE = 0,
	SLOT_STARTING,				/* registered, not yet connected */
	SLOT_RUNNING,
	SLOT_ABSENT,				/* the database has no eventbus extension */
	SLOT_STOPPING				/* its database is being dropped or renamed */
} SlotState;

#define SLOT_TARGET_LEN 160

typedef struct DeliverySlot
{
	SlotState	state;
	Oid			dboid;
	int			worker_index;	/* 0 .. max_delivery_workers - 1 */
	pid_t		pid;
	Latch	   *latch;
	TimestampTz state_since;
	TimestampTz started_at;
	TimestampTz last_wake;
	pg_atomic_uint64 delivered;
	pg_atomic_uint64 failed;

	/*
	 * What the worker does, written by the worker alone and read unlocked
	 * (a reader may see a target name being overwritten: for monitoring).
	 */
	WorkerActivity activity;
	TimestampTz activity_since;
	TimestampTz busy_since;		/* start of the current target visit, or 0 */
	TimestampTz heartbeat;		/* the loop last ran */
	TimestampTz last_progress;	/* a visit last ended */
	int			invoke_timeout_ms;	/* of the current invocation, 0: none */
	bool		on_slow;		/* delivering to a slow target */
	bool		replay_wanted;	/* start_replay or cancel_replay committed */
	char		target[SLOT_TARGET_LEN];
} DeliverySlot;

typedef struct DeliveryShared
{
	LWLock	   *lock;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	Oid			wants_worker;	/* a database whose workers asked for one more */
	DeliverySlot slots[MAX_DELIVERY_SLOTS];
} DeliveryShared;

bool		eventbus_delivery_enabled = true;
int			eventbus_delivery_batch_size = 100;
int			eventbus_delivery_workers = 2;
int			eventbus_max_delivery_workers = 8;
int			eventbus_delivery_stall_timeout = 100;
int			eventbus_delivery_naptime = 1000;
int			eventbus_function_timeout = 30000;
int			eventbus_retry_base_delay = 1000;
int			eventbus_retry_max_delay = 300000;
int			eventbus_max_bus_hops = 8;

static DeliveryShared *delivery_shared = NULL;

/* A worker's slot (-1 in other processes). */
static int	my_slot = -1;

/* Set by SIGTERM in the launcher and the workers: leave at the next safe point. */
volatile sig_atomic_t eventbus_worker_stopping = false;

/* Set by delivery.c while a target is invoked: SIGTERM cancels the invocation. */
volatile sig_atomic_t eventbus_worker_invoking = false;
static bool wake_pending = false;
static bool launcher_wake_pending = false;
static bool replay_wake_pending = false;
static bool wake_callback_registered = false;
/* a database whose stopped workers may start again when this transaction ends */
static Oid	release_at_xact_end = InvalidOid;
static ProcessUtility_hook_type prev_process_utility = NULL;

static void wake_launcher_now(void);
static void release_database_workers(Oid dboid);

PGDLLEXPORT void eventbus_launcher_main(Datum main_arg);
PGDLLEXPORT void eventbus_worker_main(Datum main_arg);

PG_FUNCTION_INFO_V1(eventbus_delivery_workers_status);
PG_FUNCTION_INFO_V1(eventbus_wake_launcher);
PG_FUNCTION_INFO_V1(eventbus_wake_delivery);

/*
 * SIGTERM: unlike die(), which ends the process with a FATAL error at the
 * next CHECK_FOR_INTERRUPTS, only ask the loop to leave.  A target being
 * invoked is cancelled (delivery.c leaves its message as it was), so that
 * a slow function target does not hold up a shutdown or DROP DATABASE.
 */
static void
worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	eventbus_worker_stopping = true;
	if (eventbus_worker_invoking)
	{
		QueryCancelPending = true;
		InterruptPending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

void
delivery_define_settings(void)
{
	DefineCustomBoolVariable("eventbus.delivery_enabled",
							 "Whether the delivery workers deliver messages to push targets.",
							 "When off, messages wait in their outboxes; queues are not affected.",
							 &eventbus_delivery_enabled,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.delivery_batch_size",
							"Messages a delivery worker claims per target and transaction.",
							NULL,
							&eventbus_delivery_batch_size,
							100, 1, 10000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.delivery_workers",
							"Delivery workers always running per database.",
							"They share the targets: each target is delivered to by one worker at a time. Takes effect when the launcher next checks the databases; also bounded by max_worker_processes.",
							&eventbus_delivery_workers,
							2, 1, 16,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.max_delivery_workers",
							"Most delivery workers per database, counting those started on demand.",
							"When every worker of a database has been held by one target for eventbus.delivery_stall_timeout, the launcher starts another, up to this many; a worker started so leaves after 30 s without work.",
							&eventbus_max_delivery_workers,
							8, 1, 64,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.delivery_stall_timeout",
							"How long every delivery worker of a database must be held by one target before another worker is started.",
							NULL,
							&eventbus_delivery_stall_timeout,
							100, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.delivery_target_budget",
							"Time a delivery worker spends on one target before it turns to the others.",
							"No invocation starts after it; the rest of the batch waits for the next visit.",
							&eventbus_delivery_target_budget,
							5, 1, 60000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.delivery_naptime",
							"Longest sleep of an idle delivery worker.",
							"Workers are woken at commit; the nap only covers retries and lost wake-ups.",
							&eventbus_delivery_naptime,
							1000, 10, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.function_timeout",
							"Default statement timeout of a function target's call.",
							"A target's Config.TimeoutSeconds overrides it; 0 disables it.",
							&eventbus_function_timeout,
							30000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.retry_base_delay",
							"Delay before the first retry of a failed delivery.",
							"Each further retry waits twice as long (with jitter), up to eventbus.retry_max_delay.",
							&eventbus_retry_base_delay,
							1000, 1, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.retry_max_delay",
							"Longest delay between two delivery attempts.",
							NULL,
							&eventbus_retry_max_delay,
							300000, 1, 86400000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.max_bus_hops",
							"How many times an event may be forwarded from bus to bus.",
							"Past it the event goes to the dead letters: a loop of bus targets stops.",
							&eventbus_max_bus_hops,
							8, 1, 100,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
}

Size
delivery_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(DeliveryShared)), board_shmem_size());
}

void
delivery_shmem_startup(void)
{
	bool		found;

	delivery_shared = ShmemInitStruct("eventbus delivery", sizeof(DeliveryShared), &found);
	if (!found)
	{
		memset(delivery_shared, 0, sizeof(DeliveryShared));
		delivery_shared->lock = &(GetNamedLWLockTranche("eventbus delivery"))->lock;
		for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
		{
			pg_atomic_init_u64(&delivery_shared->slots[i].delivered, 0);
			pg_atomic_init_u64(&delivery_shared->slots[i].failed, 0);
		}
	}
	board_shmem_startup(delivery_shared->lock);
}

void
delivery_register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "eventbus");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "eventbus_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "eventbus launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "eventbus launcher");
	RegisterBackgroundWorker(&worker);
}

/* ---------------------------------------------------------------------
 * Waking workers at commit
 * ---------------------------------------------------------------------
 */
/*
 * Wake one idle worker of the database: busy ones look at the board again
 * after their visit, and waking every worker at every commit costs each
 * of them a wake-up for one visit.  An idle worker that has shown no sign
 * of life for a while (stopped, or stuck) is passed over; if no idle
 * worker is left, all are woken.  Unlocked reads: at worst a spurious or a
 * missed wake-up (naptime covers it).
 */
static void
wake_database_workers(Oid dboid, int except_slot)
{
	static uint32 rotor = 0;
	TimestampTz now;
	int			nslots = 0;
	int			candidates[MAX_DELIVERY_SLOTS];

	if (delivery_shared == NULL)
		return;
	now = GetCurrentTimestamp();
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];

		if (i != except_slot &&
			slot->dboid == dboid && slot->state == SLOT_RUNNING && slot->latch &&
			slot->activity == WORKER_IDLE &&
			!TimestampDifferenceExceeds(slot->heartbeat, now, 2 * eventbus_delivery_naptime + 100))
			candidates[nslots++] = i;
	}
	if (nslots > 0)
	{
		Latch	   *latch = delivery_shared->slots[candidates[rotor++ % nslots]].latch;

		if (latch)
			SetLatch(latch);
		return;
	}
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];

		if (i != except_slot &&
			slot->dboid == dboid && slot->state == SLOT_RUNNING && slot->latch)
			SetLatch(slot->latch);
	}
}

/*
 * A worker that starts a visit while other targets have work wakes another
 * idle worker for them, so that they need not wait for this visit.
 */
void
worker_wake_peer(void)
{
	wake_database_workers(MyDatabaseId, my_slot);
}

/*
 * Replays run in the first worker of the database (replay_step): wake it,
 * and tell it why.
 */
static void
wake_replay_worker(Oid dboid)
{
	if (delivery_shared == NULL)
		return;
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];

		if (slot->dboid == dboid && slot->state == SLOT_RUNNING &&
			slot->worker_index == 0 && slot->latch)
		{
			slot->replay_wanted = true;
			SetLatch(slot->latch);
		}
	}
}

/* In the replaying worker: was it woken for a replay since it last asked? */
bool
worker_take_replay_wake(void)
{
	DeliverySlot *slot;

	if (delivery_shared == NULL || my_slot < 0)
		return false;
	slot = &delivery_shared->slots[my_slot];
	if (!slot->replay_wanted)
		return false;
	slot->replay_wanted = false;
	return true;
}

static void
delivery_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (OidIsValid(release_at_xact_end))
				release_database_workers(release_at_xact_end);
			release_at_xact_end = InvalidOid;
			if (wake_pending)
			{
				board_publish(MyDatabaseId);
				wake_database_workers(MyDatabaseId, -1);
			}
			if (launcher_wake_pending)
				wake_launcher_now();
			if (replay_wake_pending)
				wake_replay_worker(MyDatabaseId);
			wake_pending = false;
			launcher_wake_pending = false;
			replay_wake_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (OidIsValid(release_at_xact_end))
				release_database_workers(release_at_xact_end);
			release_at_xact_end = InvalidOid;
			if (wake_pending)
				board_forget_noted();
			wake_pending = false;
			launcher_wake_pending = false;
			replay_wake_pending = false;
			break;
		default:
			break;
	}
}

static void
wake_at_commit(Oid outbox)
{
	if (!wake_callback_registered)
	{
		RegisterXactCallback(delivery_xact_callback, NULL);
		wake_callback_registered = true;
	}
	wake_pending = true;
	board_note_enqueued(outbox);
}

/* Any target may have new messages: the workers look at every one. */
void
delivery_wake_at_commit(void)
{
	wake_at_commit(InvalidOid);
}

/* The target of this outbox has new messages. */
void
delivery_wake_at_commit_for(Oid outbox)
{
	wake_at_commit(outbox);
}

/* A replay was started or cancelled: wake the worker that runs replays at commit. */
void
delivery_wake_replay_at_commit(void)
{
	if (!wake_callback_registered)
	{
		RegisterXactCallback(delivery_xact_callback, NULL);
		wake_callback_registered = true;
	}
	replay_wake_pending = true;
}

/* eventbus._wake_delivery(): wake this database's workers at commit. */
Datum
eventbus_wake_delivery(PG_FUNCTION_ARGS)
{
	delivery_wake_at_commit();
	PG_RETURN_VOID();
}

/*
 * Let this database's workers start again: its "absent" slots are freed and
 * the launcher woken.  Done at commit, when the extension is visible.
 */
static void
wake_launcher_now(void)
{
	if (delivery_shared == NULL)
		return;
	LWLockAcquire(delivery_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];

		if (slot->dboid == MyDatabaseId && slot->state == SLOT_ABSENT)
			slot->state = SLOT_FREE;
	}
	LWLockRelease(delivery_shared->lock);
	if (delivery_shared->launcher_latch)
		SetLatch(delivery_shared->launcher_latch);
}

/* eventbus._wake_launcher(): CREATE EXTENSION calls it. */
Datum
eventbus_wake_launcher(PG_FUNCTION_ARGS)
{
	if (delivery_shared == NULL)
		PG_RETURN_BOOL(false);
	if (!wake_callback_registered)
	{
		RegisterXactCallback(delivery_xact_callback, NULL);
		wake_callback_registered = true;
	}
	launcher_wake_pending = true;
	PG_RETURN_BOOL(true);
}

/* ---------------------------------------------------------------------
 * Stopping a database's workers before DROP / RENAME DATABASE
 * ---------------------------------------------------------------------
 */
static Oid
stop_workers(Oid dboid)
{
	TimestampTz deadline;
	bool		any;

	LWLockAcquire(delivery_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];

		if (slot->dboid != dboid || slot->state == SLOT_FREE)
			continue;
		if (slot->pid != 0)
			kill(slot->pid, SIGTERM);
		slot->state = SLOT_STOPPING;
		slot->state_since = GetCurrentTimestamp();
	}
	LWLockRelease(delivery_shared->lock);

	/* wait (up to 10 s) until they have left the database */
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000);
	do
	{
		any = false;
		for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
		{
			DeliverySlot *slot = &delivery_shared->slots[i];

			if (slot->dboid == dboid && slot->pid != 0)
				any = true;
		}
		if (any)
		{
			CHECK_FOR_INTERRUPTS();
			pg_usleep(10000L);
		}
	} while (any && GetCurrentTimestamp() < deadline);
	return dboid;
}

static Oid
stop_database_workers(const char *dbname)
{
	Oid			dboid = get_database_oid(dbname, true);

	/* only for whoever may drop or rename it: the command checks later */
	if (!OidIsValid(dboid) || delivery_shared == NULL ||
		!eventbus_database_ownercheck(dboid, GetUserId()))
		return InvalidOid;
	return stop_workers(dboid);
}

/*
 * DROP EXTENSION eventbus: this database's workers leave first, so that
 * neither waits for the other's locks (a worker that took a lock on one
 * catalog and then waited for another could deadlock with the drop).  Only
 * for a superuser, who may drop it (the extension requires one); after the
 * command the launcher starts the workers again, which find no extension,
 * or go on if the drop failed.
 */
static Oid
stop_workers_before_drop_extension(DropStmt *stmt)
{
	ListCell   *lc;

	if (delivery_shared == NULL || !superuser() ||
		!OidIsValid(get_extension_oid("eventbus", true)))
		return InvalidOid;
	foreach(lc, stmt->objects)
	{
		Node	   *object = lfirst(lc);

		if (IsA(object, String) && strcmp(strVal(object), "eventbus") == 0)
			return stop_workers(MyDatabaseId);
	}
	return InvalidOid;
}

/*
 * After the command (done or failed): the database's workers may start
 * again, under its new name or, if it is gone, not at all.
 */
static void
release_database_workers(Oid dboid)
{
	if (!OidIsValid(dboid) || delivery_shared == NULL)
		return;
	LWLockAcquire(delivery_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];

		if (slot->dboid == dboid && slot->state == SLOT_STOPPING && slot->pid == 0)
			slot->state = SLOT_FREE;
	}
	LWLockRelease(delivery_shared->lock);
	if (delivery_shared->launcher_latch)
		SetLatch(delivery_shared->launcher_latch);
}

/*
 * When the stopped workers may start again: after ALTER DATABASE ... RENAME
 * at once (they connect by OID); after DROP EXTENSION when its transaction
 * ends, so that they find the extension gone (or, if the drop failed,
 * there); after DROP DATABASE only if it failed: once the database is gone
 * the launcher frees their slots, and until then they must not start.
 */
static void
eventbus_process_utility(PlannedStmt *pstmt, const char *queryString,
						 bool readOnlyTree, ProcessUtilityContext context,
						 ParamListInfo params, QueryEnvironment *queryEnv,
						 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	Oid			stopped = InvalidOid;
	bool		drop_extension = false;

	if (IsA(parsetree, DropdbStmt))
		stopped = stop_database_workers(((DropdbStmt *) parsetree)->dbname);
	else if (IsA(parsetree, RenameStmt) &&
			 ((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
		stopped = stop_database_workers(((RenameStmt *) parsetree)->subname);
	else if (IsA(parsetree, DropStmt) &&
			 ((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION)
	{
		stopped = stop_workers_before_drop_extension((DropStmt *) parsetree);
		drop_extension = OidIsValid(stopped);
		if (drop_extension && !wake_callback_registered)
		{
			RegisterXactCallback(delivery_xact_callback, NULL);
			wake_callback_registered = true;
		}
	}

	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
								 queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		if (!drop_extension)
			release_database_workers(stopped);
		else
			release_at_xact_end = stopped;
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (drop_extension)
		release_at_xact_end = stopped;
	else if (IsA(parsetree, DropdbStmt))
	{
		/* the launcher frees the slots once it sees the database gone */
		if (OidIsValid(stopped) && delivery_shared->launcher_latch)
			SetLatch(delivery_shared->launcher_latch);
	}
	else
		release_database_workers(stopped);
}

void
delivery_install_hooks(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = eventbus_process_utility;
}

/* ---------------------------------------------------------------------
 * The launcher
 * ---------------------------------------------------------------------
 */
static List *
list_databases(void)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext outer = CurrentMemoryContext;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!db->datallowconn || db->datistemplate)
			continue;
		old = MemoryContextSwitchTo(outer);
		dbs = lappend_oid(dbs, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	/* a commit leaves TopMemoryContext current: go back to the loop's */
	MemoryContextSwitchTo(outer);
	return dbs;
}

static bool
start_worker(int slotno)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "eventbus");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "eventbus_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "eventbus delivery worker %d",
			 delivery_shared->slots[slotno].worker_index);
	snprintf(worker.bgw_type, BGW_MAXLEN, "eventbus delivery worker");
	worker.bgw_main_arg = Int32GetDatum(slotno);
	worker.bgw_notify_pid = MyProcPid;
	return RegisterDynamicBackgroundWorker(&worker, &handle);
}

/* Register a worker for a database in a free slot (lock held). */
static bool
launch_in_slot(int free_slot, Oid dboid, int worker_index, TimestampTz now)
{
	DeliverySlot *slot = &delivery_shared->slots[free_slot];

	slot->state = SLOT_STARTING;
	slot->dboid = dboid;
	slot->worker_index = worker_index;
	slot->pid = 0;
	slot->latch = NULL;
	slot->state_since = now;
	slot->activity = WORKER_IDLE;
	slot->activity_since = now;
	slot->busy_since = 0;
	slot->on_slow = false;
	slot->heartbeat = 0;
	slot->last_progress = 0;
	slot->target[0] = '\0';
	if (!start_worker(free_slot))
	{
		slot->state = SLOT_FREE;
		return false;
	}
	return true;
}

/*
 * Workers on demand: a database whose every worker has been held by one
 * target visit for eventbus.delivery_stall_timeout (a function that runs
 * long, an endpoint that does not answer) gets one more worker, up to
 * eventbus.max_delivery_workers, so that its other targets are served.
 * Returns whether some worker is busy (the launcher then looks again soon).
 */
static bool
launcher_add_workers(void)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		any_busy = false;

	LWLockAcquire(delivery_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *first = &delivery_shared->slots[i];
		Oid			dboid = first->dboid;
		int			nworkers = 0;
		bool		all_stalled = true;
		bool		seen_before = false;
		bool		indexes[64];
		int			free_slot = -1;

		if (first->state == SLOT_FREE || first->state == SLOT_ABSENT ||
			first->state == SLOT_STOPPING)
			continue;
		/* each database once: at its first slot */
		for (int j = 0; j < i && !seen_before; j++)
			seen_before = (delivery_shared->slots[j].state != SLOT_FREE &&
						   delivery_shared->slots[j].dboid == dboid);
		if (seen_before)
			continue;
		memset(indexes, 0, sizeof(indexes));
		for (int j = 0; j < MAX_DELIVERY_SLOTS; j++)
		{
			DeliverySlot *slot = &delivery_shared->slots[j];
			TimestampTz busy = slot->busy_since;

			if (slot->state == SLOT_FREE)
			{
				if (free_slot < 0)
					free_slot = j;
				continue;
			}
			if (slot->dboid != dboid)
				continue;
			nworkers++;
			if (slot->worker_index >= 0 && slot->worker_index < 64)
				indexes[slot->worker_index] = true;
			if (busy != 0)
				any_busy = true;
			/* starting, or free to take work: not stalled */
			if (slot->state != SLOT_RUNNING || busy == 0 ||
				!TimestampDifferenceExceeds(busy, now, eventbus_delivery_stall_timeout))
				all_stalled = false;
		}
		/* its workers asked for one more (a slow target waits) */
		if (delivery_shared->wants_worker == dboid)
		{
			delivery_shared->wants_worker = InvalidOid;
			all_stalled = true;
		}
		if (all_stalled && nworkers < eventbus_max_delivery_workers && free_slot >= 0)
		{
			int			w = 0;

			while (w < 63 && indexes[w])
				w++;
			if (!launch_in_slot(free_slot, dboid, w, now))
			{
				LWLockRelease(delivery_shared->lock);
				ereport(LOG,
						(errmsg("eventbus: could not start a delivery worker on demand"),
						 errhint("Raise max_worker_processes.")));
				return any_busy;
			}
		}
	}
	LWLockRelease(delivery_shared->lock);
	return any_busy;
}

/* Start the workers that should run and do not; free slots of gone databases. */
static void
launcher_scan(void)
{
	List	   *dbs = list_databases();
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	LWLockAcquire(delivery_shared->lock, LW_EXCLUSIVE);

	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];

		bool		db_exists = list_member_oid(dbs, slot->dboid);

		if (slot->state == SLOT_FREE || slot->pid != 0)
			continue;
		switch (slot->state)
		{
			case SLOT_STARTING:
				/* registered but never attached: give up after a minute */
				if (TimestampDifferenceExceeds(slot->state_since, now, 60000))
					slot->state = SLOT_FREE;
				break;
			case SLOT_ABSENT:
				/* stays until CREATE EXTENSION wakes us, or the database goes */
				if (!db_exists)
					slot->state = SLOT_FREE;
				break;
			case SLOT_STOPPING:
				if (!db_exists || TimestampDifferenceExceeds(slot->state_since, now, 30000))
					slot->state = SLOT_FREE;
				break;
			default:
				slot->state = SLOT_FREE;
				break;
		}
	}

	foreach(lc, dbs)
	{
		Oid			dboid = lfirst_oid(lc);

		for (int w = 0; w < eventbus_delivery_workers; w++)
		{
			int			free_slot = -1;
			bool		present = false;

			for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
			{
				DeliverySlot *slot = &delivery_shared->slots[i];

				if (slot->state == SLOT_FREE)
				{
					if (free_slot < 0)
						free_slot = i;
				}
				else if (slot->dboid == dboid && slot->worker_index == w)
					present = true;
			}
			if (present)
				continue;
			/* the extension is absent: one slot (worker 0) says so */
			if (w > 0)
			{
				bool		absent = false;

				for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
					if (delivery_shared->slots[i].dboid == dboid &&
						delivery_shared->slots[i].state == SLOT_ABSENT)
						absent = true;
				if (absent)
					continue;
			}
			if (free_slot < 0)
				break;
			if (!launch_in_slot(free_slot, dboid, w, now))
			{
				LWLockRelease(delivery_shared->lock);
				list_free(dbs);
				ereport(LOG,
						(errmsg("eventbus: could not start a delivery worker"),
						 errhint("Raise max_worker_processes.")));
				return;
			}
		}
	}
	LWLockRelease(delivery_shared->lock);
	list_free(dbs);
}

void
eventbus_launcher_main(Datum main_arg)
{
	MemoryContext loop_cxt;
	TimestampTz last_scan;
	bool		latch_was_set;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	delivery_shared->launcher_pid = MyProcPid;
	delivery_shared->launcher_latch = MyLatch;

	/* whatever one scan allocates goes when the next begins */
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "eventbus launcher loop",
									 ALLOCSET_DEFAULT_SIZES);
	last_scan = 0;
	latch_was_set = true;

	for (;;)
	{
		MemoryContextReset(loop_cxt);
		MemoryContextSwitchTo(loop_cxt);

		CHECK_FOR_INTERRUPTS();
		/* exit code 1: the postmaster starts the launcher again */
		if (eventbus_worker_stopping)
			proc_exit(1);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		{
			long		timeout = 10000L;

			if (eventbus_delivery_enabled)
			{
				TimestampTz now = GetCurrentTimestamp();

				/* the databases every 10 s (or when woken), the stalls often */
				if (latch_was_set || TimestampDifferenceExceeds(last_scan, now, 10000))
				{
					launcher_scan();
					last_scan = now;
				}
				if (launcher_add_workers())
					timeout = Max(eventbus_delivery_stall_timeout / 2, 10);
			}
			latch_was_set = (WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
									   timeout, PG_WAIT_EXTENSION) & WL_LATCH_SET) != 0;
			ResetLatch(MyLatch);
		}
	}
}

/* ---------------------------------------------------------------------
 * Errors a worker meets, logged once
 * ---------------------------------------------------------------------
 */

/* An error is logged again when it changes, or after this long. */
#define ERROR_RELOG_INTERVAL_MS (10 * 60 * 1000)

typedef struct ReportedError
{
	Oid			key;			/* the target's outbox; InvalidOid: the worker */
	int			sqlerrcode;
	char		message[256];
	TimestampTz logged_at;
	int64		repeats;		/* occurrences not logged since */
	bool		logged_here;	/* this worker wrote the log line */
} ReportedError;

static HTAB *reported_errors = NULL;

static ReportedError *
reported_error(Oid key, bool create)
{
	bool		found;
	ReportedError *entry;

	if (reported_errors == NULL)
	{
		HASHCTL		ctl;

		if (!create)
			return NULL;
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ReportedError);
		ctl.hcxt = TopMemoryContext;
		reported_errors = hash_create("eventbus reported errors", 16, &ctl,
									  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(reported_errors, &key, create ? HASH_ENTER : HASH_FIND, &found);
	if (create && !found)
	{
		entry->sqlerrcode = 0;
		entry->message[0] = '\0';
		entry->logged_at = 0;
		entry->repeats = 0;
		entry->logged_here = false;
	}
	return entry;
}

/*
 * Log an error the worker recovered from: what (the target, or NULL for the
 * worker's own step) failed with edata.  The same error of the same target
 * is logged once, then only every ERROR_RELOG_INTERVAL_MS while it lasts,
 * with how often it recurred, so a target that fails on every cycle does
 * not flood the log.
 */
void
worker_report_error(Oid key, const char *what, const ErrorData *edata)
{
	ReportedError *entry = reported_error(key, true);
	const char *message = edata->message ? edata->message : "(no message)";
	TimestampTz now = GetCurrentTimestamp();

	if (entry->logged_at != 0 &&
		entry->sqlerrcode == edata->sqlerrcode &&
		strncmp(entry->message, message, sizeof(entry->message) - 1) == 0 &&
		!TimestampDifferenceExceeds(entry->logged_at, now, ERROR_RELOG_INTERVAL_MS))
	{
		entry->repeats++;
		return;
	}
	/* a target's error: another worker of the database may have logged it */
	if (OidIsValid(key) &&
		!board_claim_error_log(MyDatabaseId, key,
							   hash_bytes((const unsigned char *) message, strlen(message)) ^
							   (uint32) edata->sqlerrcode,
							   ERROR_RELOG_INTERVAL_MS))
	{
		entry->sqlerrcode = edata->sqlerrcode;
		strlcpy(entry->message, message, sizeof(entry->message));
		entry->logged_at = now;
		entry->repeats = 0;
		return;
	}
	entry->logged_here = true;
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("eventbus: %s failed: %s", what ? what : "the delivery worker", message),
			 edata->detail ? errdetail("%s", edata->detail) : 0,
			 entry->repeats > 0 ?
			 errhint("It failed so %lld more times since it was last logged; the worker goes on with the other targets and logs this error again if it changes, or in 10 minutes.",
					 (long long) entry->repeats) :
			 errhint("The worker goes on with the other targets and tries again; it logs this error again if it changes, or in 10 minutes.")));
	entry->sqlerrcode = edata->sqlerrcode;
	strlcpy(entry->message, message, sizeof(entry->message));
	entry->logged_at = now;
	entry->repeats = 0;
}

/* What failed before (key) worked now: say so once, and forget the error. */
void
worker_report_success(Oid key, const char *what)
{
	ReportedError *entry = reported_error(key, false);

	if (entry == NULL)
		return;
	/* a target's recovery is said once, by whichever worker sees it first */
	if (OidIsValid(key) ? board_claim_recovery_log(MyDatabaseId, key, entry->logged_here) :
		entry->logged_here)
		ereport(LOG,
				(errmsg("eventbus: %s works again", what ? what : "the delivery worker")));
	hash_search(reported_errors, &key, HASH_REMOVE, NULL);
}

/* ---------------------------------------------------------------------
 * A delivery worker
 * ---------------------------------------------------------------------
 */
static char *my_dbname = NULL;

static void
worker_detach(int code, Datum arg)
{
	DeliverySlot *slot = &delivery_shared->slots[DatumGetInt32(arg)];

	delivery_release(DatumGetInt32(arg));
	LWLockAcquire(delivery_shared->lock, LW_EXCLUSIVE);
	slot->activity = WORKER_IDLE;
	slot->busy_since = 0;
	slot->on_slow = false;
	slot->pid = 0;
	slot->latch = NULL;
	if (slot->state == SLOT_RUNNING || slot->state == SLOT_STARTING)
		slot->state = SLOT_FREE;
	LWLockRelease(delivery_shared->lock);
	if (delivery_shared->launcher_latch)
		SetLatch(delivery_shared->launcher_latch);
}

/* The extension is gone: the slot says so, and the worker leaves. */
static void
worker_exit_absent(DeliverySlot *slot)
{
	/* one slot (worker 0's) says so; the others are free */
	if (slot->worker_index == 0)
	{
		LWLockAcquire(delivery_shared->lock, LW_EXCLUSIVE);
		slot->state = SLOT_ABSENT;
		slot->state_since = GetCurrentTimestamp();
		LWLockRelease(delivery_shared->lock);
	}
	proc_exit(0);
}

/* Whether the extension is installed (a transaction of its own). */
bool
worker_extension_installed(void)
{
	MemoryContext outer = CurrentMemoryContext;
	bool		installed;

	StartTransactionCommand();
	installed = OidIsValid(get_extension_oid("eventbus", true));
	CommitTransactionCommand();
	MemoryContextSwitchTo(outer);
	return installed;
}

typedef enum DatabaseState
{
	DATABASE_READY,
	DATABASE_NO_EXTENSION,
	DATABASE_RESTORING			/* a restore is loading it: hands off */
} DatabaseState;

/*
 * Whether the extension is installed and no restore is loading the
 * database (eventbus._restore_pending(), absent before 0.2.0).  Runs its
 * own transaction; the caller handles errors.
 */
static DatabaseState
database_state(void)
{
	MemoryContext outer = CurrentMemoryContext;
	DatabaseState state = DATABASE_READY;
	Oid			argtypes[1] = {INT4OID};

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (my_dbname == NULL)
		my_dbname = MemoryContextStrdup(TopMemoryContext, get_database_name(MyDatabaseId));
	if (!OidIsValid(get_extension_oid("eventbus", true)))
		state = DATABASE_NO_EXTENSION;
	else if (OidIsValid(LookupFuncName(list_make2(makeString("eventbus"),
												  makeString("_restore_pending")),
									   1, argtypes, true)))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "eventbus: SPI_connect failed");
		if (SPI_execute("SELECT eventbus._restore_pending()", false, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull && DatumGetBool(d))
				state = DATABASE_RESTORING;
		}
		SPI_finish();
		PopActiveSnapshot();
	}
	CommitTransactionCommand();
	MemoryContextSwitchTo(outer);
	return state;
}

/* The worker's slot, shown by eventbus.delivery_workers. */
void
worker_set_activity(WorkerActivity activity, const char *target, int timeout_ms)
{
	DeliverySlot *slot;
	TimestampTz now;

	if (my_slot < 0)
		return;
	slot = &delivery_shared->slots[my_slot];
	now = GetCurrentTimestamp();
	if (target != NULL && strncmp(slot->target, target, SLOT_TARGET_LEN - 1) != 0)
		strlcpy(slot->target, target, SLOT_TARGET_LEN);
	if (activity == WORKER_IDLE)
	{
		slot->target[0] = '\0';
		slot->busy_since = 0;
	}
	else if (slot->activity == WORKER_IDLE)
		slot->busy_since = now;
	slot->invoke_timeout_ms = (activity == WORKER_INVOKING) ? timeout_ms : 0;
	slot->activity = activity;
	slot->activity_since = now;
	slot->heartbeat = now;
}

void
worker_heartbeat(void)
{
	if (my_slot >= 0)
		delivery_shared->slots[my_slot].heartbeat = GetCurrentTimestamp();
}

void
worker_note_progress(void)
{
	if (my_slot >= 0)
		delivery_shared->slots[my_slot].last_progress = GetCurrentTimestamp();
}

bool
worker_may_take_slow_target(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int			running = 0;
	int			held = 0;

	if (my_slot < 0)
		return true;
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];
		TimestampTz busy = slot->busy_since;

		if (i == my_slot || slot->dboid != MyDatabaseId || slot->state != SLOT_RUNNING)
			continue;
		running++;
		if (slot->on_slow ||
			(busy != 0 && TimestampDifferenceExceeds(busy, now, eventbus_delivery_stall_timeout)))
			held++;
	}
	/* another worker stays free for the others */
	if (running - held >= 1)
		return true;
	delivery_shared->wants_worker = MyDatabaseId;
	if (delivery_shared->launcher_latch)
		SetLatch(delivery_shared->launcher_latch);
	return false;
}

void
worker_set_on_slow(bool on_slow)
{
	if (my_slot >= 0)
		delivery_shared->slots[my_slot].on_slow = on_slow;
}

/* An on-demand worker leaves after this long without work. */
#define ON_DEMAND_IDLE_MS 30000

/* The database's state is asked again after this long. */
#define DATABASE_STATE_INTERVAL_MS 1000

void
eventbus_worker_main(Datum main_arg)
{
	DeliverySlot *slot;
	MemoryContext loop_cxt;
	bool		restoring = false;
	TimestampTz state_checked_at = 0;
	TimestampTz last_work;
	DatabaseState state = DATABASE_READY;

	my_slot = DatumGetInt32(main_arg);
	slot = &delivery_shared->slots[my_slot];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();

	before_shmem_exit(worker_detach, Int32GetDatum(my_slot));
	BackgroundWorkerInitializeConnectionByOid(slot->dboid, InvalidOid, 0);

	LWLockAcquire(delivery_shared->lock, LW_EXCLUSIVE);
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	slot->started_at = GetCurrentTimestamp();
	slot->state = SLOT_RUNNING;
	LWLockRelease(delivery_shared->lock);
	last_work = slot->started_at;

	pgstat_report_appname("eventbus delivery worker");

	/* whatever one step allocates outside the caches goes when the next begins */
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "eventbus delivery loop",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TimestampTz next_due = 0;
		TimestampTz now;
		int64		delivered = 0;
		int64		failed = 0;
		int			attempted = -1;
		long		timeout;

		MemoryContextReset(loop_cxt);
		MemoryContextSwitchTo(loop_cxt);

		/* before CHECK_FOR_INTERRUPTS: a cancel left by SIGTERM must not raise */
		if (eventbus_worker_stopping)
			proc_exit(0);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		now = GetCurrentTimestamp();
		slot->heartbeat = now;
		/* more workers than the settings allow, or one on demand without work */
		if (slot->worker_index >= eventbus_max_delivery_workers ||
			(slot->worker_index >= eventbus_delivery_workers &&
			 TimestampDifferenceExceeds(last_work, now, ON_DEMAND_IDLE_MS)))
			proc_exit(0);

		PG_TRY();
		{
			/* the extension and a restore: asked now and then, not at every step */
			if (state != DATABASE_READY ||
				TimestampDifferenceExceeds(state_checked_at, now, DATABASE_STATE_INTERVAL_MS))
			{
				state = database_state();
				state_checked_at = now;
			}
			if (state == DATABASE_READY && eventbus_delivery_enabled)
				attempted = delivery_step(my_slot, &next_due, &delivered, &failed);
			/* the database's first worker raises the outboxes' scan floors */
			if (state == DATABASE_READY && slot->worker_index == 0)
				outbox_floor_maintain();
			worker_report_success(InvalidOid, NULL);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			eventbus_worker_invoking = false;
			MemoryContextSwitchTo(loop_cxt);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			MemoryContextSwitchTo(loop_cxt);
			worker_set_activity(WORKER_IDLE, NULL, 0);
			if (eventbus_worker_stopping)
				proc_exit(0);
			/* DROP EXTENSION committed under the step: leave quietly */
			if (worker_extension_installed())
				worker_report_error(InvalidOid, NULL, edata);
			else
				state = DATABASE_NO_EXTENSION;
			/* ask again before the next step */
			state_checked_at = 0;
			attempted = -1;
		}
		PG_END_TRY();

		if (state == DATABASE_NO_EXTENSION)
			worker_exit_absent(slot);
		if ((state == DATABASE_RESTORING) != restoring)
		{
			restoring = (state == DATABASE_RESTORING);
			/* said once per database, by its first worker */
			if (slot->worker_index == 0)
				ereport(LOG,
						(errmsg(restoring ?
								"eventbus: delivery in database \"%s\" waits until its restore is over" :
								"eventbus: the restore of database \"%s\" is over; delivery starts",
								my_dbname ? my_dbname : "?")));
		}

		if (delivered > 0)
			pg_atomic_fetch_add_u64(&slot->delivered, delivered);
		if (failed > 0)
			pg_atomic_fetch_add_u64(&slot->failed, failed);

		/* a target was visited: others may have work too */
		if (attempted >= 0)
		{
			if (attempted > 0)
				last_work = GetCurrentTimestamp();
			continue;
		}

		timeout = eventbus_delivery_naptime;
		if (next_due != 0)
		{
			long		secs;
			int			usecs;

			TimestampDifference(GetCurrentTimestamp(), next_due, &secs, &usecs);
			timeout = Min(timeout, secs * 1000 + usecs / 1000 + 1);
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		slot->last_wake = GetCurrentTimestamp();
	}
}

/* ---------------------------------------------------------------------
 * eventbus._delivery_workers(): the workers of every database
 * ---------------------------------------------------------------------
 */
Datum
eventbus_delivery_workers_status(PG_FUNCTION_ARGS)
{
	static const char *const states[] = {"free", "starting", "running", "absent", "stopping"};
	static const char *const activities[] = {"idle", "delivering", "invoking"};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz now = GetCurrentTimestamp();
	/* an idle worker looks at its work at least every naptime */
	int			quiet_ms = Max(3 * eventbus_delivery_naptime, 3000);
	/* what a worker works on names rules and targets: for admins only */
	bool		show_target = eventbus_role_is_admin(GetUserId());

	InitMaterializedSRF(fcinfo, 0);
	if (delivery_shared == NULL)
		PG_RETURN_VOID();

	LWLockAcquire(delivery_shared->lock, LW_SHARED);
	for (int i = 0; i < MAX_DELIVERY_SLOTS; i++)
	{
		DeliverySlot *slot = &delivery_shared->slots[i];
		Datum		values[15];
		bool		nulls[15];
		WorkerActivity activity = slot->activity;
		TimestampTz heartbeat = slot->heartbeat;
		TimestampTz since = slot->activity_since;
		int			timeout_ms = slot->invoke_timeout_ms;
		bool		stalled;
		char		target[SLOT_TARGET_LEN];

		if (slot->state == SLOT_FREE)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = ObjectIdGetDatum(slot->dboid);
		values[1] = Int32GetDatum(slot->worker_index);
		values[2] = CStringGetTextDatum(states[slot->state]);
		values[3] = Int32GetDatum(slot->pid);
		nulls[3] = (slot->pid == 0);
		values[4] = TimestampTzGetDatum(slot->started_at);
		nulls[4] = (slot->started_at == 0);
		values[5] = TimestampTzGetDatum(slot->last_wake);
		nulls[5] = (slot->last_wake == 0);
		values[6] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->delivered));
		values[7] = Int64GetDatum((int64) pg_atomic_read_u64(&slot->failed));
		values[8] = TimestampTzGetDatum(slot->state_since);
		nulls[8] = (slot->state_since == 0);

		/*
		 * Stalled: no sign of life for longer than an idle worker sleeps, or
		 * inside one invocation well past its timeout (a stopped process, a
		 * call that ignores its timeout); a kind that delivers a whole batch
		 * (timeout -1) gives signs of life while it waits.
		 */
		if (slot->state != SLOT_RUNNING || heartbeat == 0)
			stalled = false;
		else if (activity == WORKER_INVOKING && timeout_ms >= 0)
			stalled = TimestampDifferenceExceeds(since, now,
												 (timeout_ms > 0 ? timeout_ms : 60000) + 5000);
		else
			stalled = TimestampDifferenceExceeds(heartbeat, now, quiet_ms);
		memcpy(target, slot->target, SLOT_TARGET_LEN);
		target[SLOT_TARGET_LEN - 1] = '\0';
		values[9] = CStringGetTextDatum(slot->state != SLOT_RUNNING ? "none" :
										stalled ? "stalled" : activities[activity]);
		values[10] = CStringGetTextDatum(target);
		nulls[10] = (target[0] == '\0' || !show_target);
		values[11] = TimestampTzGetDatum(since);
		nulls[11] = (since == 0 || slot->state != SLOT_RUNNING);
		values[12] = TimestampTzGetDatum(slot->last_progress);
		nulls[12] = (slot->last_progress == 0);
		values[13] = TimestampTzGetDatum(heartbeat);
		nulls[13] = (heartbeat == 0);
		values[14] = BoolGetDatum(slot->worker_index >= eventbus_delivery_workers);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(delivery_shared->lock);
	PG_RETURN_VOID();
}
