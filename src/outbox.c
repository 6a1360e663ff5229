/*-------------------------------------------------------------------------
 *
 * outbox.c
 *	  Statements on outbox tables, prepared once per backend: the INSERT of
 *	  messages (routing, dead-letter queues, redrive), their move to the
 *	  dead letters (receive, delivery, removed targets), the statements
 *	  behind receive() and ack() and the delivery worker's claim; and the
 *	  channel a queue's consumers listen on.
 *
 * Every queue and push target has an outbox table of its own, so these
 * statements cannot be written once in SQL: built as dynamic SQL on every
 * call they were parsed and planned every time.  Here each is prepared
 * once per (outbox, statement) with SPI_keepplan, and PostgreSQL's plan
 * cache replans it when the table changes.  The statements that take a
 * LIMIT have it written in as a constant, one plan per LIMIT, at most
 * OUTBOX_LIMIT_PLANS of them per outbox.
 *
 * The cache lives in its own context, "eventbus outbox plans"; the plans
 * themselves live where SPI_keepplan puts them (under CacheMemoryContext)
 * and are freed with SPI_freeplan when they are evicted or their outbox is
 * gone.  A relcache invalidation of an outbox (invalidation.c) only marks
 * its entry; the next use of the cache checks that the table still exists
 * under the same name and with the same shape, and otherwise frees its
 * plans.
 *
 * Only outbox tables are ever touched: a relation is used only when it is
 * in schema eventbus_outbox (where only eventbus._create_outbox creates
 * tables) with the columns of an outbox, of the right types (checked when
 * its entry is made and after every change of the table): the columns the
 * INSERT of messages writes for that statement (so that a damaged outbox
 * does not stop the routing of other targets' messages), every column for
 * the others.  The functions
 * callable from SQL also require that a queue or a target names it
 * (eventbus.queues / eventbus.targets, which only the API writes), even for
 * a superuser: an OID is not a capability.  Values read from an outbox row
 * may still be NULL; whoever reads them checks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "compat.h"
#include "fifo.h"
#include "invalidation.h"
#include "outbox.h"
#include "outbox_floor.h"
#include "privileges.h"
#include "queue_wait.h"
#include "rule_index.h"
#include "stats.h"

/* A kept plan: one statement (with one LIMIT) of one outbox. */
typedef struct OutboxPlanSlot
{
	SPIPlanPtr	plan;			/* NULL: the slot is free */
	OutboxStatement statement;
	int			limit;
	int			active;			/* executions in progress */
	uint64		last_used;
} OutboxPlanSlot;

/* one slot per statement, OUTBOX_LIMIT_PLANS for the three with a LIMIT */
#define OUTBOX_SLOTS (OUTBOX_NSTATEMENTS - 3 + 3 * OUTBOX_LIMIT_PLANS)
#define OUTBOX_LIMITED(statement) \
	((statement) == OUTBOX_RECEIVE || (statement) == OUTBOX_CLAIM || \
	 (statement) == OUTBOX_RECEIVE_FIFO)

typedef struct OutboxPlans
{
	Oid			outbox;			/* hash key */
	Oid			nspid;			/* the table's schema and name, as prepared */
	NameData	relname;
	bool		stale;			/* a relcache invalidation named the table */
	/* registration in the catalogs, checked at this generation */
	uint64		registered_generation;
	int			full_shape;		/* every column right: 1, no: 0, unknown: -1 */
	int			fifo_shape;		/* the same for the FIFO columns too */
	bool		registered_queue;	/* eventbus.queues names it */
	bool		registered_fifo;	/* ... as a FIFO queue's */
	char	   *fifo_resume;	/* FIFO receive: the group to start after */
	bool		registered_target;	/* eventbus.targets names it */
	OutboxPlanSlot slots[OUTBOX_SLOTS];
} OutboxPlans;

static MemoryContext outbox_cxt = NULL;
static HTAB *outbox_plans = NULL;
static bool outbox_some_stale = false;
static uint64 outbox_use_count = 0;

PG_FUNCTION_INFO_V1(eventbus_receive_pass);
PG_FUNCTION_INFO_V1(eventbus_delete_messages);
PG_FUNCTION_INFO_V1(eventbus_enqueue);
PG_FUNCTION_INFO_V1(eventbus_send);
PG_FUNCTION_INFO_V1(eventbus_dead_letter);
PG_FUNCTION_INFO_V1(eventbus_notify_queue);
PG_FUNCTION_INFO_V1(eventbus_outbox_plans);

/*
 * One pass of receive(), in two statements, each reaching the outbox only
 * through its primary key whatever the statistics say (they are planned
 * and run with sequential scans, bitmap scans, sorts and JIT off: see
 * outbox_execute):
 *
 * receive_pick_sql locks the first visible messages after $3 that no one
 * else holds, in message_id order, and says which were received $2 times
 * already.  Being one table, one ordered index scan and a LIMIT, the only
 * plan left is a walk of the primary key from $3 that stops after LIMIT
 * rows: no plan can read the whole outbox, however few rows an ANALYZE of
 * an empty outbox made the planner expect.
 *   $1 clock, $2 max_receive_count, $3 message ids after this one; the
 *   LIMIT is written in
 */
static const char *receive_pick_sql =
"SELECT o.message_id, o.receive_count >= $2 AS exhausted"
"  FROM %1$s o"
" WHERE o.message_id > $3 AND o.visible_at <= $1"
" ORDER BY o.message_id"
" LIMIT %2$d"
"   FOR UPDATE SKIP LOCKED";

/*
 * receive_take_sql hides and counts the picked messages that were not
 * received too often, and returns them with their payload (the event's
 * envelope, read by key, when the outbox row has none).
 *   $1 clock, $2 visibility timeout, $3 the message ids (locked already)
 */
static const char *receive_take_sql =
"WITH received AS ("
"    UPDATE %1$s o"
"       SET visible_at = $1 + pg_catalog.make_interval(secs => $2),"
"           receive_count = o.receive_count + 1,"
"           first_attempt_at = coalesce(o.first_attempt_at, $1),"
"           last_attempt_at = $1"
"     WHERE o.message_id = ANY ($3)"
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
"       r.receive_count, r.enqueued_at, r.rule, r.target_id"
"  FROM received r"
" ORDER BY r.message_id";

/*
 * The one statement that writes dead letters: the messages $1 leave their
 * outbox for eventbus.dead_letters.  NULL parameters take the message's
 * own values (see DeadLetterReason).
 *   $1 message ids, $2 queue, $3 payload, $4 error code, $5 error message,
 *   $6 exhausted condition, $7 retry attempts, $8 time of a failed
 *   attempt, $9 dead-lettered time, $10-$12 the bus, rule and target id
 *   for a row that lacks them
 * A row with NULLs where an outbox has none (only a damaged outbox has
 * them) still moves: its event id becomes the nil UUID.
 */
