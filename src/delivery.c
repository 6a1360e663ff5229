/*-------------------------------------------------------------------------
 *
 * delivery.c
 *	  One delivery cycle: claim due messages of every push target, invoke
 *	  the target for each, and record the outcome, all in the worker's
 *	  transaction.
 *
 * Messages are claimed with FOR UPDATE SKIP LOCKED, so several workers of
 * a database never deliver the same message at once.  Each invocation runs
 * in a subtransaction: a failing message is rolled back alone, and the
 * others of its batch still commit.  A delivered message is deleted in the
 * same transaction as the invocation (for function targets, the function's
 * own writes commit or roll back with it); a failed one is rescheduled with
 * exponential backoff and jitter, or moved to eventbus.dead_letters when its
 * retry policy is exhausted or the error cannot be fixed by retrying.  A
 * crash before commit leaves the messages in their outbox: delivery is at
 * least once.
 *
 * An error outside the invocations (a catalog or outbox in a state the
 * worker cannot use) rolls back that target's transaction only: it is
 * logged once (worker_report_error) and the cycle goes on with the next
 * target.  Outboxes are the ones eventbus.targets names, and are used only
 * if they are outbox tables (outbox.c checks their schema and columns) that
 * no queue or other target shares.  A row of an outbox whose values cannot
 * be delivered (NULL where a message has a value) goes to the dead letters
 * with error code InvalidMessage.  A DeadLetterConfig queue receives the
 * failed events only while the target's owner holds send on it.  A worker asked to stop (SIGTERM) stops between two messages.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "pgstat.h"
#include "utils/resowner.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "delivery.h"
#include "outbox.h"
#include "privileges.h"
#include "rule_index.h"
#include "eventbus.h"
#include "stats.h"
#include "worker.h"

typedef enum DeliveryOutcome
{
	OUTCOME_DELIVERED,
	OUTCOME_RETRY,
	OUTCOME_DEAD_LETTER
} DeliveryOutcome;

/*
 * Errors that retrying cannot fix go to the dead letters at once: a missing
 * function or object, a missing privilege (SQLSTATE class 42), a missing
 * schema (3F), a program limit such as NOTIFY's payload size or the bus
 * hop limit (54).  Errors raised by the target's own code are retried.
 */
static bool
is_permanent_error(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION:
		case ERRCODE_INVALID_SCHEMA_NAME:
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			return true;
		default:
			return false;
	}
}

/*
 * The push targets, allocated in cxt (SPI switches back to its own context
 * after each call, so the caller's context cannot be relied upon).
 */
static List *
load_push_targets(MemoryContext cxt)
{
	static const char *query =
		"SELECT r.rule_id, t.bus, t.rule, t.target_id, t.kind, t.destination,"
		"       t.outbox::oid,"
		"       coalesce((SELECT a.oid FROM pg_catalog.pg_roles a WHERE a.rolname = t.owner), 0),"
		"       coalesce((t.retry_policy->>'MaximumRetryAttempts')::int, 185),"
		"       coalesce((t.retry_policy->>'MaximumEventAgeInSeconds')::int, 86400),"
		"       (t.config->>'TimeoutSeconds')::numeric,"
		"       q.outbox::oid, q.name,"
		"       EXISTS (SELECT FROM eventbus.queues q2 WHERE q2.outbox = t.outbox)"
		"       OR EXISTS (SELECT FROM eventbus.targets t2 WHERE t2.outbox = t.outbox"
		"                     AND (t2.bus, t2.rule, t2.target_id) <> (t.bus, t.rule, t.target_id))"
		"  FROM eventbus.targets t"
		"  JOIN eventbus.rules r ON r.bus = t.bus AND r.name = t.rule"
		"  LEFT JOIN eventbus.queues q ON q.name = t.dead_letter_config->>'Queue'"
		" WHERE t.kind IN ('function', 'bus', 'notify')"
		"   AND EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.outbox)"
		" ORDER BY t.outbox";
	List	   *targets = NIL;
	MemoryContext oldcxt;
	SPITupleTable *tuptable;
	uint64		nrows;

	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "eventbus: could not read the push targets");
	tuptable = SPI_tuptable;
	nrows = SPI_processed;
	oldcxt = MemoryContextSwitchTo(cxt);
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tup = tuptable->vals[i];
		TupleDesc	desc = tuptable->tupdesc;
		PushTarget *t = palloc0(sizeof(PushTarget));
		bool		isnull;
		Datum		timeout;

		t->rule_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		t->bus = SPI_getvalue(tup, desc, 2);
		t->rule = SPI_getvalue(tup, desc, 3);
		t->target_id = SPI_getvalue(tup, desc, 4);
		t->kind = SPI_getvalue(tup, desc, 5);
		t->destination = SPI_getvalue(tup, desc, 6);
		t->outbox = DatumGetObjectId(SPI_getbinval(tup, desc, 7, &isnull));
		t->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 8, &isnull));
		t->max_retry_attempts = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
		t->max_event_age = DatumGetInt32(SPI_getbinval(tup, desc, 10, &isnull));
		timeout = SPI_getbinval(tup, desc, 11, &isnull);
		if (isnull)
			t->timeout_ms = eventbus_function_timeout;
		else
			t->timeout_ms = (int) (DatumGetFloat8(DirectFunctionCall1(numeric_float8, timeout)) * 1000.0);
		t->dlq_outbox = DatumGetObjectId(SPI_getbinval(tup, desc, 12, &isnull));
		if (isnull)
			t->dlq_outbox = InvalidOid;
		t->dlq_queue = SPI_getvalue(tup, desc, 13);
		t->shared_outbox = DatumGetBool(SPI_getbinval(tup, desc, 14, &isnull)) && !isnull;
		targets = lappend(targets, t);
	}
	MemoryContextSwitchTo(oldcxt);
	return targets;
}

