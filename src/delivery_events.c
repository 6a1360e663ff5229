/*-------------------------------------------------------------------------
 *
 * delivery_events.c
 *	  The events of claimed push messages that reference theirs (a message
 *	  without a payload of its own delivers its event's envelope).
 *
 * They are read by key, after the claim: one statement per message for a
 * few (its plan prunes eventbus.events to one partition when it starts, so
 * starting it costs one index scan), one statement for the batch otherwise
 * (a lateral probe per message).  Joining the claim itself with
 * eventbus.events made every claim start a scan of every partition, which
 * was most of the cost of a wake-up for one message.  An event that is not
 * found (its partition was dropped) leaves the message without payload:
 * delivery.c dead-letters it as EventNotFound.  The lookups are not
 * read-only: each takes a snapshot of its own, as new as the claim's (which
 * locked messages committed after the visit began), so the events of the
 * claimed messages are always visible.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "delivery_events.h"
#include "outbox.h"

/* Up to this many messages are read one statement each. */
#define SINGLE_LOOKUPS_MAX 4

static SPIPlanPtr single_plan = NULL;
static SPIPlanPtr batch_plan = NULL;

static SPIPlanPtr
prepare_kept(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

	if (plan == NULL)
		elog(ERROR, "eventbus: could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	return plan;
}

static void
set_event(DeliveryMessage *m, HeapTuple tup, TupleDesc desc, int envcol)
{
	bool		isnull;
	Datum		d;

	d = SPI_getbinval(tup, desc, envcol, &isnull);
	if (isnull)
		return;
	m->payload = DatumGetJsonbPCopy(d);
	d = SPI_getbinval(tup, desc, envcol + 1, &isnull);
	m->hops = isnull ? 0 : DatumGetInt16(d);
}

static void
read_one_by_one(DeliveryMessage **wanted, int n)
{
	if (single_plan == NULL)
	{
		Oid			argtypes[2] = {UUIDOID, TIMESTAMPTZOID};

		single_plan = prepare_kept("SELECT eventbus.event_envelope(e), e.hops"
								   "  FROM eventbus.events e"
								   " WHERE e.id = $1 AND e.ingestion_time = $2",
								   2, argtypes);
	}
	for (int i = 0; i < n; i++)
	{
		Datum		args[2];

		args[0] = UUIDPGetDatum(&wanted[i]->event_id);
		args[1] = TimestampTzGetDatum(wanted[i]->event_ingestion_time);
		if (SPI_execute_plan(single_plan, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "eventbus: could not read the event of message %lld",
				 (long long) wanted[i]->message_id);
		if (SPI_processed == 1)
			set_event(wanted[i], SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
}

static void
read_as_batch(DeliveryMessage **wanted, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum	   *times = palloc(sizeof(Datum) * n);
	Datum		args[2];

	if (batch_plan == NULL)
	{
		Oid			argtypes[2] = {UUIDARRAYOID, TIMESTAMPTZARRAYOID};

		batch_plan = prepare_kept("SELECT k.i, x.envelope, x.hops"
								  "  FROM unnest($1, $2) WITH ORDINALITY AS k(id, t, i)"
								  " CROSS JOIN LATERAL"
								  "       (SELECT eventbus.event_envelope(e) AS envelope, e.hops"
								  "          FROM eventbus.events e"
								  "         WHERE e.id = k.id AND e.ingestion_time = k.t"
								  "        OFFSET 0) x",
								  2, argtypes);
	}
	for (int i = 0; i < n; i++)
	{
		ids[i] = UUIDPGetDatum(&wanted[i]->event_id);
		times[i] = TimestampTzGetDatum(wanted[i]->event_ingestion_time);
	}
	args[0] = PointerGetDatum(construct_array(ids, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	args[1] = PointerGetDatum(construct_array(times, n, TIMESTAMPTZOID, sizeof(TimestampTz),
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (SPI_execute_plan(batch_plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "eventbus: could not read the events of %d messages", n);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		bool		isnull;
		int64		i = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));

		if (!isnull && i >= 1 && i <= n)
			set_event(wanted[i - 1], tup, SPI_tuptable->tupdesc, 2);
	}
}

void
delivery_read_events(DeliveryMessage **messages, int n)
{
	DeliveryMessage **wanted = palloc(sizeof(DeliveryMessage *) * Max(n, 1));
	int			nwanted = 0;
	int			nestlevel;

	for (int i = 0; i < n; i++)
		if (messages[i]->payload == NULL && messages[i]->payload_is_event &&
			messages[i]->invalid == NULL)
			wanted[nwanted++] = messages[i];
	if (nwanted == 0)
		return;
	nestlevel = outbox_ordered_scan_settings();
	if (nwanted <= SINGLE_LOOKUPS_MAX)
		read_one_by_one(wanted, nwanted);
	else
		read_as_batch(wanted, nwanted);
	AtEOXact_GUC(true, nestlevel);
	pfree(wanted);
}