static const char *dead_letter_sql =
"WITH m AS (DELETE FROM %s o WHERE o.message_id = ANY ($1) RETURNING o.*)"
" INSERT INTO eventbus.dead_letters"
"        (bus, rule, target_id, queue, message_id, event_id,"
"         event_ingestion_time, payload, error_code, error_message,"
"         exhausted_condition, retry_attempts, first_attempt_at,"
"         last_attempt_at, dead_lettered_at)"
" SELECT coalesce(m.bus, $10, ''), coalesce(m.rule, $11, ''),"
"        coalesce(m.target_id, $12, ''), $2, m.message_id,"
"        coalesce(m.event_id, '00000000-0000-0000-0000-000000000000'),"
"        m.event_ingestion_time, coalesce($3, m.payload), $4, $5,"
"        $6, coalesce($7, m.receive_count, 0), coalesce(m.first_attempt_at, $8),"
"        coalesce($8, m.last_attempt_at), coalesce($9, pg_catalog.now())"
"   FROM m";

/*
 * The claim of receive() from a FIFO queue, in place of receive_pick_sql;
 * what it locks is then hidden and returned by receive_take_sql.  Only the head of a message group (its lowest message_id
 * in the outbox) may be handed out first, and only when it is visible: a
 * hidden head (received and not acknowledged) holds back its whole group.
 * The heads are found by a walk of the index on (message_group_id,
 * message_id), one probe per group, and locked FOR UPDATE SKIP LOCKED: a
 * consumer that holds a head holds its group.  The walk starts after the
 * group $5 (the last one this backend locked in the outbox: round robin,
 * so that no group waits for the others to run dry), wraps around, and
 * stops once it has locked LIMIT heads: it reads the heads of the groups
 * held by other consumers, and not much more.  After a locked head come
 * the visible messages that follow it in its group, in order, up to the
 * first one that is not visible (or received too often); if that one is
 * hidden and was received (in flight: a head given back while later
 * messages of its group are still out), the group is held back whole.
 * The LIMIT counts heads and followers together, in message_id order, so
 * that each group contributes a prefix of its messages.  Messages without
 * a group (written by paths that set none: redrive, DeadLetterConfig) are
 * each a head of their own.
 *   $1 clock, $2 max_receive_count, $3 heads after this message id, $4
 *   the group to start after ('': the first); the LIMIT is written in.
 *   Rows: each message picked and whether it was received too often; then
 *   one row (message_id NULL) with the last group of the walk that was
 *   locked (NULL: none), where the next walk starts, and the last head.
 */
static const char *receive_fifo_sql =
"WITH RECURSIVE after_start AS ("
"    (SELECT o.message_group_id AS g, o.message_id AS head"
"       FROM %1$s o"
"      WHERE o.message_group_id > $4"
"      ORDER BY o.message_group_id, o.message_id"
"      LIMIT 1)"
"  UNION ALL"
"    SELECT n.g, n.head"
"      FROM after_start a CROSS JOIN LATERAL ("
"           SELECT o.message_group_id AS g, o.message_id AS head"
"             FROM %1$s o"
"            WHERE o.message_group_id > a.g"
"            ORDER BY o.message_group_id, o.message_id"
"            LIMIT 1) n"
"), up_to_start AS ("
"    (SELECT o.message_group_id AS g, o.message_id AS head"
"       FROM %1$s o"
"      WHERE o.message_group_id IS NOT NULL AND o.message_group_id <= $4"
"      ORDER BY o.message_group_id, o.message_id"
"      LIMIT 1)"
"  UNION ALL"
"    SELECT n.g, n.head"
"      FROM up_to_start a CROSS JOIN LATERAL ("
"           SELECT o.message_group_id AS g, o.message_id AS head"
"             FROM %1$s o"
"            WHERE o.message_group_id > a.g AND o.message_group_id <= $4"
"            ORDER BY o.message_group_id, o.message_id"
"            LIMIT 1) n"
"), walk AS ("
"    (SELECT u.message_id AS head, 0 AS part FROM %1$s u"
"      WHERE u.message_group_id IS NULL AND u.visible_at <= $1 AND u.message_id > $3"
"      ORDER BY u.message_group_id, u.message_id"
"      LIMIT %2$d)"
"    UNION ALL SELECT a.head, 1 FROM after_start a"
"    UNION ALL SELECT b.head, 2 FROM up_to_start b"
"), heads AS MATERIALIZED ("
"    SELECT l.message_id, l.g, l.exhausted, w.part"
"      FROM walk w CROSS JOIN LATERAL ("
"           SELECT o.message_id, o.message_group_id AS g, o.receive_count >= $2 AS exhausted"
"             FROM %1$s o"
"            WHERE o.message_id = w.head AND o.visible_at <= $1 AND o.message_id > $3"
"              FOR UPDATE SKIP LOCKED) l"
"     LIMIT %2$d"
"), follow AS MATERIALIZED ("
"    SELECT h.message_id AS head, n.message_id, n.visible_at <= $1 AS visible, n.receive_count"
"      FROM heads h CROSS JOIN LATERAL ("
"           SELECT o.message_id, o.visible_at, o.receive_count"
"             FROM %1$s o"
"            WHERE o.message_group_id = h.g AND o.message_id > h.message_id"
"            ORDER BY o.message_group_id, o.message_id"
"            LIMIT %2$d) n"
"     WHERE h.g IS NOT NULL AND NOT h.exhausted"
"), cut AS MATERIALIZED ("
"    SELECT DISTINCT ON (f.head) f.head, f.message_id AS stop,"
"           NOT f.visible AND f.receive_count > 0 AS blocks"
"      FROM follow f"
"     WHERE NOT f.visible OR f.receive_count >= $2"
"     ORDER BY f.head, f.message_id"
"), picked AS MATERIALIZED ("
"    SELECT c.message_id, c.exhausted FROM ("
"        SELECT h.message_id, h.exhausted FROM heads h"
"         WHERE NOT EXISTS (SELECT FROM cut WHERE cut.head = h.message_id AND cut.blocks)"
"        UNION ALL"
"        SELECT f.message_id, false FROM follow f"
"         WHERE NOT EXISTS (SELECT FROM cut WHERE cut.head = f.head"
"                              AND (cut.blocks OR f.message_id >= cut.stop))"
"    ) c"
"     ORDER BY c.message_id"
"     LIMIT %2$d"
")"
"SELECT p.message_id, p.exhausted, NULL::text AS resume, NULL::bigint AS last_head"
"  FROM picked p"
" UNION ALL "
"SELECT NULL, NULL,"
"       (SELECT h.g FROM heads h WHERE h.g IS NOT NULL ORDER BY h.part DESC, h.g DESC LIMIT 1),"
"       (SELECT max(h.message_id) FROM heads h)"
" ORDER BY 1 NULLS LAST";

/*
 * The write of messages with a message group id and a deduplication id
 * (FIFO queues' routing, send_message): the first message of a
 * deduplication id claims it in eventbus.deduplication for the window,
 * taking over an expired claim; a message whose id is claimed (or comes
 * again later in the batch) is not written.  A concurrent writer of the
 * same id waits on the unique index for the first one's transaction: it
 * writes nothing if that one commits, and its message if it aborts.
 *   $1-$6 as OUTBOX_INSERT, $7 group ids, $8 deduplication ids (NULL:
 *   none), $9 window (seconds; 0: no deduplication at all), $10 delay
 *   (seconds; NULL: the queue's);
 *   the outbox's OID is written in
 */