/* The outbox's qualified name, or NULL when the table is gone. */
static char *
outbox_name(Oid outbox)
{
	char	   *relname = get_rel_name(outbox);
	char	   *nspname = relname ? get_namespace_name(get_rel_namespace(outbox)) : NULL;

	if (relname == NULL || nspname == NULL)
		return NULL;
	return quote_qualified_identifier(nspname, relname);
}

/* As outbox_name(), raising an error when the table is gone. */
static char *
outbox_name_or_error(Oid outbox)
{
	char	   *name = outbox_name(outbox);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("outbox table %u no longer exists", outbox),
				 errdetail("It was dropped while the delivery worker used it."),
				 errhint("Remove the target and put it again.")));
	return name;
}

/* Claim up to batch_size due messages of a target; copies them out of SPI. */
static List *
claim_messages(const PushTarget *target)
{
	List	   *messages = NIL;

	(void) outbox_name_or_error(target->outbox);
	if (outbox_execute(target->outbox, OUTBOX_CLAIM, eventbus_delivery_batch_size,
					   NULL, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "eventbus: could not claim messages of target \"%s\"", target->target_id);

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		DeliveryMessage *m = palloc0(sizeof(DeliveryMessage));
		bool		isnull;
		Datum		d;

		d = SPI_getbinval(tup, desc, 1, &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("outbox of target \"%s\" holds a message without message_id",
							target->target_id),
					 errdetail("Outbox %s is damaged.", outbox_name_or_error(target->outbox)),
					 errhint("Remove the target and put it again.")));
		m->message_id = DatumGetInt64(d);
		/* a value the row lacks makes the message undeliverable, not the worker */
		d = SPI_getbinval(tup, desc, 2, &isnull);
		if (isnull)
			m->invalid = "its event_id is NULL";
		else
			memcpy(&m->event_id, DatumGetUUIDP(d), sizeof(pg_uuid_t));
		d = SPI_getbinval(tup, desc, 3, &isnull);
		if (isnull)
			m->invalid = "its event_ingestion_time is NULL";
		else
			m->event_ingestion_time = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 4, &isnull);
		m->payload = isnull ? NULL : DatumGetJsonbPCopy(d);
		d = SPI_getbinval(tup, desc, 5, &isnull);
		m->payload_is_event = !isnull && DatumGetBool(d);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		if (isnull || DatumGetInt32(d) < 0)
			m->invalid = "its receive_count is NULL or negative";
		else
			m->attempts = DatumGetInt32(d);
		d = SPI_getbinval(tup, desc, 7, &isnull);
		if (isnull)
			m->invalid = "its enqueued_at is NULL";
		else
			m->enqueued_at = DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 8, &isnull);
		m->first_attempt_at = isnull ? 0 : DatumGetTimestampTz(d);
		d = SPI_getbinval(tup, desc, 9, &isnull);
		m->hops = isnull ? 0 : DatumGetInt16(d);
		messages = lappend(messages, m);
	}
	return messages;
}

/*
 * Invoke the target for one message in a subtransaction.  Returns NULL on
 * success, or the error (copied, in the caller's context).
 */
