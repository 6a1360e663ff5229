/*-------------------------------------------------------------------------
 *
 * delivery.c
 *	  A delivery worker's steps: the push targets it knows, which target it
 *	  visits next, and one visit: claim due messages, deliver them through
 *	  the target's kind, and record each outcome (delete, retry with
 *	  backoff, or dead letter), in the visit's transaction.
 *
 * Isolation.  A worker visits only targets that have work: new messages
 * (their flag on the shared board, set by the committing producer) or a
 * retry that has come due.  It takes the target's lease first, so a target
 * is delivered to by one worker at a time, and a slow, failing or huge
 * target holds up only the worker holding it; the other workers of the
 * database serve the other targets, and the launcher starts more workers
 * when all of them are held up (worker.c).  A visit delivers one batch
 * and starts no invocation after eventbus.delivery_target_budget: what is
 * left of the batch stays as it was, and the target is visited again after
 * the others (round robin).
 *
 * Messages are claimed with FOR UPDATE SKIP LOCKED.  A kind that delivers
 * inside the database (function, bus, notify) is invoked message by message,
 * each in a subtransaction: a failing message is rolled back alone, and
 * the others of its batch still commit; a kind that delivers elsewhere
 * (api_destination) gets the whole batch.  A delivered message is deleted
 * in the same transaction as the invocation (a function target's own
 * writes commit or roll back with it); a failed one is rescheduled with
 * exponential backoff and jitter, or moved to eventbus.dead_letters when
 * its retry policy is exhausted or the kind says retrying cannot help.  A
 * crash before commit leaves the messages in their outbox: delivery is at
 * least once.
 *
 * An error outside the invocations (a catalog or outbox in a state the
 * worker cannot use) rolls back that visit only: it is logged once
 * (worker_report_error) and the worker goes on with the other targets.
 * Outboxes are the ones eventbus.targets names, and are used only if they
 * are outbox tables (outbox.c checks their schema and columns) that no
 * queue or other target shares.  A row of an outbox whose values cannot be
 * delivered (NULL where a message has a value) goes to the dead letters
 * with error code InvalidMessage.  A DeadLetterConfig queue receives the
 * failed events only while the target's owner holds send on it.  A worker
 * asked to stop (SIGTERM) stops between two messages.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "delivery.h"
#include "delivery_board.h"
#include "delivery_events.h"
#include "eventbus.h"
#include "outbox.h"
#include "outbox_floor.h"
#include "privileges.h"
#include "rule_index.h"
#include "stats.h"
#include "worker.h"

int			eventbus_delivery_target_budget = 5;

/* A push target as this worker knows it, with its place on the board. */
typedef struct KnownTarget
{
	PushTarget	target;
	BoardEntry *entry;			/* NULL: the board is full, always visited */
	bool		visit_anyway;	/* the database's flag was set: look at it */
	TimestampTz due;			/* next retry, when the board has no entry */
	char	   *prepare_error;	/* prepare failed: skipped until the next load */
	char	   *what;			/* for log lines */
} KnownTarget;

static MemoryContext targets_cxt = NULL;
static KnownTarget *known = NULL;
static int	nknown = 0;
static int	next_visit = 0;		/* round robin */
static uint64 known_generation = 0;
static TimestampTz known_loaded_at = 0;
static BoardEntry *database_entry = NULL;

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