static const char *send_sql =
"WITH m AS MATERIALIZED ("
"    SELECT u.*, pg_catalog.row_number() OVER (PARTITION BY u.dedup ORDER BY u.ord) AS nth"
"      FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) WITH ORDINALITY"
"           AS u(event_id, event_ingestion_time, bus, rule, target_id, payload, grp, dedup, ord)"
"), kept AS ("
"    INSERT INTO eventbus.deduplication AS d (outbox, deduplication_id, expires_at)"
"    SELECT %2$u, m.dedup, pg_catalog.now() + pg_catalog.make_interval(secs => $9)"
"      FROM m WHERE m.dedup IS NOT NULL AND m.nth = 1 AND $9 > 0"
"    ON CONFLICT (outbox, deduplication_id) DO UPDATE SET expires_at = excluded.expires_at"
"     WHERE d.expires_at <= pg_catalog.now()"
"    RETURNING d.deduplication_id"
")"
"INSERT INTO %1$s (event_id, event_ingestion_time, bus, rule, target_id, payload,"
"                  message_group_id, deduplication_id, visible_at)"
"SELECT m.event_id, m.event_ingestion_time, m.bus, m.rule, m.target_id, m.payload,"
"       m.grp, m.dedup,"
"       pg_catalog.now() + pg_catalog.make_interval(secs => coalesce($10,"
"           (SELECT q.delay_seconds FROM eventbus.queues q WHERE q.outbox = %2$u::pg_catalog.regclass), 0))"
"  FROM m"
" WHERE m.dedup IS NULL OR $9 = 0"
"    OR (m.nth = 1 AND m.dedup IN (SELECT k.deduplication_id FROM kept k))"
" ORDER BY m.ord"
" RETURNING message_id, deduplication_id";

static const Oid outbox_column_types[OUTBOX_NCOLS] = {
	UUIDOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID
};

/* Every column of an outbox table (eventbus._create_outbox), by name. */
static const struct
{
	const char *name;
	Oid			type;
}			outbox_shape[] =
{
	{"message_id", INT8OID},
	{"event_id", UUIDOID},
	{"event_ingestion_time", TIMESTAMPTZOID},
	{"bus", TEXTOID},
	{"rule", TEXTOID},
	{"target_id", TEXTOID},
	{"payload", JSONBOID},
	{"enqueued_at", TIMESTAMPTZOID},
	{"visible_at", TIMESTAMPTZOID},
	{"receive_count", INT4OID},
	{"first_attempt_at", TIMESTAMPTZOID},
	{"last_attempt_at", TIMESTAMPTZOID},
	{"last_error_code", TEXTOID},
	{"last_error_message", TEXTOID},
	{"message_group_id", TEXTOID},
	{"deduplication_id", TEXTOID}
};

/*
 * outbox_shape[1 .. OUTBOX_NCOLS]: the columns the INSERT of messages
 * writes; the first OUTBOX_SHAPE_FULL: those every other statement uses;
 * all: the FIFO statements' (message_group_id, deduplication_id came in
 * 0.4.0: a database not yet updated still routes and delivers).
 */
#define OUTBOX_SHAPE_INSERT (OUTBOX_NCOLS + 1)
#define OUTBOX_SHAPE_FULL 14
#define OUTBOX_SHAPE_FIFO ((int) lengthof(outbox_shape))

/*
 * Why relation relid cannot be used as an outbox table (NULL: it can):
 * it must be a plain table in schema eventbus_outbox with the first ncols
 * columns of outbox_shape, of the right types.  *sqlstate is 42501 for a
 * relation that is no outbox at all, 22023 for an outbox of the wrong
 * shape.
 */
static char *
outbox_shape_problem(Oid relid, int ncols, int *sqlstate)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class rel;
	Oid			nsp = get_namespace_oid("eventbus_outbox", true);
	char	   *problem = NULL;

	*sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
	if (!HeapTupleIsValid(tup))
		return psprintf("relation %u does not exist", relid);
	rel = (Form_pg_class) GETSTRUCT(tup);
	if (!OidIsValid(nsp) || rel->relnamespace != nsp)
		problem = psprintf("it is not in schema eventbus_outbox");
	else if (rel->relkind != RELKIND_RELATION)
		problem = psprintf("it is not a plain table");
	ReleaseSysCache(tup);
	if (problem != NULL)
		return problem;

	*sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
	for (int i = 0; i < ncols; i++)
	{
		HeapTuple	att = SearchSysCacheAttName(relid, outbox_shape[i].name);
		Oid			type;

		if (!HeapTupleIsValid(att))
			return psprintf("it has no column %s", outbox_shape[i].name);
		type = ((Form_pg_attribute) GETSTRUCT(att))->atttypid;
		ReleaseSysCache(att);
		if (type != outbox_shape[i].type)
			return psprintf("its column %s is of type %s, not %s", outbox_shape[i].name,
							format_type_be(type), format_type_be(outbox_shape[i].type));
	}
	return NULL;
}

static OutboxPlans *outbox_entry(Oid outbox);

static void
outbox_require_shape(Oid relid, int ncols)
{
	int			sqlstate;
	char	   *problem = outbox_shape_problem(relid, ncols, &sqlstate);
	char	   *name;

	if (problem == NULL)
		return;
	name = get_rel_name(relid);
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("outbox table with OID %u does not exist", relid),
				 errdetail("A queue or target refers to an outbox table that was dropped."),
				 errhint("Remove the target and put it again.")));
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("relation %s is not an eventbus outbox table",
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name)),
			 errdetail("eventbus uses only the outbox tables it made; this one cannot be used: %s.", problem),
			 errhint("Outbox tables are made by create_queue and put_targets; do not change them.")));
}

