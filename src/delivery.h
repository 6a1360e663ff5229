/*-------------------------------------------------------------------------
 *
 * delivery.h
 *	  A delivery worker's steps: load the push targets, and visit one
 *	  target that has work (claim a batch, deliver it through its kind,
 *	  record the outcomes).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_DELIVERY_H
#define EVENTBUS_DELIVERY_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "target_kind.h"

/* Settings (worker.c defines them). */
extern int	eventbus_delivery_target_budget;

/*
 * One step of a worker (outside any transaction: it starts its own): visit
 * the next push target that has new or due messages and that no other
 * worker holds, and deliver one batch of it.  Returns how many messages
 * were attempted, or -1 when no target had work; then *next_due is the
 * earliest time a retry comes due (0 if none).  slot is the worker's slot
 * (the holder of the leases it takes).
 */
extern int	delivery_step(int slot, TimestampTz *next_due, int64 *delivered, int64 *failed);

/* The worker leaves: its leases go. */
extern void delivery_release(int slot);

#endif							/* EVENTBUS_DELIVERY_H */
