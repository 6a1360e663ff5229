/*-------------------------------------------------------------------------
 *
 * put_events_store.c
 *	  Storing the accepted entries of a PutEvents request.
 *
 * This file owns the check that each entry's bus exists and that the
 * caller may put events on it (privileges.c answers from its cache), and
 * the one multi-row INSERT into eventbus.events that stores the good
 * entries of a request, so that the routing trigger sees the whole batch
 * in one statement.  The INSERT is prepared once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "arn.h"
#include "privileges.h"
#include "put_events.h"

/* Plans prepared once per backend (SPI_keepplan). */
static SPIPlanPtr insert_plan = NULL;

/* Set while the INSERT of put_events runs (see put_events_inserting()). */
static bool inserting = false;

/* One bus of a request, checked once. */
typedef struct CheckedBus
{
	const char *name;
	EventbusAccess access;
} CheckedBus;

/*
 * Marks the entries whose bus does not exist, or on which the caller may
 * not put events, as refused: each distinct bus is checked once, from the
 * session's privilege cache (privileges.c).
 */
static void
check_buses(PutEntry *entries, int n, MemoryContext outcxt)
{
	CheckedBus *checked = palloc(sizeof(CheckedBus) * Max(n, 1));
	int			nchecked = 0;
	Oid			caller = GetUserId();
	char	   *caller_name = NULL;

	for (int i = 0; i < n; i++)
	{
		CheckedBus *c = NULL;
		MemoryContext oldcxt;

		if (!entries[i].ok)
			continue;
		/* requests name few buses, mostly one: look back, most recent first */
		for (int j = nchecked - 1; j >= 0 && c == NULL; j--)
			if (strcmp(checked[j].name, entries[i].bus) == 0)
				c = &checked[j];
		if (c == NULL)
		{
			c = &checked[nchecked++];
			c->name = entries[i].bus;
			c->access = eventbus_check_privilege(EB_OBJECT_BUS, entries[i].bus,
												 EB_PRIV_PUT_EVENTS, caller);
		}
		if (c->access == EB_ACCESS_OK)
			continue;

		oldcxt = MemoryContextSwitchTo(outcxt);
		entries[i].ok = false;
		if (c->access == EB_ACCESS_NOT_FOUND)
		{
			entries[i].error_code = EC_BUS_NOT_FOUND;
			entries[i].error_message = psprintf("Event bus %s does not exist.",
												entries[i].bus);
		}
		else
		{
			/* PutEvents' answer to a caller that its policy does not allow */
			if (caller_name == NULL)
				caller_name = GetUserNameFromId(caller, false);
			entries[i].error_code = EC_ACCESS_DENIED;
			entries[i].error_message =
				psprintf("User: %s is not authorized to perform: events:PutEvents on resource: %s",
						 caller_name, arn_event_bus(entries[i].bus));
		}
		MemoryContextSwitchTo(oldcxt);
	}
	pfree(checked);
}