static SPIPlanPtr
prepare_statement(Oid outbox, OutboxStatement statement, int limit)
{
	char	   *relname = get_rel_name(outbox);
	char	   *nspname;
	char	   *table;
	char	   *sql;
	Oid			argtypes[12];
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
			for (int c = 0; c < OUTBOX_NCOLS; c++)
				argtypes[c] = get_array_type(outbox_column_types[c]);
			nargs = OUTBOX_NCOLS;
			break;
		case OUTBOX_RECEIVE:
			sql = psprintf(receive_pick_sql, table, limit);
			argtypes[0] = TIMESTAMPTZOID;
			argtypes[1] = INT4OID;
			argtypes[2] = INT8OID;
			nargs = 3;
			break;
		case OUTBOX_RECEIVE_TAKE:
			sql = psprintf(receive_take_sql, table);
			argtypes[0] = TIMESTAMPTZOID;
			argtypes[1] = INT4OID;
			argtypes[2] = INT8ARRAYOID;
			nargs = 3;
			break;
		case OUTBOX_DELETE:
			sql = psprintf("DELETE FROM %s WHERE message_id = ANY ($1)", table);
			argtypes[0] = INT8ARRAYOID;
			nargs = 1;
			break;
		case OUTBOX_CLAIM:
			/*
			 * The messages only: the events of those that reference theirs
			 * are read by delivery.c, by key (delivery_events.c).  hops is
			 * the event's, read with it.
			 */
			sql = psprintf("SELECT o.message_id, o.event_id, o.event_ingestion_time,"
						   "       o.payload, o.payload IS NULL, o.receive_count, o.enqueued_at,"
						   "       o.first_attempt_at, 0::smallint"
						   "  FROM %s o"
						   " WHERE o.message_id > $1"
						   "   AND o.visible_at <= pg_catalog.clock_timestamp()"
						   " ORDER BY o.message_id"
						   " LIMIT %d"
						   "   FOR UPDATE OF o SKIP LOCKED", table, limit);
			argtypes[0] = INT8OID;
			nargs = 1;
			break;
		case OUTBOX_NEXT_DUE:
			sql = psprintf("SELECT min(visible_at) FROM %s", table);
			nargs = 0;
			break;
		case OUTBOX_RESCHEDULE:
			sql = psprintf("UPDATE %s SET receive_count = receive_count + 1, visible_at = $2,"
						   " first_attempt_at = coalesce(first_attempt_at, $3), last_attempt_at = $3,"
						   " last_error_code = $4, last_error_message = $5"
						   " WHERE message_id = $1", table);
			argtypes[0] = INT8OID;
			argtypes[1] = TIMESTAMPTZOID;
			argtypes[2] = TIMESTAMPTZOID;
			argtypes[3] = TEXTOID;
			argtypes[4] = TEXTOID;
			nargs = 5;
			break;
		case OUTBOX_DEAD_LETTER:
			sql = psprintf(dead_letter_sql, table);
			argtypes[0] = INT8ARRAYOID;
			argtypes[1] = TEXTOID;
			argtypes[2] = JSONBOID;
			argtypes[3] = TEXTOID;
			argtypes[4] = TEXTOID;
			argtypes[5] = TEXTOID;
			argtypes[6] = INT4OID;
			argtypes[7] = TIMESTAMPTZOID;
			argtypes[8] = TIMESTAMPTZOID;
			argtypes[9] = TEXTOID;
			argtypes[10] = TEXTOID;
			argtypes[11] = TEXTOID;
			nargs = 12;
			break;
		case OUTBOX_RECEIVE_FIFO:
			sql = psprintf(receive_fifo_sql, table, limit);
			argtypes[0] = TIMESTAMPTZOID;
			argtypes[1] = INT4OID;
			argtypes[2] = INT8OID;
			argtypes[3] = TEXTOID;
			nargs = 4;
			break;
		case OUTBOX_SEND:
			sql = psprintf(send_sql, table, outbox);
			for (int c = 0; c < OUTBOX_NCOLS; c++)
				argtypes[c] = get_array_type(outbox_column_types[c]);
			argtypes[6] = TEXTARRAYOID;
			argtypes[7] = TEXTARRAYOID;
			argtypes[8] = INT4OID;
			argtypes[9] = INT4OID;
			nargs = 10;
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
	return plan;
}

/* invalidation.c: a relcache invalidation (InvalidOid: of every relation) */
void
outbox_relation_changed(Oid relid)
{
	OutboxPlans *entry;

	if (outbox_plans == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(outbox_plans, &relid, HASH_FIND, NULL);
		if (entry != NULL)
		{
			entry->stale = true;
			outbox_some_stale = true;
		}
	}
	else
	{
		HASH_SEQ_STATUS seq;

		hash_seq_init(&seq, outbox_plans);
		while ((entry = hash_seq_search(&seq)) != NULL)
			entry->stale = true;
		outbox_some_stale = true;
	}
}

/* Is the outbox still the table the entry's plans were prepared for? */
static bool
outbox_unchanged(OutboxPlans *entry)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(entry->outbox));
	bool		same;

	if (!HeapTupleIsValid(tup))
		return false;
	same = ((Form_pg_class) GETSTRUCT(tup))->relnamespace == entry->nspid &&
		namestrcmp(&((Form_pg_class) GETSTRUCT(tup))->relname,
				   NameStr(entry->relname)) == 0;
	ReleaseSysCache(tup);
	return same;
}

/*
 * Forget the plans of outboxes that are gone (or renamed, or whose OID now
 * names another table, or altered out of an outbox's shape).  A plan still executing cannot be one of them: a
 * table in use by this session cannot be dropped.
 */
static void
outbox_sweep(void)
{
	HASH_SEQ_STATUS seq;
	OutboxPlans *entry;
	int			sqlstate;

	outbox_some_stale = false;
	hash_seq_init(&seq, outbox_plans);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		bool		busy = false;

		if (!entry->stale)
			continue;
		entry->stale = false;
		if (outbox_unchanged(entry) &&
			outbox_shape_problem(entry->outbox, OUTBOX_SHAPE_INSERT, &sqlstate) == NULL)
		{
			entry->full_shape = -1; /* checked again before its next use */
			entry->fifo_shape = -1;
			continue;
		}
		for (int i = 0; i < OUTBOX_SLOTS; i++)
			busy |= entry->slots[i].active > 0;
		if (busy)
		{
			/* not while it runs: next time */
			entry->stale = true;
			outbox_some_stale = true;
			continue;
		}
		for (int i = 0; i < OUTBOX_SLOTS; i++)
			if (entry->slots[i].plan != NULL)
				SPI_freeplan(entry->slots[i].plan);
		if (entry->fifo_resume)
			pfree(entry->fifo_resume);
		hash_search(outbox_plans, &entry->outbox, HASH_REMOVE, NULL);
	}
}

static OutboxPlans *
outbox_entry(Oid outbox)
{
	OutboxPlans *entry;
	bool		found;

	if (outbox_plans == NULL)
	{
		HASHCTL		ctl;

		eventbus_watch_relcache();
		outbox_cxt = AllocSetContextCreate(TopMemoryContext, "eventbus outbox plans",
										   ALLOCSET_SMALL_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(OutboxPlans);
		ctl.hcxt = outbox_cxt;
		outbox_plans = hash_create("eventbus outbox plans", 32, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	if (outbox_some_stale)
		outbox_sweep();

	entry = hash_search(outbox_plans, &outbox, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	outbox_require_shape(outbox, OUTBOX_SHAPE_INSERT);
	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(outbox));
		Form_pg_class rel;

		if (!HeapTupleIsValid(tup))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("outbox table with OID %u does not exist", outbox),
					 errdetail("A queue or target refers to an outbox table that was dropped."),
					 errhint("Remove the target and put it again.")));
		rel = (Form_pg_class) GETSTRUCT(tup);
		entry = hash_search(outbox_plans, &outbox, HASH_ENTER, &found);
		entry->nspid = rel->relnamespace;
		namestrcpy(&entry->relname, NameStr(rel->relname));
		entry->stale = false;
		entry->registered_generation = 0;
		entry->full_shape = -1;
		entry->fifo_shape = -1;
		entry->registered_queue = entry->registered_target = false;
		entry->registered_fifo = false;
		entry->fifo_resume = NULL;
		memset(entry->slots, 0, sizeof(entry->slots));
		ReleaseSysCache(tup);
	}
	return entry;
}

/* What an SQL-callable function needs of its outbox argument. */
typedef enum OutboxUse
{
	OUTBOX_USE_QUEUE,			/* a queue's outbox (receive) */
	OUTBOX_USE_ANY,				/* a queue's or a target's */
	OUTBOX_USE_RETIRING			/* also a push outbox no target names any more */
} OutboxUse;

