/*-------------------------------------------------------------------------
 *
 * eventbus.c
 *	  Module entry point: _PG_init and the extension's settings (GUCs).
 *
 * The library works both when it is listed in shared_preload_libraries
 * (required for the delivery worker) and when it is loaded on first use by
 * a backend (enough for pattern matching and routing).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "compat.h"
#include "eventbus.h"
#include "fifo.h"
#include "maintenance.h"
#include "outbox_floor.h"
#include "pattern.h"
#include "replay.h"
#include "http.h"
#include "queue_wait.h"
#include "stats.h"
#include "worker.h"

PG_MODULE_MAGIC;

int			eventbus_max_pattern_size = 2048;
int			eventbus_max_entries_per_put = 10;
int			eventbus_max_entry_size = 1024 * 1024;
int			eventbus_max_targets_per_rule = 5;
static int	eventbus_max_event_buses = 100;
static int	eventbus_max_rules_per_bus = 300;
static int	eventbus_max_queues = 1000;
char	   *eventbus_account = NULL;
char	   *eventbus_region = NULL;

void		_PG_init(void);

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
define_settings(void)
{
	DefineCustomIntVariable("eventbus.max_pattern_size",
							"Maximum size of an event pattern, in characters of its JSON text.",
							"EventBridge's default quota is 2048 characters.",
							&eventbus_max_pattern_size,
							2048,
							64,
							1024 * 1024,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("eventbus.max_entries_per_put",
							"Maximum number of entries in one put_events request.",
							"EventBridge's PutEvents takes at most 10 entries.",
							&eventbus_max_entries_per_put,
							10,
							1,
							100000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("eventbus.max_entry_size",
							"Maximum size of one put_events entry, in bytes.",
							"Counted as EventBridge counts it: 14 bytes for a Time plus the UTF-8 bytes of Source, DetailType, Detail and each Resources entry; the default is EventBridge's 1 MB.",
							&eventbus_max_entry_size,
							1024 * 1024,
							1024,
							64 * 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("eventbus.max_targets_per_rule",
							"Maximum number of targets of one rule.",
							"EventBridge's quota is 5 targets per rule.",
							&eventbus_max_targets_per_rule,
							5,
							1,
							1000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	/*
	 * Quotas on the catalogs, so that no role can exhaust them: read by the
	 * functions that create buses, rules and queues (current_setting), and
	 * never by what loads stored objects, so lowering one leaves the
	 * existing objects working.
	 */
	DefineCustomIntVariable("eventbus.max_event_buses",
							"Maximum number of event buses in a database, the default bus included.",
							"EventBridge's quota is 100 event buses per account and region.",
							&eventbus_max_event_buses,
							100,
							1,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("eventbus.max_rules_per_bus",
							"Maximum number of rules on one event bus.",
							"EventBridge's quota is 300 rules per event bus.",
							&eventbus_max_rules_per_bus,
							300,
							1,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("eventbus.max_queues",
							"Maximum number of queues in a database.",
							"Each queue has an outbox table of its own.",
							&eventbus_max_queues,
							1000,
							1,
							1000000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("eventbus.account",
							   "Account recorded in the envelope of every event.",
							   "EventBridge puts the 12-digit AWS account id here.",
							   &eventbus_account,
							   "000000000000",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("eventbus.region",
							   "Region recorded in the envelope of every event.",
							   NULL,
							   &eventbus_region,
							   "local",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	/*
	 * Sizes shared memory: defined only when preloaded, since a setting
	 * fixed at server start cannot be created later.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("eventbus.max_stats_entries",
								"Maximum number of rules, targets and queues whose metrics are kept.",
								"Counters live in shared memory sized at server start.",
								&eventbus_max_stats_entries,
								10000,
								100,
								10000000,
								PGC_POSTMASTER,
								0,
								NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(eventbus_current_account);
PG_FUNCTION_INFO_V1(eventbus_current_region);
PG_FUNCTION_INFO_V1(eventbus_get_max_targets_per_rule);

/*
 * Column defaults of eventbus.events call these rather than
 * current_setting(), so that the library (and with it the settings) is
 * loaded even in a session that has not used eventbus yet.
 */
Datum
eventbus_current_account(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(eventbus_account));
}

Datum
eventbus_current_region(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(eventbus_region));
}

Datum
eventbus_get_max_targets_per_rule(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(eventbus_max_targets_per_rule);
}

static void
eventbus_shmem_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(add_size(add_size(add_size(add_size(stats_shmem_size(), delivery_shmem_size()),
													  http_stats_shmem_size()),
											 outbox_floor_shmem_size()),
									queue_wait_shmem_size()));
	RequestNamedLWLockTranche("eventbus stats", 1);
	RequestNamedLWLockTranche("eventbus delivery", 1);
	RequestNamedLWLockTranche("eventbus http", 1);
}

static void
eventbus_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats_shmem_startup();
	delivery_shmem_startup();
	http_stats_shmem_startup();
	outbox_floor_shmem_startup();
	queue_wait_shmem_startup();
	LWLockRelease(AddinShmemInitLock);
}

void
_PG_init(void)
{
	define_settings();
	delivery_define_settings();
	http_define_settings();
	fifo_define_settings();
	maintenance_define_settings();
	replay_define_settings();
	pattern_support_define_settings();
	/* after every eventbus.* setting is defined, or postgresql.conf's are dropped */
	MarkGUCPrefixReserved("eventbus");

	if (!process_shared_preload_libraries_in_progress)
		return;

#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = eventbus_shmem_request;
#else
	eventbus_shmem_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = eventbus_shmem_startup;

	delivery_register_launcher();
	delivery_install_hooks();
}
