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

/* Settings (worker.c). */
extern bool eventbus_delivery_enabled;
extern int	eventbus_delivery_batch_size;
extern int	eventbus_delivery_workers;
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
 * Called by routing when it enqueues a message for a push target: the
 * database's delivery workers are woken when the transaction commits.
 */
extern void delivery_wake_at_commit(void);

#endif							/* EVENTBUS_WORKER_H */