static SPIPlanPtr registered_plan = NULL;

/* Reads whether eventbus.queues / eventbus.targets name the outbox. */
static void
load_registration(OutboxPlans *entry, uint64 generation)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	Oid			save_userid;
	int			save_sec_context;
	bool		queue = false;
	bool		target = false;
	bool		fifo = false;

	args[0] = ObjectIdGetDatum(entry->outbox);
	/* as the catalogs' owner: callers need no rights on them */
	eventbus_become_catalog_owner(&save_userid, &save_sec_context);
	PG_TRY();
	{
		bool		isnull;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "eventbus: SPI_connect failed");
		if (registered_plan == NULL)
		{
			/* fifo read from the row: the SQL may predate it (before UPDATE) */
			SPIPlanPtr	plan = SPI_prepare("SELECT EXISTS (SELECT FROM eventbus.queues q"
										   "                WHERE q.outbox::pg_catalog.oid = $1),"
										   "       EXISTS (SELECT FROM eventbus.targets t"
										   "                WHERE t.outbox::pg_catalog.oid = $1),"
										   "       coalesce((SELECT (pg_catalog.to_jsonb(q) OPERATOR(pg_catalog.->>) 'fifo')::boolean"
										   "                   FROM eventbus.queues q"
										   "                  WHERE q.outbox::pg_catalog.oid = $1), false)",
										   1, argtypes);

			if (plan == NULL)
				elog(ERROR, "eventbus: could not prepare the outbox lookup: %s",
					 SPI_result_code_string(SPI_result));
			SPI_keepplan(plan);
			registered_plan = plan;
		}
		if (SPI_execute_plan(registered_plan, args, NULL, true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "eventbus: could not look up outbox %u", entry->outbox);
		queue = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		target = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		fifo = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	entry->registered_queue = queue;
	entry->registered_target = target;
	entry->registered_fifo = queue && fifo;
	entry->registered_generation = generation;
}

/*
 * For the functions callable from SQL: 42501 unless outbox is an outbox
 * table that a queue (or, unless use is OUTBOX_USE_QUEUE, a target) names;
 * 22023 if its shape is wrong.  The answer is kept until queues or targets
 * change.  Returns whether it is a FIFO queue's outbox.
 */
static bool
outbox_require_registered(Oid outbox, OutboxUse use)
{
	OutboxPlans *entry = outbox_entry(outbox);	/* checks the shape */
	uint64		generation = rule_index_catalog_generation();
	bool		ok;

	if (entry->registered_generation != generation)
		load_registration(entry, generation);
	ok = entry->registered_queue ||
		(use != OUTBOX_USE_QUEUE && entry->registered_target);
	/* a push target's outbox being retired: its target row is gone already */
	if (!ok && use == OUTBOX_USE_RETIRING &&
		strncmp(NameStr(entry->relname), "push_", 5) == 0)
		ok = true;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("relation %s is not the outbox of any %s",
						quote_qualified_identifier("eventbus_outbox", NameStr(entry->relname)),
						use == OUTBOX_USE_QUEUE ? "queue" : "queue or target"),
				 errdetail("eventbus's internal functions only touch the outbox tables that eventbus.queues and eventbus.targets name."),
				 errhint("Use the API functions (receive, ack, redrive_dead_letters, ...), which find the outbox themselves.")));
	return entry->registered_fifo;
}

/*
 * The slot holding the plan of (statement, limit), prepared now if need
 * be; NULL when every slot it could take is executing (only in a nested
 * call of the same statement with other LIMITs): the caller then uses a
 * plan of its own.
 */
static OutboxPlanSlot *
outbox_slot(OutboxPlans *entry, OutboxStatement statement, int limit)
{
	bool		limited = OUTBOX_LIMITED(statement);
	OutboxPlanSlot *free_slot = NULL;
	OutboxPlanSlot *victim = NULL;
	int			nsame = 0;
	SPIPlanPtr	plan;

	if (!limited)
		limit = 0;
	for (int i = 0; i < OUTBOX_SLOTS; i++)
	{
		OutboxPlanSlot *s = &entry->slots[i];

		if (s->plan == NULL)
		{
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (s->statement != statement)
			continue;
		if (s->limit == limit)
		{
			s->last_used = ++outbox_use_count;
			return s;
		}
		nsame++;
		if (s->active == 0 && (victim == NULL || s->last_used < victim->last_used))
			victim = s;
	}
	if (limited && nsame >= OUTBOX_LIMIT_PLANS)
	{
		if (victim == NULL)
			return NULL;
		free_slot = victim;
	}
	Assert(free_slot != NULL);

	plan = prepare_statement(entry->outbox, statement, limit);
	SPI_keepplan(plan);
	if (free_slot->plan != NULL)
		SPI_freeplan(free_slot->plan);
	free_slot->plan = plan;
	free_slot->statement = statement;
	free_slot->limit = limit;
	free_slot->active = 0;
	free_slot->last_used = ++outbox_use_count;
	return free_slot;
}

static int	outbox_execute_plan(Oid outbox, OutboxStatement statement, int limit,
								Datum *args, const char *nulls, bool read_only,
								long tcount);

/*
 * The statements that find messages by message_id (receive's, the claim,
 * delete, reschedule, dead letter) are planned and run with sequential
 * scans, bitmap scans, sorts and JIT off, for that statement only:
 * they touch a few messages, found by the primary key in message_id
 * order, which index scans do whatever the statistics say (an outbox
 * analyzed while nearly empty and full of dead rows since).
 * Returns the GUC nest level to pass to AtEOXact_GUC (an error unwinds it
 * with the transaction).
 */
int
outbox_ordered_scan_settings(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_sort", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * A sort left in the plan (of a few returned rows) costs what disabled
	 * paths cost, which is far above jit_above_cost: compiling the
	 * statement would take a thousand times longer than running it.
	 */
	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

int
outbox_execute(Oid outbox, OutboxStatement statement, int limit, Datum *args,
			   const char *nulls, bool read_only, long tcount)
{
	int			nestlevel;
	int			rc;

	/*
	 * Every statement that finds messages by message_id: receive's two, the
	 * claim, delete, reschedule, dead letter.  Not the FIFO receive: its
	 * sorts of a few rows would count as disabled, and a plan that costly
	 * is compiled by JIT on every call; it reaches every row by key (LIMIT 1
	 * probes of the group index, the primary key for the heads) whatever
	 * the statistics say.  Nor the write with deduplication (an INSERT).
	 */
	if (statement == OUTBOX_INSERT || statement == OUTBOX_NEXT_DUE ||
		statement == OUTBOX_RECEIVE_FIFO || statement == OUTBOX_SEND)
		return outbox_execute_plan(outbox, statement, limit, args, nulls, read_only, tcount);
	nestlevel = outbox_ordered_scan_settings();
	rc = outbox_execute_plan(outbox, statement, limit, args, nulls, read_only, tcount);
	AtEOXact_GUC(true, nestlevel);
	return rc;
}

static int
outbox_execute_plan(Oid outbox, OutboxStatement statement, int limit, Datum *args,
					const char *nulls, bool read_only, long tcount)
{
	OutboxPlans *entry = outbox_entry(outbox);
	OutboxPlanSlot *slot;
	volatile int rc = 0;

	if ((statement == OUTBOX_RECEIVE_FIFO || statement == OUTBOX_SEND) && entry->fifo_shape != 1)
	{
		entry->fifo_shape = 0;
		outbox_require_shape(outbox, OUTBOX_SHAPE_FIFO);
		entry->fifo_shape = 1;
	}
	if (statement != OUTBOX_INSERT && entry->full_shape != 1)
	{
		entry->full_shape = 0;
		outbox_require_shape(outbox, OUTBOX_SHAPE_FULL);
		entry->full_shape = 1;
	}
	slot = outbox_slot(entry, statement, limit);

	if (slot == NULL)
	{
		SPIPlanPtr	plan = prepare_statement(outbox, statement, limit);

		rc = SPI_execute_plan(plan, args, nulls, read_only, tcount);
		SPI_freeplan(plan);
		return rc;
	}

	/* a plan that runs is never evicted, even by a nested call */
	slot->active++;
	PG_TRY();
	{
		rc = SPI_execute_plan(slot->plan, args, nulls, read_only, tcount);
	}
	PG_FINALLY();
	{
		slot->active--;
	}
	PG_END_TRY();
	return rc;
}

static Datum
make_array(Datum *values, const bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, (bool *) nulls, 1, dims, lbs,
											  elemtype, typlen, typbyval, typalign));
}

