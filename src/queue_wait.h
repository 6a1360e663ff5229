/*-------------------------------------------------------------------------
 *
 * queue_wait.h
 *	  Long polling: receive() waiting in shared memory for messages that a
 *	  committing transaction makes visible in its queue.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_QUEUE_WAIT_H
#define EVENTBUS_QUEUE_WAIT_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* The longest wait of receive() (SQS's WaitTimeSeconds), in seconds. */
#define QUEUE_WAIT_MAX_SECONDS 20

extern Size queue_wait_shmem_size(void);
extern void queue_wait_shmem_startup(void);

/*
 * Wake the consumers waiting on a queue of this database when the current
 * transaction commits: it wrote messages that become visible at
 * visible_at (0: at once).  A visible_at later than the longest wait from
 * the commit wakes no one (the waiters see it when they look again).
 */
extern void queue_wait_wake_at_commit(const char *queue, TimestampTz visible_at);

/* Wake them if the current transaction rolls back (it held messages). */
extern void queue_wait_wake_at_abort(const char *queue);

#endif							/* EVENTBUS_QUEUE_WAIT_H */
