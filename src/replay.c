/*-------------------------------------------------------------------------
 *
 * replay.c
 *	  Running replays (StartReplay, src/sql/66_replays.sql) in the first
 *	  delivery worker of each database, and the lookup routing makes of a
 *	  replayed event's replay.
 *
 * replay_step() takes the oldest active replay (STARTING, RUNNING or
 * CANCELLING; FOR UPDATE SKIP LOCKED) and, in one transaction:
 *   - a CANCELLING replay becomes CANCELLED (a cancel waits for the batch
 *     under way, whose row lock it needs, so it takes effect at the next
 *     batch boundary);
 *   - otherwise it re-inserts the next eventbus.replay_batch_size events
 *     of the archive's window into eventbus.events, in archive order
 *     (ingestion_time, id), with their original id and time and the
 *     replay's name in replay_name, and moves the replay's cursor, count
 *     and EventLastReplayedTime in the same transaction: a crash loses the
 *     batch and its cursor together, so every event is replayed once.
 *     The last batch marks it COMPLETED.
 * The events are read and inserted as the replay's owner
 * (SetUserIdAndSecContext), so row-level security and the owner's rights
 * apply; the owner's read_events on the archive's bus and put_events on
 * the destination are checked before each batch, and a replay whose owner
 * lost one, or whose batch fails, ends FAILED with the reason.
 *
 * Finding the next batch: eventbus.events has no index on ingestion_time
 * (only each partition's primary key, (id, ingestion_time)), so the worker
 * reads the keys of the window REPLAY_CHUNK_BATCHES batches at a time, at
 * most REPLAY_MAX_CHUNK (one scan of the window's partitions, which the
 * membership query of the archive filters, sorted with a work_mem of
 * REPLAY_CHUNK_WORK_MEM; 24 bytes a key in the worker's memory); each batch then fetches
 * its events by primary key.  The chunk is tied to the cursor it starts
 * from: when the replay's cursor is not where the chunk expects it (a
 * batch rolled back, another replay ran) the chunk is read again from the
 * cursor.  (Each key is looked up on its own, a nested loop over the
 * keys: the membership conditions make the planner think the window holds
 * a row or two, and left alone it scans the window once per key.)  Each
 * batch applies the archive's membership conditions again: events that
 * an update_archive meanwhile takes out of the archive are not replayed,
 * those it adds are from the next chunk on.
 *
 * The SQL of both queries carries the archive's membership condition in
 * the form src/sql/64_archives.sql documents.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "replay.h"
#include "worker.h"

/* how often an idle worker looks for replays nobody woke it for */
#define REPLAY_IDLE_CHECK_MS 1000
/* keys read at a time, in batches */
#define REPLAY_CHUNK_BATCHES 500
#define REPLAY_MAX_CHUNK 500000
/* for sorting a chunk's keys in memory (its transaction only) */
#define REPLAY_CHUNK_WORK_MEM "64MB"

int			eventbus_replay_batch_size = 1000;

PG_FUNCTION_INFO_V1(eventbus_wake_replay);

/* The keys of the window of the replay being run, a chunk at a time. */
typedef struct KeyChunk
{
	char	   *replay;			/* NULL: no chunk */
	TimestampTz cursor_time;	/* the cursor at position pos */
	pg_uuid_t	cursor_id;
	int			n;
	int			pos;
	bool		last;			/* it reaches the end of the window */
	TimestampTz *times;
	pg_uuid_t  *ids;
} KeyChunk;

static MemoryContext chunk_cxt = NULL;
static KeyChunk chunk;
static bool more_to_do = false;
static TimestampTz last_idle_check = 0;

/* The active replay a step works on (valid until SPI_finish). */
typedef struct ActiveReplay
{
	char	   *name;
	char	   *state;
	Oid			owner;
	char	   *bus;
	char	   *archive;
	bool		has_archive;
	Datum		pattern;		/* jsonb, or 0 */
	TimestampTz created_at;
	int32		retention_days;
	TimestampTz start_time;
	TimestampTz end_time;
	TimestampTz cursor_time;
	pg_uuid_t	cursor_id;
} ActiveReplay;