void
outbox_insert(Oid outbox, int n, Datum *const cols[OUTBOX_NCOLS],
			  const bool *payload_nulls)
{
	Datum		args[OUTBOX_NCOLS];
	int			rc;

	for (int c = 0; c < OUTBOX_NCOLS; c++)
		args[c] = make_array(cols[c], c == OUTBOX_NCOLS - 1 ? payload_nulls : NULL,
							 n, outbox_column_types[c]);
	rc = outbox_execute(outbox, OUTBOX_INSERT, 0, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "eventbus: insert into outbox %u failed: %s", outbox,
			 SPI_result_code_string(rc));
}

uint64
outbox_insert_fifo(Oid outbox, int n, Datum *const cols[OUTBOX_NCOLS],
				   const bool *payload_nulls, Datum *groups, const bool *group_nulls,
				   Datum *dedups, const bool *dedup_nulls, int delay_seconds)
{
	Datum		args[OUTBOX_NCOLS + 4];
	char		nulls[OUTBOX_NCOLS + 4];
	int			rc;
	uint64		written;

	memset(nulls, ' ', sizeof(nulls));
	for (int c = 0; c < OUTBOX_NCOLS; c++)
		args[c] = make_array(cols[c], c == OUTBOX_NCOLS - 1 ? payload_nulls : NULL,
							 n, outbox_column_types[c]);
	args[OUTBOX_NCOLS] = make_array(groups, group_nulls, n, TEXTOID);
	args[OUTBOX_NCOLS + 1] = make_array(dedups, dedup_nulls, n, TEXTOID);
	args[OUTBOX_NCOLS + 2] = Int32GetDatum(eventbus_deduplication_window);
	if (delay_seconds >= 0)
		args[OUTBOX_NCOLS + 3] = Int32GetDatum(delay_seconds);
	else
		nulls[OUTBOX_NCOLS + 3] = 'n';
	rc = outbox_execute(outbox, OUTBOX_SEND, 0, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "eventbus: insert into outbox %u failed: %s", outbox,
			 SPI_result_code_string(rc));
	written = SPI_processed;
	/* the cleanup's statement must not take the caller's result away */
	{
		SPITupleTable *result = SPI_tuptable;

		fifo_deduplication_cleanup(written);
		SPI_tuptable = result;
		SPI_processed = written;
	}
	return written;
}

/* A text parameter, or NULL. */
static void
text_arg(Datum *args, char *nulls, int i, const char *s)
{
	if (s != NULL)
		args[i] = CStringGetTextDatum(s);
	else
		nulls[i] = 'n';
}

uint64
outbox_dead_letter(Oid outbox, Datum message_ids, const DeadLetterReason *reason)
{
	Datum		args[12];
	char		nulls[12];
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	args[0] = message_ids;
	text_arg(args, nulls, 1, reason->queue);
	if (reason->payload != NULL)
		args[2] = JsonbPGetDatum(reason->payload);
	else
		nulls[2] = 'n';
	text_arg(args, nulls, 3, reason->error_code);
	text_arg(args, nulls, 4, reason->error_message);
	text_arg(args, nulls, 5, reason->exhausted_condition);
	if (reason->retry_attempts >= 0)
		args[6] = Int32GetDatum(reason->retry_attempts);
	else
		nulls[6] = 'n';
	if (reason->attempt_at != 0)
		args[7] = TimestampTzGetDatum(reason->attempt_at);
	else
		nulls[7] = 'n';
	if (reason->dead_lettered_at != 0)
		args[8] = TimestampTzGetDatum(reason->dead_lettered_at);
	else
		nulls[8] = 'n';
	text_arg(args, nulls, 9, reason->bus);
	text_arg(args, nulls, 10, reason->rule);
	text_arg(args, nulls, 11, reason->target_id);

	rc = outbox_execute(outbox, OUTBOX_DEAD_LETTER, 0, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "eventbus: could not move messages of outbox %u to the dead letters: %s",
			 outbox, SPI_result_code_string(rc));
	return SPI_processed;
}

void
outbox_notify_queue(const char *queue)
{
	char		channel[NAMEDATALEN];

	/* queue names have at most 54 characters: the channel always fits */
	snprintf(channel, sizeof(channel), "eventbus.%s", queue);
	Async_Notify(channel, "");
	/* and long-polling receive()s (queue_wait.c) */
	queue_wait_wake_at_commit(queue, 0);
}

/*
 * The second half of a pass of receive(), for both kinds of queue: hide and
 * return the locked messages (take) that were not received too often, move
 * those that were (exhausted) to the dead letters, and end the result with
 * the row (message_id NULL) that says how many moved and the last id the
 * claim locked (NULL: none).  SPI is connected; finishes it.
 */
