/*-------------------------------------------------------------------------
 *
 * invalidation.h
 *	  The extension's one relcache invalidation callback.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_INVALIDATION_H
#define EVENTBUS_INVALIDATION_H

#include "postgres.h"

/*
 * Register the callback (once per backend; later calls do nothing).  It
 * passes every relcache invalidation (InvalidOid: all relations) on to the
 * caches below, which only take note of it: they run no catalog access
 * and free nothing in the callback, and revalidate on their next use.
 */
extern void eventbus_watch_relcache(void);

/* The caches that follow relcache invalidations (rule_index.c, outbox.c,
 * privileges.c). */
extern void rule_index_relation_changed(Oid relid);
extern void outbox_relation_changed(Oid relid);
extern void privileges_relation_changed(Oid relid);

#endif							/* EVENTBUS_INVALIDATION_H */
