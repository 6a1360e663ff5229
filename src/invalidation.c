/*-------------------------------------------------------------------------
 *
 * invalidation.c
 *	  One relcache invalidation callback for the whole extension, passing
 *	  each invalidation on to the backend caches that follow the catalog:
 *	  the rule indexes (rule_index.c), the outbox plans (outbox.c) and the
 *	  privileges (privileges.c).
 *
 * A backend has room for only a few relcache callbacks, shared by every
 * loaded library: eventbus takes one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/inval.h"

#include "invalidation.h"

static bool registered = false;

static void
relcache_callback(Datum arg, Oid relid)
{
	rule_index_relation_changed(relid);
	outbox_relation_changed(relid);
	privileges_relation_changed(relid);
}

void
eventbus_watch_relcache(void)
{
	if (registered)
		return;
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	registered = true;
}
