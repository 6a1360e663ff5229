/*-------------------------------------------------------------------------
 *
 * outbox.c
 *	  Prepared statements on outbox tables, kept per backend: the INSERT
 *	  that routing writes messages with, and the statements behind
 *	  receive() and ack().
 *
 * Every queue and push target has an outbox table of its own, so these
 * statements cannot be written once in SQL: built as dynamic SQL on every
 * call they were parsed and planned every time.  Here each is prepared
 * once per (outbox, statement) with SPI_keepplan, and PostgreSQL's plan
 * cache replans it when the table changes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "outbox.h"
#include "stats.h"

typedef struct OutboxPlanKey
{
	Oid			outbox;
	OutboxStatement statement;
	int			limit;
} OutboxPlanKey;

typedef struct OutboxPlan
{
	OutboxPlanKey key;
	SPIPlanPtr	plan;
} OutboxPlan;

static HTAB *outbox_plans = NULL;

PG_FUNCTION_INFO_V1(eventbus_receive_pass);
PG_FUNCTION_INFO_V1(eventbus_delete_messages);

/*
 * One pass of receive(): lock the first visible messages after $6 that no
 * one else holds; move those already received max_receive_count times to
 * the dead letters; hide and count the others, and return them with their
 * payload (the event's envelope when the outbox row has none).  A last
 * row, whose message_id is NULL, reports the pass: how many messages
 * moved, and the last message id it locked.  The picked ids are handed on
 * as arrays, so that even a generic plan reaches the rows by index (a join
 * with the CTE was planned as a scan of the whole outbox).
 *   $1 clock, $3 max_receive_count, $4 visibility timeout, $5 queue name,
 *   $6 message ids after this one; the LIMIT is written in ($2 is unused)
 */
static const char *receive_sql =
"WITH picked AS MATERIALIZED ("
"    SELECT o.message_id, o.receive_count >= $3 AS exhausted"
"      FROM %1$s o"
"     WHERE o.visible_at <= $1 AND o.message_id > $6"
"     ORDER BY o.message_id"
"     LIMIT %2$d"
"       FOR UPDATE SKIP LOCKED"
"), moved AS ("
"    DELETE FROM %1$s o"
"     WHERE o.message_id = ANY (ARRAY(SELECT p.message_id FROM picked p WHERE p.exhausted))"
"    RETURNING o.*"
"), dead AS ("
"    INSERT INTO eventbus.dead_letters"
"           (bus, rule, target_id, queue, message_id, event_id,"
"            event_ingestion_time, payload, error_code, error_message,"
"            exhausted_condition, retry_attempts, first_attempt_at,"
"            last_attempt_at, dead_lettered_at)"
"    SELECT m.bus, m.rule, m.target_id, $5, m.message_id, m.event_id,"
"           m.event_ingestion_time, m.payload, 'MaxReceiveCountExceeded',"
"           pg_catalog.format('The message was received %%s times without being acknowledged; the queue''s max_receive_count is %%s.',"
"                  m.receive_count, $3),"
"           'MaximumReceiveCount', m.receive_count, m.first_attempt_at,"
"           m.last_attempt_at, $1"
"      FROM moved m"
"    RETURNING 1"
"), received AS ("
"    UPDATE %1$s o"
"       SET visible_at = $1 + pg_catalog.make_interval(secs => $4),"
"           receive_count = o.receive_count + 1,"
"           first_attempt_at = coalesce(o.first_attempt_at, $1),"
"           last_attempt_at = $1"
"     WHERE o.message_id = ANY (ARRAY(SELECT p.message_id FROM picked p WHERE NOT p.exhausted))"
"    RETURNING o.message_id, o.event_id, o.event_ingestion_time,"
"              o.payload, o.receive_count, o.enqueued_at, o.rule,"
"              o.target_id"
")"
"SELECT r.message_id, r.event_id,"
"       coalesce(r.payload,"
"                (SELECT eventbus.event_envelope(e)"
"                   FROM eventbus.events e"
"                  WHERE e.id = r.event_id"
"                    AND e.ingestion_time = r.event_ingestion_time)) AS payload,"
"       r.receive_count, r.enqueued_at, r.rule, r.target_id,"
"       NULL::bigint AS moved, NULL::bigint AS last_id"
"  FROM received r"
" UNION ALL "
"SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
"       (SELECT count(*) FROM dead),"
"       (SELECT max(p.message_id) FROM picked p)"
" ORDER BY 1 NULLS LAST";