/* Claim up to limit due messages of a target; copies them out of SPI. */
static List *
claim_messages(const PushTarget *target, int limit)
{
	List	   *messages = NIL;
	Datum		floor;

	(void) outbox_name_or_error(target->outbox);
	/* no message has an id at or below the outbox's floor */
	floor = Int64GetDatum(outbox_floor_get(target->outbox));
	if (outbox_execute(target->outbox, OUTBOX_CLAIM, limit,
					   &floor, NULL, false, 0) != SPI_OK_SELECT)
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
	/* the events of the messages that reference theirs */
	if (messages != NIL)
	{
		int			n = list_length(messages);
		DeliveryMessage **array = palloc(sizeof(DeliveryMessage *) * n);
		int			i = 0;
		ListCell   *lc;

		foreach(lc, messages)
			array[i++] = lfirst(lc);
		delivery_read_events(array, n);
	}
	return messages;
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


/* exponential backoff with full jitter over its upper half */
static TimestampTz
retry_time(const DeliveryMessage *msg, TimestampTz now, int64 retry_after_ms)
{
	double		delay_ms;

	delay_ms = (double) eventbus_retry_base_delay * pow(2.0, Min(msg->attempts, 30));
	delay_ms = Min(delay_ms, (double) eventbus_retry_max_delay);
	delay_ms *= 0.5 + 0.5 * EVENTBUS_RANDOM_DOUBLE();
	/* the target asked for a pause (HTTP Retry-After): no sooner */
	if (retry_after_ms > 0 && (double) retry_after_ms > delay_ms)
		delay_ms = (double) Min(retry_after_ms, (int64) eventbus_retry_max_delay);
	return TimestampTzPlusMilliseconds(now, (int64) delay_ms);
}

static void
reschedule(const PushTarget *target, const DeliveryMessage *msg, TimestampTz now,
		   TimestampTz due, const DeliveryResult *result)
{
	Datum		args[5];

	args[0] = Int64GetDatum(msg->message_id);
	args[1] = TimestampTzGetDatum(due);
	args[2] = TimestampTzGetDatum(now);
	args[3] = CStringGetTextDatum(result->error_code);
	args[4] = CStringGetTextDatum(result->error_message ? result->error_message : "");
	(void) outbox_name_or_error(target->outbox);
	if (outbox_execute(target->outbox, OUTBOX_RESCHEDULE, 0, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "eventbus: could not reschedule message %lld", (long long) msg->message_id);
}

/*
 * Invoke a kind's invoke() for one message in a subtransaction; sets the
 * result from the error, if any.
 */
static void
invoke_in_subtransaction(const PushTarget *target, const DeliveryMessage *msg,
						 DeliveryResult *result)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

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
		target->kind->invoke(target, msg);
		eventbus_worker_invoking = false;
		disable_timeout(STATEMENT_TIMEOUT, false);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		result->status = DELIVERY_OK;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		eventbus_worker_invoking = false;
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;

		if (eventbus_worker_stopping && edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			result->status = DELIVERY_NOT_TRIED;	/* the worker stops: not the target's failure */
		else
		{
			result->status = target->kind->classify_error(edata);
			strlcpy(result->error_code, unpack_sql_state(edata->sqlerrcode),
					sizeof(result->error_code));
			result->error_message = pstrdup(edata->message ? edata->message : "");
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
	/* a cancel that SIGTERM asked for and the invocation did not see */
	if (eventbus_worker_stopping)
		QueryCancelPending = false;
}

/* The batch, message by message, for kinds without invoke_batch. */
static void
invoke_each(DeliveryBatch *batch)
{
	for (int i = 0; i < batch->nmessages; i++)
	{
		/* asked to stop, or the budget is spent: the rest stay as they are */
		if (eventbus_worker_stopping)
			break;
		if (i > 0 && GetCurrentTimestamp() >= batch->deadline)
			break;
		CHECK_FOR_INTERRUPTS();
		worker_set_activity(WORKER_INVOKING, NULL,
							batch->target->timeout_ms > 0 ? batch->target->timeout_ms :
							eventbus_function_timeout);
		invoke_in_subtransaction(batch->target, batch->messages[i], &batch->results[i]);
		worker_set_activity(WORKER_DELIVERING, NULL, 0);
	}
}

/* What a visit did. */
typedef struct VisitOutcome
{
	int			attempted;
	int64		delivered;
	int64		failed;
	bool		more;			/* messages may be left: visit again */
	bool		empty;			/* nothing was due */
	TimestampTz next_due;		/* earliest retry scheduled or found, or 0 */
} VisitOutcome;

static void
note_due(VisitOutcome *out, TimestampTz due)
{
	if (due != 0 && (out->next_due == 0 || due < out->next_due))
		out->next_due = due;
}

/*
 * Deliver a claimed batch: messages that cannot or need not be tried go to
 * the dead letters first; the kind delivers the others; then each outcome
 * is recorded.
 */
static void
deliver_batch(const PushTarget *target, List *messages, VisitOutcome *out)
{
	int			n = list_length(messages);
	DeliveryBatch batch;
	DeliveryMessage **tried = palloc(sizeof(DeliveryMessage *) * n);
	List	   *done = NIL;
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	batch.target = (PushTarget *) target;
	batch.nmessages = 0;
	batch.messages = tried;
	/*
	 * The budget bounds the invocations started one after another; a kind
	 * that has a batch in flight at once (its rate limit spreading the
	 * starts) may start them for up to a second.
	 */
	batch.deadline = TimestampTzPlusMilliseconds(now, target->kind->invoke_batch != NULL ?
												 Max(eventbus_delivery_target_budget, 1000) :
												 eventbus_delivery_target_budget);
	batch.not_before = 0;

	foreach(lc, messages)
	{
		DeliveryMessage *msg = lfirst(lc);
		int64		age_ms = (now - msg->event_ingestion_time) / 1000;

		/* a row the outbox should never hold: to the dead letters, untried */
		if (msg->invalid != NULL)
		{
			dead_letter(target, msg, now, "InvalidMessage",
						psprintf("the outbox row cannot be delivered: %s", msg->invalid),
						NULL, 0);
			out->failed++;
			continue;
		}
		/* too old already (e.g. delivery was paused): no attempt, as EventBridge */
		if (age_ms > (int64) target->max_event_age * 1000)
		{
			dead_letter(target, msg, now, "MaximumEventAgeExceeded",
						"the event is older than MaximumEventAgeInSeconds",
						"MaximumEventAgeInSeconds", Max(msg->attempts - 1, 0));
			out->failed++;
			continue;
		}
		/* its partition of eventbus.events was dropped: nothing to deliver */
		if (msg->payload == NULL)
		{
			dead_letter(target, msg, now, "EventNotFound",
						"the event's partition of eventbus.events was dropped before delivery",
						NULL, Max(msg->attempts - 1, 0));
			out->failed++;
			continue;
		}
		tried[batch.nmessages++] = msg;
	}
	out->attempted = n;

	batch.results = palloc0(sizeof(DeliveryResult) * Max(batch.nmessages, 1));
	if (batch.nmessages > 0)
	{
		if (target->kind->invoke_batch != NULL)
		{
			worker_set_activity(WORKER_INVOKING, NULL, -1);
			target->kind->invoke_batch(&batch);
			worker_set_activity(WORKER_DELIVERING, NULL, 0);
		}
		else
			invoke_each(&batch);
	}

	for (int i = 0; i < batch.nmessages; i++)
	{
		DeliveryMessage *msg = tried[i];
		DeliveryResult *result = &batch.results[i];
		int64		age_ms;

		now = GetCurrentTimestamp();
		age_ms = (now - msg->event_ingestion_time) / 1000;
		if (result->status == DELIVERY_NOT_TRIED)
		{
			/* rate-limited: visit again when the kind can start one */
			if (batch.not_before > now)
				note_due(out, batch.not_before);
			else
				out->more = true;
			continue;
		}
		if (msg->attempts == 0)
			stats_record_latency(target->rule_id, target->target_id, now - msg->event_ingestion_time);
		stats_count_target(target->rule_id, target->target_id, STATS_INVOCATIONS, 1);
		if (msg->attempts > 0)
			stats_count_target(target->rule_id, target->target_id, STATS_RETRY_ATTEMPTS, 1);
		if (result->status == DELIVERY_OK)
		{
			int64	   *id = palloc(sizeof(int64));

			*id = msg->message_id;
			done = lappend(done, id);
			out->delivered++;
			continue;
		}

		out->failed++;
		stats_count_target(target->rule_id, target->target_id, STATS_FAILED_INVOCATIONS, 1);
		if (result->status == DELIVERY_PERMANENT)
			dead_letter(target, msg, now, result->error_code, result->error_message,
						NULL, msg->attempts);
		else if (msg->attempts + 1 > target->max_retry_attempts)
			dead_letter(target, msg, now, result->error_code, result->error_message,
						"MaximumRetryAttempts", msg->attempts);
		else if (age_ms > (int64) target->max_event_age * 1000)
			dead_letter(target, msg, now, result->error_code, result->error_message,
						"MaximumEventAgeInSeconds", msg->attempts);
		else
		{
			TimestampTz due = retry_time(msg, now, result->retry_after_ms);

			reschedule(target, msg, now, due, result);
			note_due(out, due);
		}
	}
	delete_delivered(target, done);
	if (eventbus_worker_stopping)
		out->more = true;
}

/*
 * One visit of a target, in a transaction of its own: claim a batch and
 * deliver it, or find when its next message comes due.
 */
static void
visit_target(const PushTarget *target, VisitOutcome *out)
{
	List	   *messages;

	begin_work();
	/* dropped since the targets were read: skip it */
	if (outbox_name(target->outbox) == NULL)
	{
		end_work();
		return;
	}
	if (target->shared_outbox)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("outbox %s of target \"%s\" is also the outbox of a queue or another target",
						outbox_name_or_error(target->outbox), target->target_id),
				 errdetail("Each push target has an outbox of its own; the worker does not deliver from a shared one."),
				 errhint("Remove the target and put it again.")));
	messages = claim_messages(target, eventbus_delivery_batch_size);
	if (messages == NIL)
	{
		out->empty = true;
		note_due(out, next_due_of(target));
	}
	else
	{
		deliver_batch(target, messages, out);
		/* a full batch: more may be waiting */
		if (list_length(messages) >= eventbus_delivery_batch_size)
			out->more = true;
	}
	end_work();
}

/* ---------------------------------------------------------------------
 * The targets this worker knows
 * ---------------------------------------------------------------------
 */

/*
 * Read the push targets (SPI connected), in targets_cxt.  The catalogs may
 * be of an older version until ALTER EXTENSION UPDATE (http_parameters is
 * 0.3.0's): columns added later are read through to_jsonb.  SPI switches back
 * to its own context after each call, so the caller's cannot be relied on.
 */
static List *
read_push_targets(void)
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
		"                     AND (t2.bus, t2.rule, t2.target_id) <> (t.bus, t.rule, t.target_id)),"
		"       t.config, to_jsonb(t) -> 'http_parameters'"
		"  FROM eventbus.targets t"
		"  JOIN eventbus.rules r ON r.bus = t.bus AND r.name = t.rule"
		"  LEFT JOIN eventbus.queues q ON q.name = t.dead_letter_config->>'Queue'"
		" WHERE EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.outbox)"
		" ORDER BY t.outbox";
	List	   *targets = NIL;
	MemoryContext oldcxt;
	SPITupleTable *tuptable;
	uint64		nrows;

	if (SPI_execute(query, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "eventbus: could not read the push targets");
	tuptable = SPI_tuptable;
	nrows = SPI_processed;
	oldcxt = MemoryContextSwitchTo(targets_cxt);
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tup = tuptable->vals[i];
		TupleDesc	desc = tuptable->tupdesc;
		PushTarget *t;
		const TargetKind *kind;
		char	   *kindname = SPI_getvalue(tup, desc, 5);
		bool		isnull;
		Datum		d;

		kind = kindname ? target_kind_by_name(kindname) : NULL;
		/* queues are pulled; a kind this build does not know is not delivered */
		if (kind == NULL || !kind->pushed)
			continue;
		t = palloc0(sizeof(PushTarget));
		t->kind = kind;
		t->rule_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		t->bus = SPI_getvalue(tup, desc, 2);
		t->rule = SPI_getvalue(tup, desc, 3);
		t->target_id = SPI_getvalue(tup, desc, 4);
		t->destination = SPI_getvalue(tup, desc, 6);
		t->outbox = DatumGetObjectId(SPI_getbinval(tup, desc, 7, &isnull));
		t->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 8, &isnull));
		t->max_retry_attempts = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
		t->max_event_age = DatumGetInt32(SPI_getbinval(tup, desc, 10, &isnull));
		d = SPI_getbinval(tup, desc, 11, &isnull);
		t->timeout_ms = isnull ? 0 :
			(int) (DatumGetFloat8(DirectFunctionCall1(numeric_float8, d)) * 1000.0);
		d = SPI_getbinval(tup, desc, 12, &isnull);
		t->dlq_outbox = isnull ? InvalidOid : DatumGetObjectId(d);
		t->dlq_queue = SPI_getvalue(tup, desc, 13);
		d = SPI_getbinval(tup, desc, 14, &isnull);
		t->shared_outbox = !isnull && DatumGetBool(d);
		d = SPI_getbinval(tup, desc, 15, &isnull);
		t->config = isnull ? NULL : DatumGetJsonbPCopy(d);
		d = SPI_getbinval(tup, desc, 16, &isnull);
		t->http_parameters = isnull ? NULL : DatumGetJsonbPCopy(d);
		targets = lappend(targets, t);
	}
	MemoryContextSwitchTo(oldcxt);
	return targets;
}