static void
receive_take(FunctionCallInfo fcinfo, Oid outbox, Datum *take, int ntake,
			 Datum *exhausted, int nexhausted, int64 last_id, bool locked_any)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		max_receive_count = PG_GETARG_INT32(3);
	Datum		values[9];
	bool		nulls[9];
	int64		moved = 0;
	int			rc;

	if (ntake > 0)
	{
		Datum		take_args[3];
		SPITupleTable *tuptable;

		take_args[0] = PG_GETARG_DATUM(1);	/* clock */
		take_args[1] = PG_GETARG_DATUM(4);	/* visibility timeout */
		take_args[2] = PointerGetDatum(construct_array(take, ntake, INT8OID, sizeof(int64),
													   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		rc = outbox_execute(outbox, OUTBOX_RECEIVE_TAKE, 0, take_args, NULL, false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "eventbus: receive failed: %s", SPI_result_code_string(rc));
		tuptable = SPI_tuptable;
		/* the statement's columns are the result's, whatever the table holds */
		if (tuptable->tupdesc->natts != rsinfo->setDesc->natts - 2)
			elog(ERROR, "eventbus: receive from outbox %u returned an unexpected result", outbox);
		for (int c = 0; c < tuptable->tupdesc->natts; c++)
			if (TupleDescAttr(tuptable->tupdesc, c)->atttypid !=
				TupleDescAttr(rsinfo->setDesc, c)->atttypid)
				elog(ERROR, "eventbus: receive from outbox %u returned column %d of type %s, not %s",
					 outbox, c + 1, format_type_be(TupleDescAttr(tuptable->tupdesc, c)->atttypid),
					 format_type_be(TupleDescAttr(rsinfo->setDesc, c)->atttypid));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			CHECK_FOR_INTERRUPTS();
			heap_deform_tuple(tuptable->vals[i], tuptable->tupdesc, values, nulls);
			nulls[7] = nulls[8] = true;
			/* tuplestore_putvalues copies the values into the result */
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}

	/* the messages received too often go to the dead letters */
	if (nexhausted > 0)
	{
		DeadLetterReason reason = {0};

		reason.queue = text_to_cstring(PG_GETARG_TEXT_PP(5));
		reason.error_code = "MaxReceiveCountExceeded";
		reason.error_message =
			psprintf("The message was received max_receive_count (%d) times without being acknowledged.",
					 max_receive_count);
		reason.exhausted_condition = "MaximumReceiveCount";
		reason.retry_attempts = -1;
		reason.dead_lettered_at = PG_GETARG_TIMESTAMPTZ(1);
		moved = (int64) outbox_dead_letter(outbox,
										   PointerGetDatum(construct_array(exhausted, nexhausted, INT8OID,
																		   sizeof(int64), FLOAT8PASSBYVAL,
																		   TYPALIGN_DOUBLE)),
										   &reason);
	}

	/* the last row: how many moved, and the last id locked (NULL: none) */
	for (int c = 0; c < rsinfo->setDesc->natts; c++)
		nulls[c] = true;
	values[7] = Int64GetDatum(moved);
	nulls[7] = false;
	values[8] = Int64GetDatum(last_id);
	nulls[8] = !locked_any;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	SPI_finish();
}

/*
 * One pass of receive() from a FIFO queue's outbox (eventbus_receive_pass
 * for a FIFO queue): receive_fifo_sql locks the group heads and picks
 * them with their followers, then receive_take as for a standard queue.
 * Its heads are found through the group index, not from the scan floor.
 */
static Datum
receive_fifo_pass(FunctionCallInfo fcinfo)
{
	Oid			outbox = PG_GETARG_OID(0);
	OutboxPlans *entry = outbox_entry(outbox);
	Datum		args[4];
	int			rc;
	SPITupleTable *tuptable;
	uint64		nrows;
	Datum	   *take;
	Datum	   *exhausted;
	int			ntake = 0;
	int			nexhausted = 0;
	int64		last_head = 0;
	bool		locked_any = false;

	InitMaterializedSRF(fcinfo, 0);
	args[0] = PG_GETARG_DATUM(1);	/* clock */
	args[1] = PG_GETARG_DATUM(3);	/* max_receive_count */
	args[2] = PG_GETARG_DATUM(6);	/* after */
	args[3] = CStringGetTextDatum(entry->fifo_resume ? entry->fifo_resume : "");
	if (PG_GETARG_INT32(2) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("how_many must be at least 1, not %d", PG_GETARG_INT32(2)),
				 errdetail("eventbus._receive_pass reads up to how_many messages."),
				 errhint("Use eventbus.receive().")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	rc = outbox_execute(outbox, OUTBOX_RECEIVE_FIFO, PG_GETARG_INT32(2), args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "eventbus: receive failed: %s", SPI_result_code_string(rc));
	tuptable = SPI_tuptable;
	nrows = SPI_processed;
	if (nrows == 0 || tuptable->tupdesc->natts != 4 ||
		TupleDescAttr(tuptable->tupdesc, 0)->atttypid != INT8OID ||
		TupleDescAttr(tuptable->tupdesc, 1)->atttypid != BOOLOID ||
		TupleDescAttr(tuptable->tupdesc, 2)->atttypid != TEXTOID ||
		TupleDescAttr(tuptable->tupdesc, 3)->atttypid != INT8OID)
		elog(ERROR, "eventbus: receive from outbox %u returned an unexpected result", outbox);

	take = palloc(sizeof(Datum) * nrows);
	exhausted = palloc(sizeof(Datum) * nrows);
	/* every row but the last: a picked message */
	for (uint64 i = 0; i + 1 < nrows; i++)
	{
		bool		isnull;
		Datum		id = SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 1, &isnull);

		if (DatumGetBool(SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 2, &isnull)))
			exhausted[nexhausted++] = id;
		else
			take[ntake++] = id;
	}
	/* the last row: where the next walk starts (after the last group locked), the last head */
	{
		HeapTuple	last = tuptable->vals[nrows - 1];
		bool		isnull;
		Datum		d = SPI_getbinval(last, tuptable->tupdesc, 3, &isnull);

		if (!isnull)
		{
			char	   *resume = MemoryContextStrdup(outbox_cxt, TextDatumGetCString(d));

			if (entry->fifo_resume)
				pfree(entry->fifo_resume);
			entry->fifo_resume = resume;
		}
		d = SPI_getbinval(last, tuptable->tupdesc, 4, &isnull);
		if (!isnull)
		{
			last_head = DatumGetInt64(d);
			locked_any = true;
		}
	}
	SPI_freetuptable(tuptable);

	receive_take(fcinfo, outbox, take, ntake, exhausted, nexhausted, last_head, locked_any);
	PG_RETURN_VOID();
}

/*
 * eventbus._receive_pass(outbox, clock, how_many, max_receive_count,
 * visibility_timeout, queue, after): one pass of receive(), whose checks
 * and loop stay in SQL.  Its last row (message_id NULL) reports how many
 * messages moved to the dead letters and the last id it locked.
 */
