/*-------------------------------------------------------------------------
 *
 * outbox_floor.h
 *	  The scan floor of an outbox: a message id below which the outbox
 *	  holds no message, kept in shared memory so that claims start their
 *	  walk of the primary key there instead of at the index entries of
 *	  every message acknowledged since the last vacuum.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_OUTBOX_FLOOR_H
#define EVENTBUS_OUTBOX_FLOOR_H

#include "postgres.h"

extern Size outbox_floor_shmem_size(void);
extern void outbox_floor_shmem_startup(void);

/*
 * The floor of an outbox of this database (0: unknown), and a request
 * that the database's first delivery worker keep it up to date.
 */
extern int64 outbox_floor_get(Oid outbox);

/* In the first delivery worker of a database: raise the floors asked for. */
extern void outbox_floor_maintain(void);

#endif							/* EVENTBUS_OUTBOX_FLOOR_H */
