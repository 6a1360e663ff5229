/*-------------------------------------------------------------------------
 *
 * put_events_store.c
 *	  Storing the accepted entries of a PutEvents request.
 *
 * This file owns the check that each entry's bus exists and the one
 * multi-row INSERT into eventbus.events that stores the good entries of a
 * request, so that the routing trigger sees the whole batch in one
 * statement.  Both statements are prepared once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "put_events.h"

/* Plans prepared once per backend (SPI_keepplan). */
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr bus_plan = NULL;

/*
 * Marks the entries whose bus does not exist as refused.  Runs inside SPI.
 */
static void
check_buses(PutEntry *entries, int n, MemoryContext outcxt)
{
	Datum	   *names;
	int			nnames = 0;
	const char *prev = NULL;
	ArrayType  *arr;
	Datum		values[1];
	int			ret;
	uint64		nfound;
	char	  **found;

	names = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (!entries[i].ok)
			continue;
		if (prev != NULL && strcmp(prev, entries[i].bus) == 0)
			continue;
		prev = entries[i].bus;
		names[nnames++] = CStringGetTextDatum(entries[i].bus);
	}
	if (nnames == 0)
		return;

	if (bus_plan == NULL)
	{
		Oid			argtypes[1] = {TEXTARRAYOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT b.name FROM eventbus.event_buses b"
						   " WHERE b.name OPERATOR(pg_catalog.=) ANY ($1)",
						   1, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for the event bus lookup: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		bus_plan = plan;
	}

	arr = construct_array(names, nnames, TEXTOID, -1, false, TYPALIGN_INT);
	values[0] = PointerGetDatum(arr);
	ret = SPI_execute_plan(bus_plan, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "event bus lookup failed: %s", SPI_result_code_string(ret));

	nfound = SPI_processed;
	found = palloc(sizeof(char *) * Max(nfound, 1));
	for (uint64 i = 0; i < nfound; i++)
		found[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

	for (int i = 0; i < n; i++)
	{
		bool		exists = false;

		if (!entries[i].ok)
			continue;
		for (uint64 j = 0; j < nfound && !exists; j++)
			exists = (strcmp(found[j], entries[i].bus) == 0);
		if (!exists)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(outcxt);

			entries[i].ok = false;
			entries[i].error_code = EC_BUS_NOT_FOUND;
			entries[i].error_message = psprintf("Event bus %s does not exist.",
												entries[i].bus);
			MemoryContextSwitchTo(oldcxt);
		}
	}
}

/*
 * Stores the good entries with one INSERT into eventbus.events; each gets
 * its id from the column's default, read back with RETURNING (rows come
 * back in the order of the SELECT, which is the entries' order).  Runs
 * inside SPI.
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
	int			nrows = 0;
	Datum		values[6];
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
		r++;
	}

	if (insert_plan == NULL)
	{
		Oid			argtypes[6] = {TEXTARRAYOID, TIMESTAMPTZARRAYOID,
		TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("INSERT INTO eventbus.events"
						   " (bus, \"time\", source, detail_type, resources, detail)"
						   " SELECT u.bus, u.t, u.source, u.detail_type,"
						   " CAST(u.resources AS pg_catalog.text[]), u.detail"
						   " FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
						   " pg_catalog.unnest($3), pg_catalog.unnest($4),"
						   " pg_catalog.unnest($5), pg_catalog.unnest($6))"
						   " AS u(bus, t, source, detail_type, resources, detail)"
						   " RETURNING id",
						   6, argtypes);
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

	ret = SPI_execute_plan(insert_plan, values, NULL, false, 0);
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "inserting events failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != (uint64) nrows)
		elog(ERROR, "inserted " UINT64_FORMAT " events instead of %d",
			 SPI_processed, nrows);
	for (int i = 0, r = 0; i < n; i++)
	{
		bool		isnull;

		if (!entries[i].ok)
			continue;
		memcpy(&entries[i].id,
			   DatumGetUUIDP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)),
			   sizeof(pg_uuid_t));
		r++;
	}
}

/* Checks the buses of the good entries, then stores them. */
void
put_events_store(PutEntry *entries, int n, MemoryContext outcxt)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_buses(entries, n, outcxt);
	insert_entries(entries, n);
	SPI_finish();
}