Datum
eventbus_receive_pass(PG_FUNCTION_ARGS)
{
	Oid			outbox = PG_GETARG_OID(0);
	int32		max_receive_count = PG_GETARG_INT32(3);
	Datum		pick_args[3];
	int			rc;
	SPITupleTable *tuptable;
	uint64		nrows;
	int64		last_id = 0;
	Datum	   *take;
	Datum	   *exhausted;
	int			ntake = 0;
	int			nexhausted = 0;

	if (outbox_require_registered(outbox, OUTBOX_USE_QUEUE))
		return receive_fifo_pass(fcinfo);
	InitMaterializedSRF(fcinfo, 0);
	if (PG_GETARG_INT32(2) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("how_many must be at least 1, not %d", PG_GETARG_INT32(2)),
				 errdetail("eventbus._receive_pass reads up to how_many messages."),
				 errhint("Use eventbus.receive().")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");

	/* lock the messages */
	pick_args[0] = PG_GETARG_DATUM(1);	/* clock */
	pick_args[1] = Int32GetDatum(max_receive_count);
	/* after the floor: no message has a lower id */
	pick_args[2] = Int64GetDatum(Max(PG_GETARG_INT64(6), outbox_floor_get(outbox)));
	rc = outbox_execute(outbox, OUTBOX_RECEIVE, PG_GETARG_INT32(2), pick_args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "eventbus: receive failed: %s", SPI_result_code_string(rc));
	tuptable = SPI_tuptable;
	nrows = SPI_processed;
	if (tuptable->tupdesc->natts != 2 ||
		TupleDescAttr(tuptable->tupdesc, 0)->atttypid != INT8OID ||
		TupleDescAttr(tuptable->tupdesc, 1)->atttypid != BOOLOID)
		elog(ERROR, "eventbus: receive from outbox %u returned an unexpected result", outbox);
	take = palloc(sizeof(Datum) * (nrows + 1));
	exhausted = palloc(sizeof(Datum) * (nrows + 1));
	for (uint64 i = 0; i < nrows; i++)
	{
		bool		isnull;
		Datum		id = SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 1, &isnull);

		if (DatumGetBool(SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 2, &isnull)))
			exhausted[nexhausted++] = id;
		else
			take[ntake++] = id;
		last_id = Max(last_id, DatumGetInt64(id));
	}
	SPI_freetuptable(tuptable);

	receive_take(fcinfo, outbox, take, ntake, exhausted, nexhausted, last_id, nrows > 0);
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

	outbox_require_registered(outbox, OUTBOX_USE_ANY);
	args[0] = PG_GETARG_DATUM(1);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	rc = outbox_execute(outbox, OUTBOX_DELETE, 0, args, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "eventbus: ack failed: %s", SPI_result_code_string(rc));
	deleted = SPI_processed;
	SPI_finish();
	PG_RETURN_INT32((int32) deleted);
}

/*
 * eventbus._enqueue(outbox, event_id, event_ingestion_time, bus, rule,
 * target_id, payload): writes one message, as the current user.
 */
Datum
eventbus_enqueue(PG_FUNCTION_ARGS)
{
	Oid			outbox;
	Datum		values[OUTBOX_NCOLS];
	Datum	   *cols[OUTBOX_NCOLS];
	bool		payload_null = PG_ARGISNULL(OUTBOX_NCOLS);

	for (int c = 0; c < OUTBOX_NCOLS; c++)
		if (PG_ARGISNULL(c))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of eventbus._enqueue must not be NULL", c + 1),
					 errdetail("Only the payload of a message may be NULL."),
					 errhint("Pass the outbox, the event's id and ingestion time, and the bus, rule and target.")));
	outbox = PG_GETARG_OID(0);
	outbox_require_registered(outbox, OUTBOX_USE_ANY);
	for (int c = 0; c < OUTBOX_NCOLS; c++)
	{
		values[c] = (c == OUTBOX_NCOLS - 1 && payload_null) ? (Datum) 0 : PG_GETARG_DATUM(c + 1);
		cols[c] = &values[c];
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	outbox_insert(outbox, 1, cols, &payload_null);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * eventbus._send(outbox, queue, payload, message_group_id,
 * deduplication_id, delay_seconds): writes one message with its own
 * payload (send_message, which checked its arguments), counts it and
 * notifies the queue's consumers; returns its message id, or NULL when its
 * deduplication id is within the window.  A sent message has no event:
 * its event_id is a new UUID, its ingestion time the transaction's.
 */
Datum
eventbus_send(PG_FUNCTION_ARGS)
{
	Oid			outbox;
	char	   *queue;
	Datum		values[OUTBOX_NCOLS];
	Datum	   *cols[OUTBOX_NCOLS];
	bool		payload_null = false;
	Datum		group;
	Datum		dedup;
	bool		group_null = PG_ARGISNULL(3);
	bool		dedup_null = PG_ARGISNULL(4);
	int			delay = PG_ARGISNULL(5) ? -1 : PG_GETARG_INT32(5);
	uint64		written;
	Datum		id = (Datum) 0;
	bool		isnull = true;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the outbox, queue and payload of eventbus._send must not be NULL"),
				 errdetail("eventbus._send writes one message with its own payload."),
				 errhint("Use eventbus.send_message().")));
	outbox = PG_GETARG_OID(0);
	queue = text_to_cstring(PG_GETARG_TEXT_PP(1));
	outbox_require_registered(outbox, OUTBOX_USE_QUEUE);
	values[0] = DirectFunctionCall1(gen_random_uuid, (Datum) 0);
	values[1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	values[2] = CStringGetTextDatum("");
	values[3] = CStringGetTextDatum("");
	values[4] = CStringGetTextDatum("");
	values[5] = PG_GETARG_DATUM(2);
	for (int c = 0; c < OUTBOX_NCOLS; c++)
		cols[c] = &values[c];
	group = group_null ? (Datum) 0 : PG_GETARG_DATUM(3);
	dedup = dedup_null ? (Datum) 0 : PG_GETARG_DATUM(4);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	written = outbox_insert_fifo(outbox, 1, cols, &payload_null, &group, &group_null,
								 &dedup, &dedup_null, delay);
	if (written == 1)
	{
		id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		stats_count_queue(queue, STATS_ENQUEUED, 1);
		outbox_notify_queue(queue);
	}
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(id);
}

/*
 * eventbus._dead_letter(outbox, message_ids, error_code, error_message):
 * moves messages of an outbox to the dead letters with their own payload,
 * receive count and attempt times; returns how many.
 */
Datum
eventbus_dead_letter(PG_FUNCTION_ARGS)
{
	DeadLetterReason reason = {0};
	uint64		moved;

	outbox_require_registered(PG_GETARG_OID(0), OUTBOX_USE_RETIRING);
	reason.error_code = text_to_cstring(PG_GETARG_TEXT_PP(2));
	reason.error_message = text_to_cstring(PG_GETARG_TEXT_PP(3));
	reason.retry_attempts = -1;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	moved = outbox_dead_letter(PG_GETARG_OID(0), PG_GETARG_DATUM(1), &reason);
	SPI_finish();
	PG_RETURN_INT64((int64) moved);
}

/* eventbus._notify_queue(queue): NOTIFY its consumers at commit. */
Datum
eventbus_notify_queue(PG_FUNCTION_ARGS)
{
	outbox_notify_queue(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/*
 * eventbus._outbox_plans(): the plans this backend keeps for outbox tables
 * (outbox, statement, limit); for tests and for monitoring memory.
 */
Datum
eventbus_outbox_plans(PG_FUNCTION_ARGS)
{
	static const char *const names[OUTBOX_NSTATEMENTS] = {
		"insert", "receive", "delete", "claim", "next_due", "reschedule", "dead_letter",
		"receive_take", "receive_fifo", "send"
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	OutboxPlans *entry;

	InitMaterializedSRF(fcinfo, 0);
	if (outbox_plans == NULL)
		PG_RETURN_VOID();
	if (outbox_some_stale)
		outbox_sweep();
	hash_seq_init(&seq, outbox_plans);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		for (int i = 0; i < OUTBOX_SLOTS; i++)
		{
			OutboxPlanSlot *s = &entry->slots[i];
			Datum		values[3];
			bool		nulls[3] = {false, false, false};

			if (s->plan == NULL)
				continue;
			values[0] = ObjectIdGetDatum(entry->outbox);
			values[1] = CStringGetTextDatum(names[s->statement]);
			values[2] = Int32GetDatum(s->limit);
			nulls[2] = !OUTBOX_LIMITED(s->statement);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	PG_RETURN_VOID();
}