/* A version 4 (random) UUID, as gen_random_uuid() makes. */
static void
random_uuid(pg_uuid_t *uuid)
{
	if (!pg_strong_random(uuid->data, UUID_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random values")));
	uuid->data[6] = (uuid->data[6] & 0x0f) | 0x40;
	uuid->data[8] = (uuid->data[8] & 0x3f) | 0x80;
}

/*
 * Stores the good entries with one INSERT into eventbus.events, as the
 * caller (row-level security applies, and agrees with check_buses).  Each
 * entry's id is made here: INSERT ... RETURNING would also need the
 * caller to be allowed to read the events back.  Runs inside SPI.
 */
static void
insert_entries(PutEntry *entries, int n)
{
	Datum	   *buses;
	Datum	   *times;
	Datum	   *sources;
	Datum	   *detail_types;
	Datum	   *resources;
	Datum	   *details;
	Datum	   *ids;
	int			nrows = 0;
	Datum		values[7];
	int			ret;

	for (int i = 0; i < n; i++)
		if (entries[i].ok)
			nrows++;
	if (nrows == 0)
		return;

	buses = palloc(sizeof(Datum) * nrows);
	times = palloc(sizeof(Datum) * nrows);
	sources = palloc(sizeof(Datum) * nrows);
	detail_types = palloc(sizeof(Datum) * nrows);
	resources = palloc(sizeof(Datum) * nrows);
	details = palloc(sizeof(Datum) * nrows);
	ids = palloc(sizeof(Datum) * nrows);

	for (int i = 0, r = 0; i < n; i++)
	{
		PutEntry   *e = &entries[i];

		if (!e->ok)
			continue;
		buses[r] = CStringGetTextDatum(e->bus);
		times[r] = TimestampTzGetDatum(e->time);
		sources[r] = PointerGetDatum(e->source);
		detail_types[r] = PointerGetDatum(e->detail_type);
		resources[r] = PointerGetDatum(e->resources);
		details[r] = PointerGetDatum(e->detail);
		random_uuid(&e->id);
		ids[r] = UUIDPGetDatum(&e->id);
		r++;
	}

	if (insert_plan == NULL)
	{
		Oid			argtypes[7] = {TEXTARRAYOID, TIMESTAMPTZARRAYOID,
			TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID, UUIDARRAYOID};
		SPIPlanPtr	plan;

		/*
		 * A generic plan, always: with the arrays known, a custom plan
		 * estimates their true length and so always looks cheaper than the
		 * generic one (100 rows a function), and the plan cache would plan
		 * the statement again at every call.
		 */
		plan = SPI_prepare_cursor("INSERT INTO eventbus.events"
						   " (id, bus, \"time\", source, detail_type, resources, detail)"
						   " SELECT u.id, u.bus, u.t, u.source, u.detail_type,"
						   " CAST(u.resources AS pg_catalog.text[]), u.detail"
						   " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
						   " pg_catalog.unnest($3), pg_catalog.unnest($4),"
						   " pg_catalog.unnest($5), pg_catalog.unnest($6),"
						   " pg_catalog.unnest($7))"
						   " AS u(bus, t, source, detail_type, resources, detail, id)",
						   7, argtypes, CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for the event insert: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		insert_plan = plan;
	}

	values[0] = PointerGetDatum(construct_array(buses, nrows, TEXTOID, -1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(times, nrows, TIMESTAMPTZOID, sizeof(TimestampTz),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_array(sources, nrows, TEXTOID, -1, false, TYPALIGN_INT));
	values[3] = PointerGetDatum(construct_array(detail_types, nrows, TEXTOID, -1, false, TYPALIGN_INT));
	values[4] = PointerGetDatum(construct_array(resources, nrows, TEXTOID, -1, false, TYPALIGN_INT));
	values[5] = PointerGetDatum(construct_array(details, nrows, JSONBOID, -1, false, TYPALIGN_INT));

	values[6] = PointerGetDatum(construct_array(ids, nrows, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));

	inserting = true;
	PG_TRY();
	{
		ret = SPI_execute_plan(insert_plan, values, NULL, false, 0);
	}
	PG_FINALLY();
	{
		inserting = false;
	}
	PG_END_TRY();
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "inserting events failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != (uint64) nrows)
		elog(ERROR, "inserted " UINT64_FORMAT " events instead of %d",
			 SPI_processed, nrows);
}

/*
 * Whether the rows being inserted into eventbus.events come from
 * put_events or put_event, whose entries were already held to
 * eventbus.max_entry_size: the routing trigger does not count them again.
 */
bool
put_events_inserting(void)
{
	return inserting;
}

/* Checks the buses of the good entries, then stores them. */
void
put_events_store(PutEntry *entries, int n, MemoryContext outcxt)
{
	check_buses(entries, n, outcxt);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	insert_entries(entries, n);
	SPI_finish();
}