/* kind->prepare in a subtransaction: an error skips this target only. */
static void
prepare_target(KnownTarget *kt)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	if (kt->target.kind->prepare == NULL)
		return;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		kt->target.state = kt->target.kind->prepare(&kt->target, targets_cxt);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		kt->prepare_error = MemoryContextStrdup(targets_cxt,
												edata->message ? edata->message : "?");
		worker_report_error(kt->target.outbox, kt->what, edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * Load the targets again when rules, targets or privileges changed (the
 * catalog triggers' invalidations) or after a while (roles, queues).
 */
static void
refresh_targets(void)
{
	/* rules, targets, buses, queues, grants: summed (includes the privileges') */
	uint64		generation = rule_index_catalog_generation();
	TimestampTz now = GetCurrentTimestamp();
	List	   *targets;
	ListCell   *lc;
	Oid		   *keep;
	int			i = 0;

	if (targets_cxt != NULL && known_generation == generation &&
		!TimestampDifferenceExceeds(known_loaded_at, now, 10000))
		return;

	if (targets_cxt == NULL)
		targets_cxt = AllocSetContextCreate(TopMemoryContext, "eventbus push targets",
											ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(targets_cxt);
	known = NULL;
	nknown = 0;
	known_generation = 0;		/* stays stale if the load fails */

	begin_work();
	/* in a transaction: the catalogs get known, so only their changes count */
	generation = rule_index_catalog_generation();
	targets = read_push_targets();
	known = MemoryContextAllocZero(targets_cxt, sizeof(KnownTarget) * Max(list_length(targets), 1));
	keep = MemoryContextAlloc(targets_cxt, sizeof(Oid) * Max(list_length(targets), 1));
	foreach(lc, targets)
	{
		KnownTarget *kt = &known[i];

		kt->target = *(PushTarget *) lfirst(lc);
		kt->what = MemoryContextStrdup(targets_cxt,
									   psprintf("delivery to target \"%s\" of rule \"%s\" on event bus \"%s\"",
												kt->target.target_id, kt->target.rule, kt->target.bus));
		kt->entry = board_attach(MyDatabaseId, kt->target.outbox);
		/* the board remembers the others' flags across loads */
		kt->visit_anyway = (kt->entry == NULL);
		prepare_target(kt);
		keep[i] = kt->target.outbox;
		i++;
	}
	end_work();
	nknown = i;
	board_forget(MyDatabaseId, keep, nknown);
	database_entry = board_database(MyDatabaseId);
	if (next_visit >= nknown)
		next_visit = 0;
	known_generation = generation;
	known_loaded_at = now;
}

static void
set_due(KnownTarget *kt, TimestampTz due)
{
	if (kt->entry != NULL)
		board_set_next_due(kt->entry, due);
	else
		kt->due = due;
}

/* Whether a target has work now, and the earliest retry it waits for. */
static bool
has_work(KnownTarget *kt, TimestampTz now, TimestampTz *earliest)
{
	TimestampTz due;

	if (kt->prepare_error != NULL)
		return false;
	if (kt->visit_anyway || (kt->entry != NULL && board_is_pending(kt->entry)))
		return true;
	due = kt->entry != NULL ? board_next_due(kt->entry) : kt->due;
	if (due != 0 && due <= now)
		return true;
	if (due != 0 && (*earliest == 0 || due < *earliest))
		*earliest = due;
	return false;
}

int
delivery_step(int slot, TimestampTz *next_due, int64 *delivered, int64 *failed)
{
	TimestampTz now;
	TimestampTz earliest = 0;

	*next_due = 0;
	{
	/*
	 * A producer enqueued for a target not on the board (new, or the board
	 * is full): load the targets again and look at every one.
	 */
	bool		all = (database_entry != NULL && board_take_pending(database_entry));

	if (all)
		known_loaded_at = 0;

	refresh_targets();
	/* on the board, so that it outlives the next load and any worker may go */
	if (all)
		for (int i = 0; i < nknown; i++)
		{
			if (known[i].entry != NULL)
				board_set_pending(known[i].entry);
			else
				known[i].visit_anyway = true;
		}
	}

	now = GetCurrentTimestamp();
	for (int n = 0; n < nknown; n++)
	{
		int			i = (next_visit + n) % nknown;
		KnownTarget *kt = &known[i];
		VisitOutcome out;
		MemoryContext cxt = CurrentMemoryContext;
		volatile bool ok = false;
		TimestampTz visit_start;

		if (eventbus_worker_stopping)
			break;
		CHECK_FOR_INTERRUPTS();
		if (!has_work(kt, now, &earliest))
			continue;
		/* a slow target must not take the last free worker */
		if (board_is_slow(kt->entry) && !worker_may_take_slow_target())
			continue;
		/* another worker delivers to it: leave it to that one */
		if (!board_try_lease(kt->entry, slot))
			continue;
		worker_set_on_slow(board_is_slow(kt->entry));
		visit_start = GetCurrentTimestamp();

		kt->visit_anyway = false;
		(void) board_take_pending(kt->entry);
		/* others wait too: another worker may take them meanwhile */
		for (int m = 1; m < nknown; m++)
		{
			TimestampTz ignored = 0;

			if (has_work(&known[(i + m) % nknown], now, &ignored))
			{
				worker_wake_peer();
				break;
			}
		}

		memset(&out, 0, sizeof(out));
		worker_set_activity(WORKER_DELIVERING, kt->what, 0);
		PG_TRY();
		{
			visit_target(&kt->target, &out);
			ok = true;
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
			board_release(kt->entry, slot);
			worker_set_activity(WORKER_IDLE, NULL, 0);
			/* the worker stops, or the extension went away: the worker's loop sees it */
			if (!eventbus_worker_stopping && worker_extension_installed())
				worker_report_error(kt->target.outbox, kt->what, edata);
			FreeErrorData(edata);
			/* again in a while, or at a new message */
			set_due(kt, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000));
		}
		PG_END_TRY();
		worker_set_on_slow(false);
		/* slow: it held the worker long; quick again: not slow any more */
		{
			long		secs;
			int			usecs;
			long		ms;

			TimestampDifference(visit_start, GetCurrentTimestamp(), &secs, &usecs);
			ms = secs * 1000 + usecs / 1000;
			if (ms > eventbus_delivery_stall_timeout)
				board_set_slow(kt->entry, true);
			else if (ms < eventbus_delivery_stall_timeout / 2)
				board_set_slow(kt->entry, false);
		}
		if (!ok)
		{
			next_visit = (i + 1) % Max(nknown, 1);
			return 0;
		}

		if (out.empty)
			set_due(kt, out.next_due);
		else if (out.next_due != 0)
		{
			TimestampTz due = kt->entry != NULL ? board_next_due(kt->entry) : kt->due;

			if (due == 0 || out.next_due < due)
				set_due(kt, out.next_due);
		}
		if (out.more)
		{
			if (kt->entry != NULL)
				board_set_pending(kt->entry);
			else
				kt->visit_anyway = true;
		}
		board_release(kt->entry, slot);
		worker_set_activity(WORKER_IDLE, NULL, 0);
		worker_note_progress();
		worker_report_success(kt->target.outbox, kt->what);
		*delivered += out.delivered;
		*failed += out.failed;
		next_visit = (i + 1) % nknown;
		return out.attempted;
	}
	*next_due = earliest;
	return -1;
}

void
delivery_release(int slot)
{
	board_release_all(slot);
}