static SPIPlanPtr
prepare_statement(Oid outbox, OutboxStatement statement, int limit)
{
	char	   *relname = get_rel_name(outbox);
	char	   *nspname;
	char	   *table;
	char	   *sql;
	Oid			argtypes[7];
	int			nargs;
	SPIPlanPtr	plan;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("outbox table with OID %u does not exist", outbox),
				 errdetail("A queue or target refers to an outbox table that was dropped."),
				 errhint("Remove the target and put it again.")));
	nspname = get_namespace_name(get_rel_namespace(outbox));
	table = quote_qualified_identifier(nspname, relname);

	switch (statement)
	{
		case OUTBOX_INSERT:
			sql = psprintf("INSERT INTO %s (event_id, event_ingestion_time, bus, rule, target_id, payload) "
						   "SELECT * FROM unnest($1, $2, $3, $4, $5, $6)", table);
			argtypes[0] = get_array_type(UUIDOID);
			argtypes[1] = get_array_type(TIMESTAMPTZOID);
			argtypes[2] = TEXTARRAYOID;
			argtypes[3] = TEXTARRAYOID;
			argtypes[4] = TEXTARRAYOID;
			argtypes[5] = get_array_type(JSONBOID);
			nargs = 6;
			break;
		case OUTBOX_RECEIVE:
			sql = psprintf(receive_sql, table, limit);
			argtypes[0] = TIMESTAMPTZOID;
			argtypes[1] = INT4OID;
			argtypes[2] = INT4OID;
			argtypes[3] = INT4OID;
			argtypes[4] = TEXTOID;
			argtypes[5] = INT8OID;
			nargs = 6;
			break;
		case OUTBOX_DELETE:
			sql = psprintf("DELETE FROM %s WHERE message_id = ANY ($1)", table);
			argtypes[0] = INT8ARRAYOID;
			nargs = 1;
			break;
		case OUTBOX_CLAIM:
			sql = psprintf("SELECT o.message_id, o.event_id, o.event_ingestion_time,"
						   "       coalesce(o.payload, eventbus.event_envelope(e)),"
						   "       o.payload IS NULL, o.receive_count, o.enqueued_at,"
						   "       o.first_attempt_at, coalesce(e.hops, 0)"
						   "  FROM %s o"
						   "  LEFT JOIN eventbus.events e"
						   "         ON e.id = o.event_id AND e.ingestion_time = o.event_ingestion_time"
						   " WHERE o.visible_at <= pg_catalog.clock_timestamp()"
						   " ORDER BY o.message_id"
						   " LIMIT %d"
						   "   FOR UPDATE OF o SKIP LOCKED", table, limit);
			nargs = 0;
			break;
		case OUTBOX_NEXT_DUE:
			sql = psprintf("SELECT min(visible_at) FROM %s", table);
			nargs = 0;
			break;
		default:
			elog(ERROR, "eventbus: unknown outbox statement %d", (int) statement);
	}

	/*
	 * Always the generic plan: its shape does not depend on the values, and
	 * a custom plan would be planned again on every call.
	 */
	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "eventbus: could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	return plan;
}

SPIPlanPtr
outbox_plan(Oid outbox, OutboxStatement statement, int limit)
{
	OutboxPlanKey key;
	OutboxPlan *entry;
	bool		found;

	if (outbox_plans == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(OutboxPlanKey);
		ctl.entrysize = sizeof(OutboxPlan);
		ctl.hcxt = TopMemoryContext;
		outbox_plans = hash_create("eventbus outbox plans", 32, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	memset(&key, 0, sizeof(key));
	key.outbox = outbox;
	key.statement = statement;
	key.limit = limit;
	entry = hash_search(outbox_plans, &key, HASH_ENTER, &found);
	if (!found)
		entry->plan = NULL;
	if (entry->plan == NULL)
		entry->plan = prepare_statement(outbox, statement, limit);
	return entry->plan;
}

/*
 * eventbus._receive_pass(outbox, clock, how_many, max_receive_count,
 * visibility_timeout, queue, after): one pass of receive(), whose checks
 * and loop stay in SQL.
 */
Datum
eventbus_receive_pass(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			outbox = PG_GETARG_OID(0);
	Datum		args[6];
	int			rc;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < 6; i++)
		args[i] = PG_GETARG_DATUM(i + 1);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	rc = SPI_execute_plan(outbox_plan(outbox, OUTBOX_RECEIVE, PG_GETARG_INT32(2)),
						  args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "eventbus: receive failed: %s", SPI_result_code_string(rc));

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[9];
		bool		nulls[9];

		CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
		/* tuplestore_putvalues copies the values into the result */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/* eventbus._delete_messages(outbox, ids): how many were deleted. */
Datum
eventbus_delete_messages(PG_FUNCTION_ARGS)
{
	Oid			outbox = PG_GETARG_OID(0);
	Datum		args[1];
	int			rc;
	uint64		deleted;

	args[0] = PG_GETARG_DATUM(1);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	rc = SPI_execute_plan(outbox_plan(outbox, OUTBOX_DELETE, 0), args, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "eventbus: ack failed: %s", SPI_result_code_string(rc));
	deleted = SPI_processed;
	SPI_finish();
	PG_RETURN_INT32((int32) deleted);
}
