/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The delivery launcher and the per-database delivery workers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_WORKER_H
#define EVENTBUS_WORKER_H

#include "postgres.h"

#include <signal.h>

/* Settings (worker.c). */
extern bool eventbus_delivery_enabled;
extern int	eventbus_delivery_batch_size;
extern int	eventbus_delivery_workers;
extern int	eventbus_max_delivery_workers;
extern int	eventbus_delivery_stall_timeout;
extern int	eventbus_delivery_naptime;
extern int	eventbus_function_timeout;
extern int	eventbus_retry_base_delay;
extern int	eventbus_retry_max_delay;
extern int	eventbus_max_bus_hops;

extern void delivery_define_settings(void);
extern Size delivery_shmem_size(void);
extern void delivery_shmem_startup(void);
extern void delivery_register_launcher(void);
extern void delivery_install_hooks(void);

/*
 * Set by SIGTERM in a worker: leave at the next safe point (delivery.c stops
 * between two messages).  eventbus_worker_invoking is set by delivery.c
 * while a target is invoked, which SIGTERM then cancels.
 */
extern volatile sig_atomic_t eventbus_worker_stopping;
extern volatile sig_atomic_t eventbus_worker_invoking;

/*
 * A worker's errors, logged once: an error of the step named by key (a
 * target's outbox, or InvalidOid for the worker's own) is logged when it
 * first happens, when it changes, and every 10 minutes while it lasts;
 * worker_report_success logs once that the step works again.
 */
extern void worker_report_error(Oid key, const char *what, const ErrorData *edata);
extern void worker_report_success(Oid key, const char *what);

/* Whether this database has the extension (outside a transaction: starts one). */
extern bool worker_extension_installed(void);

/*
 * Called by routing when it enqueues a message for a push target: the
 * database's delivery workers are woken when the transaction commits.
 */
extern void delivery_wake_at_commit(void);
extern void delivery_wake_at_commit_for(Oid outbox);

/* Wake the database's first worker, which runs replays, at commit. */
extern void delivery_wake_replay_at_commit(void);
/* In that worker: whether it was woken for a replay (and forget it). */
extern bool worker_take_replay_wake(void);

/* What a worker does, shown by eventbus.delivery_workers. */
typedef enum WorkerActivity
{
	WORKER_IDLE,
	WORKER_DELIVERING,			/* visiting a target: claiming, recording */
	WORKER_INVOKING				/* inside a target's invocation */
} WorkerActivity;

/*
 * Set by delivery.c: the activity, the target ("delivery to target ..."),
 * NULL to keep the current one) and for an invocation its timeout (ms, 0:
 * none), so that a worker stuck past it can be told from a slow target.
 */
extern void worker_set_activity(WorkerActivity activity, const char *target, int timeout_ms);
extern void worker_note_progress(void);
/* A sign of life from inside a long invocation (timeout_ms -1: the kind gives them). */
extern void worker_heartbeat(void);
extern void worker_wake_peer(void);

/*
 * The slow lane: a worker may take a slow target only if at least one
 * other worker of the database stays free for the others; if none would,
 * it asks the launcher for another worker (up to
 * eventbus.max_delivery_workers) and leaves the target to it.  While it
 * delivers to a slow target its slot says so.
 */
extern bool worker_may_take_slow_target(void);
extern void worker_set_on_slow(bool on_slow);

#endif							/* EVENTBUS_WORKER_H */