/* The membership of an event in the archive ($3 .. $7, and $9: the pattern). */
#define MEMBERSHIP_SQL \
	"e.bus = $3" \
	" AND e.ingestion_time >= $4" \
	" AND ($5 = 0 OR e.ingestion_time >= now() - make_interval(days => $5))" \
	" AND e.ingestion_time >= $6 AND e.ingestion_time < $7" \
	" AND e.replay_name IS NULL" \
	" AND NOT (e.source = 'aws.events' AND e.detail_type = 'Scheduled Event')"
#define PATTERN_SQL \
	" AND eventbus.event_envelope(e) OPERATOR(eventbus.=~) $9"

void
replay_define_settings(void)
{
	DefineCustomIntVariable("eventbus.replay_batch_size",
							"Events a replay re-sends per transaction.",
							"The delivery worker running a replay re-sends the archive's events this many at a time, each batch committed with the replay's progress; a cancel takes effect at the next batch.",
							&eventbus_replay_batch_size,
							1000, 1, 100000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
}

/* eventbus._wake_replay(): wake the database's replaying worker at commit. */
Datum
eventbus_wake_replay(PG_FUNCTION_ARGS)
{
	delivery_wake_replay_at_commit();
	PG_RETURN_VOID();
}

static Oid
relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "eventbus: relation %u is gone", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

static Oid
replays_relid(void)
{
	Oid			nsp = get_namespace_oid("eventbus", true);

	return OidIsValid(nsp) ? get_relname_relid("replays", nsp) : InvalidOid;
}

/* ---------------------------------------------------------------------
 * Routing's lookup
 * ---------------------------------------------------------------------
 */
bool
replay_filter_rules(text *replay_name, int *narns, char ***arns)
{
	Oid			relid = replays_relid();
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	Oid			save_userid;
	int			save_sec_context;
	int			ret;
	bool		isnull;
	Datum		d;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	MemoryContext cxt = CurrentMemoryContext;

	*narns = 0;
	*arns = NULL;
	if (!OidIsValid(relid))
		return false;
	values[0] = PointerGetDatum(replay_name);
	/* the catalog is read as its owner: the inserting role may not read it */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(relation_owner(relid),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	ret = SPI_execute_with_args("SELECT r.filter_rules FROM eventbus.replays r WHERE r.name = $1",
								1, argtypes, values, NULL, true, 1);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "eventbus: reading replay filters failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	MemoryContextSwitchTo(cxt);
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	*arns = palloc(sizeof(char *) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			(*arns)[(*narns)++] = TextDatumGetCString(elems[i]);
	return true;
}

/* ---------------------------------------------------------------------
 * The worker's step
 * ---------------------------------------------------------------------
 */
static void
set_final_state(const char *name, const char *state, const char *reason)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			ret;

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(state);
	if (reason)
		values[2] = CStringGetTextDatum(reason);
	else
		nulls[2] = 'n';
	ret = SPI_execute_with_args("UPDATE eventbus.replays"
								"   SET state = $2, state_reason = coalesce($3, state_reason),"
								"       replay_end_time = now()"
								" WHERE name = $1",
								3, argtypes, values, nulls, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "eventbus: updating replay %s failed: %s", name, SPI_result_code_string(ret));
}

static char *
column_cstring(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static Datum
column_datum(int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/* The oldest active replay, locked; false when there is none. */
static bool
pick_replay(ActiveReplay *r)
{
	int			ret;
	bool		isnull;
	Datum		d;

	ret = SPI_execute("SELECT r.name, r.state, r.owner::oid, r.bus, r.archive, a.name IS NOT NULL,"
					  "       a.event_pattern::jsonb, a.created_at, a.retention_days,"
					  "       r.event_start_time, r.event_end_time,"
					  "       r.cursor_ingestion_time, r.cursor_id"
					  "  FROM eventbus.replays r"
					  "  LEFT JOIN eventbus.archives a ON a.name = r.archive"
					  " WHERE r.state IN ('STARTING', 'RUNNING', 'CANCELLING')"
					  " ORDER BY r.replay_start_time, r.name"
					  " LIMIT 1 FOR UPDATE OF r SKIP LOCKED",
					  false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "eventbus: looking for replays failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return false;
	r->name = column_cstring(1);
	r->state = column_cstring(2);
	r->owner = DatumGetObjectId(column_datum(3, &isnull));
	r->bus = column_cstring(4);
	r->archive = column_cstring(5);
	r->has_archive = DatumGetBool(column_datum(6, &isnull));
	d = column_datum(7, &isnull);
	r->pattern = isnull ? (Datum) 0 : datumCopy(d, false, -1);
	r->created_at = DatumGetTimestampTz(column_datum(8, &isnull));
	d = column_datum(9, &isnull);
	r->retention_days = isnull ? 0 : DatumGetInt32(d);
	r->start_time = DatumGetTimestampTz(column_datum(10, &isnull));
	r->end_time = DatumGetTimestampTz(column_datum(11, &isnull));
	r->cursor_time = DatumGetTimestampTz(column_datum(12, &isnull));
	memcpy(&r->cursor_id, DatumGetUUIDP(column_datum(13, &isnull)), sizeof(pg_uuid_t));
	return true;
}

/* Why the owner may not run the replay any more, or NULL. */
static char *
owner_lacks_rights(const ActiveReplay *r)
{
	Oid			argtypes[2] = {TEXTOID, REGROLEOID};
	Datum		values[2];
	int			ret;
	bool		isnull;
	char	   *owner_name;

	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(r->owner)))
		return psprintf("The role that started the replay (OID %u) no longer exists.", r->owner);
	owner_name = GetUserNameFromId(r->owner, false);
	values[0] = CStringGetTextDatum(r->bus);
	values[1] = ObjectIdGetDatum(r->owner);
	ret = SPI_execute_with_args("SELECT eventbus.has_event_bus_privilege($1, 'read_events', $2),"
								"       eventbus.has_event_bus_privilege($1, 'put_events', $2)",
								2, argtypes, values, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "eventbus: checking the rights of replay %s failed", r->name);
	if (!DatumGetBool(column_datum(1, &isnull)))
		return psprintf("Role %s no longer holds privilege read_events on event bus %s.",
						owner_name, r->bus);
	if (!DatumGetBool(column_datum(2, &isnull)))
		return psprintf("Role %s no longer holds privilege put_events on event bus %s.",
						owner_name, r->bus);
	return NULL;
}

/* The membership parameters $3 .. $7 and $9 (the pattern, when there is one). */
static void
membership_args(const ActiveReplay *r, Oid *argtypes, Datum *values)
{
	argtypes[2] = TEXTOID;
	values[2] = CStringGetTextDatum(r->bus);
	argtypes[3] = TIMESTAMPTZOID;
	values[3] = TimestampTzGetDatum(r->created_at);
	argtypes[4] = INT4OID;
	values[4] = Int32GetDatum(r->retention_days);
	argtypes[5] = TIMESTAMPTZOID;
	values[5] = TimestampTzGetDatum(r->start_time);
	argtypes[6] = TIMESTAMPTZOID;
	values[6] = TimestampTzGetDatum(r->end_time);
	argtypes[8] = JSONBOID;
	values[8] = r->pattern;
}

/* Read the next chunk of keys after the replay's cursor (as the owner). */
static void
load_chunk(const ActiveReplay *r)
{
	Oid			argtypes[9];
	Datum		values[9];
	int64		limit = Min((int64) eventbus_replay_batch_size * REPLAY_CHUNK_BATCHES,
							REPLAY_MAX_CHUNK);
	int			ret;
	MemoryContext old;

	if (chunk_cxt == NULL)
		chunk_cxt = AllocSetContextCreate(TopMemoryContext, "eventbus replay keys",
										  ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(chunk_cxt);
	memset(&chunk, 0, sizeof(chunk));

	(void) set_config_option("work_mem", REPLAY_CHUNK_WORK_MEM, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	argtypes[0] = TIMESTAMPTZOID;
	values[0] = TimestampTzGetDatum(r->cursor_time);
	argtypes[1] = UUIDOID;
	values[1] = UUIDPGetDatum(&r->cursor_id);
	membership_args(r, argtypes, values);
	argtypes[7] = INT8OID;
	values[7] = Int64GetDatum(limit);
	ret = SPI_execute_with_args(r->pattern
								? "SELECT e.ingestion_time, e.id FROM eventbus.events e"
								" WHERE (e.ingestion_time, e.id) > ($1, $2) AND " MEMBERSHIP_SQL PATTERN_SQL
								" ORDER BY e.ingestion_time, e.id LIMIT $8"
								: "SELECT e.ingestion_time, e.id FROM eventbus.events e"
								" WHERE (e.ingestion_time, e.id) > ($1, $2) AND " MEMBERSHIP_SQL
								" ORDER BY e.ingestion_time, e.id LIMIT $8",
								r->pattern ? 9 : 8, argtypes, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "eventbus: reading the events of replay %s failed: %s", r->name,
			 SPI_result_code_string(ret));

	old = MemoryContextSwitchTo(chunk_cxt);
	chunk.replay = pstrdup(r->name);
	chunk.cursor_time = r->cursor_time;
	chunk.cursor_id = r->cursor_id;
	chunk.n = (int) SPI_processed;
	chunk.last = (int64) SPI_processed < limit;
	chunk.times = palloc(sizeof(TimestampTz) * Max(chunk.n, 1));
	chunk.ids = palloc(sizeof(pg_uuid_t) * Max(chunk.n, 1));
	for (int i = 0; i < chunk.n; i++)
	{
		bool		isnull;
		HeapTuple	tup = SPI_tuptable->vals[i];

		if (i % 4096 == 0)
			CHECK_FOR_INTERRUPTS();
		chunk.times[i] = DatumGetTimestampTz(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		memcpy(&chunk.ids[i], DatumGetUUIDP(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull)),
			   sizeof(pg_uuid_t));
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
}

static bool
chunk_fits(const ActiveReplay *r)
{
	return chunk.replay != NULL && strcmp(chunk.replay, r->name) == 0 &&
		chunk.cursor_time == r->cursor_time &&
		memcmp(&chunk.cursor_id, &r->cursor_id, sizeof(pg_uuid_t)) == 0 &&
		(chunk.pos < chunk.n || chunk.last);
}

/* Re-send keys [chunk.pos, chunk.pos + k) as the owner; the rows inserted. */
static uint64
send_batch(const ActiveReplay *r, int k)
{
	Oid			argtypes[9];
	Datum		values[9];
	Datum	   *ids = palloc(sizeof(Datum) * k);
	Datum	   *times = palloc(sizeof(Datum) * k);
	int			ret;

	for (int i = 0; i < k; i++)
	{
		ids[i] = UUIDPGetDatum(&chunk.ids[chunk.pos + i]);
		times[i] = TimestampTzGetDatum(chunk.times[chunk.pos + i]);
	}
	argtypes[0] = UUIDARRAYOID;
	values[0] = PointerGetDatum(construct_array(ids, k, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	argtypes[1] = TIMESTAMPTZARRAYOID;
	values[1] = PointerGetDatum(construct_array(times, k, TIMESTAMPTZOID, sizeof(TimestampTz),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	membership_args(r, argtypes, values);
	argtypes[7] = TEXTOID;
	values[7] = CStringGetTextDatum(r->name);
#define INSERT_SQL_HEAD \
	"INSERT INTO eventbus.events (id, bus, \"time\", source, detail_type, account, region," \
	"                             resources, detail, replay_name)" \
	" SELECT e.id, e.bus, e.\"time\", e.source, e.detail_type, e.account, e.region," \
	"        e.resources, e.detail, $8" \
	"   FROM unnest($1::uuid[], $2::timestamptz[]) WITH ORDINALITY AS k(id, ingestion_time, ord)" \
	"  CROSS JOIN LATERAL (SELECT e.* FROM eventbus.events e" \
	"                       WHERE e.id = k.id AND e.ingestion_time = k.ingestion_time AND "
	/* OFFSET 0: a primary-key lookup per key, whatever the estimates */
#define INSERT_SQL_TAIL " OFFSET 0) e ORDER BY k.ord"
	ret = SPI_execute_with_args(r->pattern
								? INSERT_SQL_HEAD MEMBERSHIP_SQL PATTERN_SQL INSERT_SQL_TAIL
								: INSERT_SQL_HEAD MEMBERSHIP_SQL INSERT_SQL_TAIL,
								r->pattern ? 9 : 8, argtypes, values, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "eventbus: re-sending the events of replay %s failed: %s", r->name,
			 SPI_result_code_string(ret));
	return SPI_processed;
}

/*
 * One batch of replay r, as its owner, in a subtransaction: the keys it
 * sends (*k) and the rows it inserted; false with *reason on failure.
 */
static bool
owner_batch(const ActiveReplay *r, int *k, uint64 *inserted, char **reason)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			save_userid;
	int			save_sec_context;
	bool		ok = true;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		SetUserIdAndSecContext(r->owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		if (!chunk_fits(r))
			load_chunk(r);
		*k = Min(eventbus_replay_batch_size, chunk.n - chunk.pos);
		*inserted = (*k > 0) ? send_batch(r, *k) : 0;
		SetUserIdAndSecContext(save_userid, save_sec_context);
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
		/* restores the user id the subtransaction began with */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		SetUserIdAndSecContext(save_userid, save_sec_context);
		/* a shutdown or a cancel is not the replay's failure */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
			ReThrowError(edata);
		*reason = psprintf("The replay failed: %s (SQLSTATE %s)",
						   edata->message ? edata->message : "unknown error",
						   unpack_sql_state(edata->sqlerrcode));
		FreeErrorData(edata);
		chunk.replay = NULL;
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/* One step of the oldest active replay; false when there is none. */
static bool
replay_run_one(void)
{
	ActiveReplay r;
	char	   *reason;
	int			k = 0;
	uint64		inserted = 0;
	bool		completed = false;
	bool		advanced = false;
	TimestampTz new_time = 0;
	pg_uuid_t	new_id;

	/* now(): the replayed events' ingestion_time, the replay's times */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (!OidIsValid(replays_relid()))
	{
		/* a database whose extension is not updated to 0.5.0 yet */
		CommitTransactionCommand();
		return false;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());

	if (!pick_replay(&r))
	{
		PopActiveSnapshot();
		SPI_finish();
		CommitTransactionCommand();
		return false;
	}

	if (strcmp(r.state, "CANCELLING") == 0)
		set_final_state(r.name, "CANCELLED", NULL);
	else if (!r.has_archive)
		set_final_state(r.name, "FAILED",
						psprintf("Archive %s no longer exists.", r.archive));
	else if ((reason = owner_lacks_rights(&r)) != NULL)
		set_final_state(r.name, "FAILED", reason);
	else if (!owner_batch(&r, &k, &inserted, &reason))
		set_final_state(r.name, "FAILED", reason);
	else
	{
		Oid			argtypes[6] = {TEXTOID, TIMESTAMPTZOID, UUIDOID, INT8OID, BOOLOID, BOOLOID};
		Datum		values[6];
		int			ret;

		completed = (chunk.pos + k == chunk.n) && chunk.last;
		advanced = k > 0;
		if (advanced)
		{
			new_time = chunk.times[chunk.pos + k - 1];
			new_id = chunk.ids[chunk.pos + k - 1];
		}
		else
		{
			new_time = r.cursor_time;
			new_id = r.cursor_id;
		}
		values[0] = CStringGetTextDatum(r.name);
		values[1] = TimestampTzGetDatum(new_time);
		values[2] = UUIDPGetDatum(&new_id);
		values[3] = Int64GetDatum((int64) inserted);
		values[4] = BoolGetDatum(completed);
		values[5] = BoolGetDatum(advanced);
		ret = SPI_execute_with_args("UPDATE eventbus.replays"
									"   SET state = CASE WHEN $5 THEN 'COMPLETED' ELSE 'RUNNING' END,"
									"       replay_end_time = CASE WHEN $5 THEN now() END,"
									"       cursor_ingestion_time = $2, cursor_id = $3,"
									"       event_last_replayed_time = CASE WHEN $6 THEN $2"
									"                                  ELSE event_last_replayed_time END,"
									"       replayed_count = replayed_count + $4"
									" WHERE name = $1",
									6, argtypes, values, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "eventbus: updating replay %s failed: %s", r.name,
				 SPI_result_code_string(ret));
	}

	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();

	/* committed: the chunk moves on with the replay's cursor */
	if (advanced && chunk.replay != NULL)
	{
		chunk.pos += k;
		chunk.cursor_time = new_time;
		chunk.cursor_id = new_id;
	}
	if (completed)
		chunk.replay = NULL;
	return true;
}

bool
replay_step(void)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		woken = worker_take_replay_wake();

	if (!woken && !more_to_do &&
		!TimestampDifferenceExceeds(last_idle_check, now, REPLAY_IDLE_CHECK_MS))
		return false;
	last_idle_check = now;
	/* an error leaves it false: the next look is a second away */
	more_to_do = false;
	more_to_do = replay_run_one();
	return more_to_do;
}
