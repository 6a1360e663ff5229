/*-------------------------------------------------------------------------
 *
 * maintenance.c
 *	  The database's first delivery worker keeps time: it fires scheduled
 *	  rules' ticks, keeps the daily partitions of eventbus.events (future
 *	  days made ahead, days past every retention dropped) and runs replays.
 *
 * Each task is one SQL function of the extension, called in a transaction
 * of its own:
 *	 - eventbus._fire_due_schedules() when a tick is due (the worker sleeps
 *	   no longer than until then), and once a second to see new or changed
 *	   scheduled rules;
 *	 - eventbus._maintain_event_partitions() at start and every
 *	   eventbus.partition_maintenance_interval;
 *	 - replay_step() (src/replay.c), one batch at a time, while a replay
 *	   runs.
 * An error in one task is the worker's to log (worker.c); the others go on
 * at their next turn.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "maintenance.h"
#include "replay.h"

/* a new or changed scheduled rule is seen within this time */
#define SCHEDULE_POLL_MS 1000

int			eventbus_partition_maintenance_interval = 3600;	/* seconds */
int			eventbus_partition_days_ahead = 7;
int			eventbus_event_retention = 0;	/* minutes; 0 = forever */

static TimestampTz schedule_due = 0;	/* next tick known, 0 = ask */
static TimestampTz schedule_polled = 0;
static TimestampTz partitions_maintained = 0;

void
maintenance_define_settings(void)
{
	DefineCustomIntVariable("eventbus.partition_maintenance_interval",
							"How often the first delivery worker of each database maintains the partitions of eventbus.events.",
							"It makes the daily partitions of the next eventbus.partition_days_ahead days and drops those past eventbus.event_retention and every archive's retention; also at the worker's start.",
							&eventbus_partition_maintenance_interval,
							3600, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.partition_days_ahead",
							"How many days ahead the daily partitions of eventbus.events are made.",
							"0 turns making them off (then create_event_partitions must be called).",
							&eventbus_partition_days_ahead,
							7, 0, 366,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.event_retention",
							"How long stored events are kept at least; 0 keeps them forever.",
							"A daily partition of eventbus.events is dropped once it ended longer ago than this and than every archive's retention (an archive kept forever keeps everything), unless undelivered messages or an unfinished replay still need its events.",
							&eventbus_event_retention,
							0, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MIN,
							NULL, NULL, NULL);
}

/*
 * Run one statement of the extension in a transaction of its own, if the
 * database's eventbus has the function it calls (a database whose SQL is
 * older than the library has not).
 */
static Datum
run_in_transaction(const char *sql, const char *function, bool *isnull)
{
	Datum		result = (Datum) 0;
	bool		present;

	*isnull = true;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	present = OidIsValid(DatumGetObjectId(DirectFunctionCall1(to_regprocedure,
															  CStringGetTextDatum(function))));
	pgstat_report_activity(STATE_RUNNING, sql);
	if (present && SPI_execute(sql, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "eventbus: \"%s\" failed", sql);
	if (present && SPI_processed == 1)
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return result;
}

static void
fire_schedules(TimestampTz now)
{
	bool		isnull;
	Datum		next;

	if ((schedule_due == 0 || now < schedule_due) &&
		!TimestampDifferenceExceeds(schedule_polled, now, SCHEDULE_POLL_MS))
		return;
	schedule_polled = now;
	/* a timestamptz is passed by value: it outlives the transaction */
	next = run_in_transaction("SELECT eventbus._fire_due_schedules()",
							  "eventbus._fire_due_schedules()", &isnull);
	schedule_due = isnull ? 0 : DatumGetTimestampTz(next);
}

static void
maintain_partitions(TimestampTz now)
{
	bool		isnull;

	if (partitions_maintained != 0 &&
		!TimestampDifferenceExceeds(partitions_maintained, now,
									eventbus_partition_maintenance_interval * 1000))
		return;
	partitions_maintained = now;
	(void) run_in_transaction("SELECT count(*) FROM eventbus._maintain_event_partitions()",
							  "eventbus._maintain_event_partitions()", &isnull);
}

bool
maintenance_step(TimestampTz *next_due)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz wake;
	bool		more;

	fire_schedules(now);
	maintain_partitions(now);
	more = replay_step();

	/* sleep no longer than until the next tick, or the next look for rules */
	wake = TimestampTzPlusMilliseconds(schedule_polled, SCHEDULE_POLL_MS);
	if (schedule_due != 0 && schedule_due < wake)
		wake = schedule_due;
	if (*next_due == 0 || wake < *next_due)
		*next_due = wake;
	return more;
}