static ErrorData *
invoke_in_subtransaction(const PushTarget *target, const DeliveryMessage *msg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		/* from here SIGTERM cancels the invocation */
		eventbus_worker_invoking = true;
		if (eventbus_worker_stopping)
		{
			/* SIGTERM came just before: cancel now */
			QueryCancelPending = true;
			InterruptPending = true;
			CHECK_FOR_INTERRUPTS();
		}
		if (strcmp(target->kind, "function") == 0)
			target_function_invoke(target, msg);
		else if (strcmp(target->kind, "bus") == 0)
			target_bus_invoke(target, msg);
		else if (strcmp(target->kind, "notify") == 0)
			target_notify_invoke(target, msg);
		else
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("target kind \"%s\" cannot be delivered", target->kind),
					 errdetail("Target \"%s\" of rule \"%s\".", target->target_id, target->rule),
					 errhint("Remove the target.")));
		eventbus_worker_invoking = false;
		disable_timeout(STATEMENT_TIMEOUT, false);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		eventbus_worker_invoking = false;
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();
	/* a cancel that SIGTERM asked for and the invocation did not see */
	if (eventbus_worker_stopping)
		QueryCancelPending = false;
	return edata;
}

static void
delete_delivered(const PushTarget *target, List *ids)
{
	Datum	   *elems;
	int			n = list_length(ids);
	int			i = 0;
	ListCell   *lc;
	Datum		args[1];

	if (n == 0)
		return;
	elems = palloc(sizeof(Datum) * n);
	foreach(lc, ids)
		elems[i++] = Int64GetDatum(*(int64 *) lfirst(lc));
	args[0] = PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (outbox_execute(target->outbox, OUTBOX_DELETE, 0, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "eventbus: could not delete delivered messages");
}

static void
reschedule(const PushTarget *target, const DeliveryMessage *msg, TimestampTz now,
		   const ErrorData *edata)
{
	Oid			argtypes[5] = {INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
	Datum		args[5];
	double		delay_ms;
	char	   *query;

	/* exponential backoff with full jitter over its upper half */
	delay_ms = (double) eventbus_retry_base_delay * pow(2.0, Min(msg->attempts, 30));
	delay_ms = Min(delay_ms, (double) eventbus_retry_max_delay);
	delay_ms *= 0.5 + 0.5 * EVENTBUS_RANDOM_DOUBLE();

	args[0] = Int64GetDatum(msg->message_id);
	args[1] = TimestampTzGetDatum(TimestampTzPlusMilliseconds(now, (int64) delay_ms));
	args[2] = TimestampTzGetDatum(now);
	args[3] = CStringGetTextDatum(unpack_sql_state(edata->sqlerrcode));
	args[4] = CStringGetTextDatum(edata->message ? edata->message : "");
	query = psprintf("UPDATE %s SET receive_count = receive_count + 1, visible_at = $2,"
					 " first_attempt_at = coalesce(first_attempt_at, $3), last_attempt_at = $3,"
					 " last_error_code = $4, last_error_message = $5"
					 " WHERE message_id = $1",
					 outbox_name_or_error(target->outbox));
	if (SPI_execute_with_args(query, 5, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "eventbus: could not reschedule message %lld", (long long) msg->message_id);
}

static void
dead_letter(const PushTarget *target, const DeliveryMessage *msg, TimestampTz now,
			const char *error_code, const char *error_message,
			const char *exhausted_condition, int retries)
{
	DeadLetterReason reason = {0};
	Datum		id = Int64GetDatum(msg->message_id);

	(void) outbox_name_or_error(target->outbox);
	reason.payload = msg->payload;
	reason.error_code = error_code;
	reason.error_message = error_message ? error_message : "";
	reason.exhausted_condition = exhausted_condition;
	reason.retry_attempts = retries;
	reason.attempt_at = now;
	reason.bus = target->bus;
	reason.rule = target->rule;
	reason.target_id = target->target_id;
	outbox_dead_letter(target->outbox,
					   PointerGetDatum(construct_array(&id, 1, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)),
					   &reason);
	stats_count_target(target->rule_id, target->target_id, STATS_DEAD_LETTERED, 1);

	/*
	 * DeadLetterConfig: the event also goes to that queue, as to an SQS DLQ,
	 * if the target's owner may send to it (asked now, from the privilege
	 * cache: dead letters are rare)
	 */
	if (OidIsValid(target->dlq_outbox) && msg->invalid == NULL && OidIsValid(target->owner) &&
		eventbus_check_privilege_fresh(EB_OBJECT_QUEUE, target->dlq_queue, EB_PRIV_SEND,
									   target->owner) == EB_ACCESS_OK)
	{
		Datum		values[OUTBOX_NCOLS];
		Datum	   *cols[OUTBOX_NCOLS];
		bool		payload_null = !(msg->payload && !msg->payload_is_event);

		values[0] = UUIDPGetDatum(&msg->event_id);
		values[1] = TimestampTzGetDatum(msg->event_ingestion_time);
		values[2] = CStringGetTextDatum(target->bus);
		values[3] = CStringGetTextDatum(target->rule);
		values[4] = CStringGetTextDatum(target->target_id);
		values[5] = payload_null ? (Datum) 0 : JsonbPGetDatum(msg->payload);
		for (int c = 0; c < OUTBOX_NCOLS; c++)
			cols[c] = &values[c];
		(void) outbox_name_or_error(target->dlq_outbox);
		outbox_insert(target->dlq_outbox, 1, cols, &payload_null);
		outbox_notify_queue(target->dlq_queue);
		stats_count_queue(target->dlq_queue, STATS_ENQUEUED, 1);
	}
}

/* Deliver one claimed batch of a target. */
static void
deliver_batch(const PushTarget *target, List *messages, int64 *delivered,
			  int64 *failed)
{
	List	   *done = NIL;
	ListCell   *lc;

	foreach(lc, messages)
	{
		DeliveryMessage *msg = lfirst(lc);
		TimestampTz now = GetCurrentTimestamp();
		int64		age_ms = (now - msg->event_ingestion_time) / 1000;
		ErrorData  *edata;

		/* asked to stop: the messages not yet tried stay as they are */
		if (eventbus_worker_stopping)
			break;
		CHECK_FOR_INTERRUPTS();

		/* a row the outbox should never hold: to the dead letters, untried */
		if (msg->invalid != NULL)
		{
			dead_letter(target, msg, now, "InvalidMessage",
						psprintf("the outbox row cannot be delivered: %s", msg->invalid),
						NULL, 0);
			(*failed)++;
			continue;
		}
		/* too old already (e.g. delivery was paused): no attempt, as EventBridge */
		if (age_ms > (int64) target->max_event_age * 1000)
		{
			dead_letter(target, msg, now, "MaximumEventAgeExceeded",
						"the event is older than MaximumEventAgeInSeconds",
						"MaximumEventAgeInSeconds", Max(msg->attempts - 1, 0));
			(*failed)++;
			continue;
		}
		/* its partition of eventbus.events was dropped: nothing to deliver */
		if (msg->payload == NULL)
		{
			dead_letter(target, msg, now, "EventNotFound",
						"the event's partition of eventbus.events was dropped before delivery",
						NULL, Max(msg->attempts - 1, 0));
			(*failed)++;
			continue;
		}

		if (msg->attempts == 0)
			stats_record_latency(target->rule_id, target->target_id, now - msg->event_ingestion_time);
		stats_count_target(target->rule_id, target->target_id, STATS_INVOCATIONS, 1);
		if (msg->attempts > 0)
			stats_count_target(target->rule_id, target->target_id, STATS_RETRY_ATTEMPTS, 1);

		edata = invoke_in_subtransaction(target, msg);
		/* cancelled because the worker stops: not a failure of the target */
		if (edata != NULL && eventbus_worker_stopping &&
			edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
		{
			FreeErrorData(edata);
			break;
		}
		if (edata == NULL)
		{
			int64	   *id = palloc(sizeof(int64));

			*id = msg->message_id;
			done = lappend(done, id);
			(*delivered)++;
			continue;
		}

		(*failed)++;
		stats_count_target(target->rule_id, target->target_id, STATS_FAILED_INVOCATIONS, 1);
		if (is_permanent_error(edata->sqlerrcode))
			dead_letter(target, msg, now, unpack_sql_state(edata->sqlerrcode),
						edata->message, NULL, msg->attempts);
		else if (msg->attempts + 1 > target->max_retry_attempts)
			dead_letter(target, msg, now, unpack_sql_state(edata->sqlerrcode),
						edata->message, "MaximumRetryAttempts", msg->attempts);
		else if (age_ms > (int64) target->max_event_age * 1000)
			dead_letter(target, msg, now, unpack_sql_state(edata->sqlerrcode),
						edata->message, "MaximumEventAgeInSeconds", msg->attempts);
		else
			reschedule(target, msg, now, edata);
		FreeErrorData(edata);
	}
	delete_delivered(target, done);
}

/* The earliest time a message of the target becomes visible, or 0. */
static TimestampTz
next_due_of(const PushTarget *target)
{
	bool		isnull;
	Datum		d;

	if (outbox_execute(target->outbox, OUTBOX_NEXT_DUE, 0, NULL, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		return 0;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetTimestampTz(d);
}

/* The context current before begin_work(), current again after end_work(). */
static MemoryContext work_outer_cxt = NULL;

/* A transaction with SPI and a snapshot, as the worker needs. */
static void
begin_work(void)
{
	work_outer_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
end_work(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	/* a commit leaves TopMemoryContext current */
	MemoryContextSwitchTo(work_outer_cxt);
	pgstat_report_stat(false);
}

/*
 * One target's part of a cycle, in a transaction of its own: claim a batch
 * and deliver it, or find when its next message comes due.  Returns how
 * many messages it attempted.
 */
static int
run_target(const PushTarget *target, TimestampTz *next_due, int64 *delivered,
		   int64 *failed)
{
	List	   *messages;
	int			attempted = 0;

	begin_work();
	/* dropped since the targets were read: skip it */
	if (outbox_name(target->outbox) == NULL)
	{
		end_work();
		return 0;
	}
	if (target->shared_outbox)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("outbox %s of target \"%s\" is also the outbox of a queue or another target",
						outbox_name_or_error(target->outbox), target->target_id),
				 errdetail("Each push target has an outbox of its own; the worker does not deliver from a shared one."),
				 errhint("Remove the target and put it again.")));
	messages = claim_messages(target);
	if (messages == NIL)
	{
		TimestampTz due = next_due_of(target);

		if (due != 0 && (*next_due == 0 || due < *next_due))
			*next_due = due;
	}
	else
	{
		attempted = list_length(messages);
		deliver_batch(target, messages, delivered, failed);
	}
	end_work();
	return attempted;
}

/*
 * The push targets, read again only when rules or targets changed (the
 * catalog triggers' invalidations) or after a while (roles, queues).
 */
static List *
current_push_targets(void)
{
	static MemoryContext targets_cxt = NULL;
	static List *targets = NIL;
	static uint64 generation = 0;
	static TimestampTz loaded_at = 0;
	uint64		now_generation = rule_index_catalog_generation();
	TimestampTz now = GetCurrentTimestamp();

	if (targets_cxt != NULL && generation == now_generation &&
		!TimestampDifferenceExceeds(loaded_at, now, 10000))
		return targets;

	if (targets_cxt == NULL)
		targets_cxt = AllocSetContextCreate(TopMemoryContext, "eventbus push targets",
											ALLOCSET_SMALL_SIZES);
	MemoryContextReset(targets_cxt);
	targets = NIL;
	generation = 0;				/* stays stale if the load fails */
	targets = load_push_targets(targets_cxt);
	generation = now_generation;
	loaded_at = now;
	return targets;
}

/*
 * One cycle: deliver one batch of each push target, each in a transaction
 * of its own, so that a slow target holds up no other and no transaction
 * stays open long.
 */
int
delivery_run_cycle(TimestampTz *next_due, int64 *delivered, int64 *failed)
{
	List	   *targets;
	ListCell   *lc;
	volatile int attempted = 0;

	*next_due = 0;

	begin_work();
	targets = current_push_targets();
	end_work();

	foreach(lc, targets)
	{
		PushTarget *target = lfirst(lc);
		MemoryContext cxt = CurrentMemoryContext;
		int64		target_delivered = 0;
		int64		target_failed = 0;
		volatile bool stop = false;
		char	   *what;

		if (eventbus_worker_stopping)
			break;
		CHECK_FOR_INTERRUPTS();
		what = psprintf("delivery to target \"%s\" of rule \"%s\" on event bus \"%s\"",
						target->target_id, target->rule, target->bus);
		PG_TRY();
		{
			attempted += run_target(target, next_due, &target_delivered, &target_failed);
			/* counted only once committed */
			*delivered += target_delivered;
			*failed += target_failed;
			worker_report_success(target->outbox, what);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			eventbus_worker_invoking = false;
			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			MemoryContextSwitchTo(cxt);
			if (eventbus_worker_stopping)
				stop = true;
			/* DROP EXTENSION committed under the cycle: the worker leaves */
			else if (!worker_extension_installed())
				stop = true;
			else
				worker_report_error(target->outbox, what, edata);
			FreeErrorData(edata);
		}
		PG_END_TRY();
		pfree(what);
		if (stop)
			break;
	}
	return attempted;
}
