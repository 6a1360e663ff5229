/*-------------------------------------------------------------------------
 *
 * eventbus.h
 *	  Declarations shared across the eventbus extension: settings (GUCs)
 *	  and the initialisation entry point of each module.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_H
#define EVENTBUS_H

#include "postgres.h"

/* Settings, defined in eventbus.c. */
extern int	eventbus_max_pattern_size;
extern int	eventbus_max_entries_per_put;
extern int	eventbus_max_entry_size;
extern int	eventbus_max_targets_per_rule;
extern char *eventbus_account;
extern char *eventbus_region;

/* Error helper: every refused pattern uses this SQLSTATE. */
#define ERRCODE_EVENTBUS_INVALID_PATTERN ERRCODE_INVALID_PARAMETER_VALUE

#endif							/* EVENTBUS_H */
