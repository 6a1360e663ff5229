/*-------------------------------------------------------------------------
 *
 * maintenance.h
 *	  Time-keeping tasks of a database's first delivery worker: scheduled
 *	  rules, partitions of eventbus.events, replays.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_MAINTENANCE_H
#define EVENTBUS_MAINTENANCE_H

#include "postgres.h"

#include "utils/timestamp.h"

extern int	eventbus_partition_maintenance_interval;
extern int	eventbus_partition_days_ahead;
extern int	eventbus_event_retention;

extern void maintenance_define_settings(void);

/*
 * Do what is due (in transactions of its own).  Lowers *next_due (0: none
 * yet) to when something is due next; returns true when there is more work
 * right away (a replay with more batches).
 */
extern bool maintenance_step(TimestampTz *next_due);

#endif							/* EVENTBUS_MAINTENANCE_H */
