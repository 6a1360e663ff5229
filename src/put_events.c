/*-------------------------------------------------------------------------
 *
 * put_events.c
 *	  EventBridge's PutEvents: eventbus.put_events(jsonb) and its SQL-friendly
 *	  form eventbus.put_event(...).
 *
 * put_events validates each entry of the request on its own (a bad entry
 * fails alone, with EventBridge's ErrorCode and ErrorMessage), then stores
 * every good entry with one multi-row INSERT into eventbus.events, so the
 * routing trigger sees the whole batch in one statement.  Everything runs
 * in the caller's transaction: a rollback removes the events and the
 * messages routed from them.
 *
 * put_event takes one event as typed arguments and raises an error for a
 * bad one; it shares the checks, the messages and the INSERT with
 * put_events.
 *
 * The size of an entry is counted as EventBridge documents it ("Calculating
 * PutEvents event entry size"): 14 bytes for a Time, plus the UTF-8 bytes
 * of Source, DetailType, Detail and each of the Resources.
 *
 * This file owns the SQL functions, the validation of an entry and its
 * errors, and the answer of put_events.  The rest of PutEvents (see
 * put_events.h):
 *	  put_events_time.c		an entry's Time
 *	  put_events_detail.c	a Detail given as JSON text
 *	  put_events_store.c	storing the entries (one INSERT)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "eventbus.h"
#include "arn.h"
#include "put_events.h"

PG_FUNCTION_INFO_V1(eventbus_put_events);
PG_FUNCTION_INFO_V1(eventbus_put_event);

/* EventBridge: "DetailType: Free-form string, with a maximum of 128 characters" */
#define MAX_DETAIL_TYPE_CHARS	128

/* Bytes EventBridge counts for a Time. */
#define TIME_ENTRY_SIZE			14

static void
set_error(EntryError *err, const char *code, int sqlstate, char *message,
		  char *detail, char *hint)
{
	err->code = code;
	err->sqlstate = sqlstate;
	err->message = message;
	err->detail = detail;
	err->hint = hint;
}

static void
set_required(EntryError *err, const char *param, const char *hint)
{
	set_error(err, EC_INVALID_ARGUMENT, ERRCODE_INVALID_PARAMETER_VALUE,
			  psprintf("Parameter %s is not valid. Reason: %s is a required argument.",
					   param, param),
			  psprintf("Every event needs a non-empty %s.", param),
			  pstrdup(hint));
}

static void
set_invalid(EntryError *err, const char *param, const char *reason,
			const char *hint)
{
	set_error(err, EC_INVALID_ARGUMENT, ERRCODE_INVALID_PARAMETER_VALUE,
			  psprintf("Parameter %s is not valid. Reason: %s", param, reason),
			  psprintf("EventBridge answers this entry with ErrorCode %s.",
					   EC_INVALID_ARGUMENT),
			  pstrdup(hint));
}

void
put_events_set_malformed_detail(EntryError *err, const char *why)
{
	set_error(err, EC_MALFORMED_DETAIL, ERRCODE_INVALID_PARAMETER_VALUE,
			  pstrdup("Detail is malformed."),
			  pstrdup(why),
			  pstrdup("Detail must be a JSON object, e.g. {\"orderId\": 42}, given as jsonb or as JSON text."));
}

/* put_event's error for an unknown bus, worded as the catalog functions' */
static void
set_bus_not_found(EntryError *err, const char *bus)
{
	set_error(err, EC_BUS_NOT_FOUND, ERRCODE_UNDEFINED_OBJECT,
			  psprintf("event bus %s does not exist", quote_literal_cstr(bus)),
			  pstrdup("No event bus of that name exists in this database."),
			  pstrdup("list_event_buses() shows the buses; create_event_bus() creates one."));
}

static void
raise_entry_error(const EntryError *err)
{
	ereport(ERROR,
			(errcode(err->sqlstate),
			 errmsg("%s", err->message),
			 errdetail("%s", err->detail),
			 errhint("%s", err->hint)));
}

static const char *
jbv_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		case jbvArray:
			return "an array";
		case jbvObject:
			return "an object";
		default:
			return "a JSON value";
	}
}

/* Bytes of s in UTF-8, as EventBridge counts them. */
static int64
utf8_size(const char *s, int len)
{
	int			enc = GetDatabaseEncoding();
	char	   *conv;
	int64		size;

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII || len == 0)
		return len;
	conv = pg_server_to_any(s, len, PG_UTF8);
	size = (conv == s) ? len : (int64) strlen(conv);
	if (conv != s)
		pfree(conv);
	return size;
}

static void
check_entry_size(int64 size, EntryError *err)
{
	if (size <= eventbus_max_entry_size)
		return;
	set_error(err, EC_INVALID_ARGUMENT, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
			  psprintf("Total size of the entry is over the limit. Reason: the entry is "
					   INT64_FORMAT " bytes and eventbus.max_entry_size is %d bytes.",
					   size, eventbus_max_entry_size),
			  pstrdup("The size counts 14 bytes for a Time and the UTF-8 bytes of Source, DetailType, Detail and each of the Resources."),
			  pstrdup("Send a smaller event (e.g. a reference to the data instead of the data), or raise eventbus.max_entry_size (superuser)."));
}

/* The UTF-8 bytes of a jsonb's text, as put_events counts a Detail. */
static int64
jsonb_text_size(Jsonb *j)
{
	char	   *s = JsonbToCString(NULL, &j->root, VARSIZE(j));
	int64		size = utf8_size(s, strlen(s));

	pfree(s);
	return size;
}

/*
 * The size of a stored event (a row of eventbus.events), counted as for an
 * entry of put_events with a Time: for the routing trigger, which holds
 * plain INSERTs and COPYs to eventbus.max_entry_size.
 */
int64
put_events_event_size(text *source, text *detail_type, ArrayType *resources,
					  Jsonb *detail)
{
	int64		size = TIME_ENTRY_SIZE;

	if (source != NULL)
		size += utf8_size(VARDATA_ANY(source), VARSIZE_ANY_EXHDR(source));
	if (detail_type != NULL)
		size += utf8_size(VARDATA_ANY(detail_type), VARSIZE_ANY_EXHDR(detail_type));
	if (resources != NULL && ARR_NDIM(resources) > 0)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		deconstruct_array(resources, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &nelems);
		for (int i = 0; i < nelems; i++)
		{
			text	   *t;

			if (nulls[i])
				continue;
			t = DatumGetTextPP(elems[i]);
			size += utf8_size(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		}
	}
	if (detail != NULL)
		size += jsonb_text_size(detail);
	return size;
}

/*
 * DetailType: required, at most 128 characters.  Source: required.
 * Returns false with err set when refused.
 */
static bool
check_source(const char *s, int len, EntryError *err)
{
	if (s == NULL || len == 0)
	{
		set_required(err, "Source",
					 "Name the event's origin, e.g. \"com.example.orders\".");
		return false;
	}
	return true;
}

static bool
check_detail_type(const char *s, int len, EntryError *err)
{
	if (s == NULL || len == 0)
	{
		set_required(err, "DetailType",
					 "Name the kind of event, e.g. \"OrderPlaced\".");
		return false;
	}
	if (pg_mbstrlen_with_len(s, len) > MAX_DETAIL_TYPE_CHARS)
	{
		set_invalid(err, "DetailType",
					psprintf("DetailType is longer than %d characters.",
							 MAX_DETAIL_TYPE_CHARS),
					"Use a shorter DetailType.");
		return false;
	}
	return true;
}

/* The bus an EventBusName names (arn.c reads it); NULL (absent): the default bus. */
static char *
resolve_bus_name(const char *s, int len, EntryError *err)
{
	const char *name;
	int			namelen;

	switch (arn_parse_bus_name(s, len, &name, &namelen))
	{
		case BUS_NAME_OK:
			return pnstrdup(name, namelen);
		case BUS_NAME_EMPTY:
			set_invalid(err, "EventBusName", "EventBusName must not be empty.",
						"Omit EventBusName to use the default bus.");
			return NULL;
		case BUS_NAME_BAD_ARN:
			break;
	}
	set_invalid(err, "EventBusName", "Provided Arn is not in correct format.",
				"Use a bus name, or an ARN such as arn:aws:events:local:000000000000:event-bus/orders.");
	return NULL;
}

/*
 * A text[] literal of the given text datums, for the INSERT (which casts it
 * back): every element double-quoted, with " and \ escaped.
 */
static text *
resources_literal(Datum *elems, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < n; i++)
	{
		text	   *t = DatumGetTextPP(elems[i]);
		const char *p = VARDATA_ANY(t);
		int			len = VARSIZE_ANY_EXHDR(t);

		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoChar(&buf, '"');
		for (int j = 0; j < len; j++)
		{
			if (p[j] == '"' || p[j] == '\\')
				appendStringInfoChar(&buf, '\\');
			appendStringInfoChar(&buf, p[j]);
		}
		appendStringInfoChar(&buf, '"');
	}
	appendStringInfoChar(&buf, '}');
	return cstring_to_text_with_len(buf.data, buf.len);
}

static JsonbValue *
entry_field(JsonbContainer *entry, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(entry, key, strlen(key), NULL);

	/* a JSON null is the same as an absent field */
	if (v != NULL && v->type == jbvNull)
		return NULL;
	return v;
}

/*
 * Validates one entry of put_events.  On success fills the row (copied into
 * outcxt) and returns true; otherwise fills err (in the current context).
 */
static bool
validate_entry(JsonbValue *entry, PutEntry *out, MemoryContext outcxt,
			   EntryError *err)
{
	JsonbContainer *c;
	JsonbValue *source;
	JsonbValue *detail_type;
	JsonbValue *detail;
	JsonbValue *resources;
	JsonbValue *time;
	JsonbValue *bus;
	char	   *bus_name;
	TimestampTz event_time;
	Datum	   *res_elems = NULL;
	int			nres = 0;
	int64		size = 0;
	Jsonb	   *detail_jsonb = NULL;
	MemoryContext oldcxt;

	if (entry->type != jbvBinary || !JsonContainerIsObject(entry->val.binary.data))
	{
		set_invalid(err, "Entries",
					psprintf("Each entry must be a JSON object; this one is %s.",
							 jbv_type_name(entry)),
					"Write each entry as {\"Source\": ..., \"DetailType\": ..., \"Detail\": ...}.");
		return false;
	}
	c = entry->val.binary.data;

	/* Source, DetailType and Detail are required, in that order */
	source = entry_field(c, "Source");
	if (source != NULL && source->type != jbvString)
	{
		set_invalid(err, "Source",
					psprintf("Source must be a string, not %s.", jbv_type_name(source)),
					"Name the event's origin, e.g. \"com.example.orders\".");
		return false;
	}
	if (!check_source(source ? source->val.string.val : NULL,
					  source ? source->val.string.len : 0, err))
		return false;

	detail_type = entry_field(c, "DetailType");
	if (detail_type != NULL && detail_type->type != jbvString)
	{
		set_invalid(err, "DetailType",
					psprintf("DetailType must be a string, not %s.",
							 jbv_type_name(detail_type)),
					"Name the kind of event, e.g. \"OrderPlaced\".");
		return false;
	}
	if (!check_detail_type(detail_type ? detail_type->val.string.val : NULL,
						   detail_type ? detail_type->val.string.len : 0, err))
		return false;

	detail = entry_field(c, "Detail");
	if (detail == NULL ||
		(detail->type == jbvString && detail->val.string.len == 0))
	{
		set_required(err, "Detail",
					 "Pass the event's data as a JSON object, e.g. {\"orderId\": 42}; {} for none.");
		return false;
	}
	if (detail->type != jbvString &&
		!(detail->type == jbvBinary && JsonContainerIsObject(detail->val.binary.data)))
	{
		put_events_set_malformed_detail(err,
										psprintf("Detail must be a JSON object or a string holding one, not %s.",
												 jbv_type_name(detail)));
		return false;
	}

	/* Resources: an array of strings */
	resources = entry_field(c, "Resources");
	if (resources != NULL)
	{
		JsonbContainer *rc;

		if (resources->type != jbvBinary ||
			!JsonContainerIsArray(resources->val.binary.data))
		{
			set_invalid(err, "Resources",
						psprintf("Resources must be an array of strings, not %s.",
								 jbv_type_name(resources)),
						"Pass the ARNs the event concerns, e.g. [\"arn:aws:s3:::bucket\"], or [] for none.");
			return false;
		}
		rc = resources->val.binary.data;
		nres = JsonContainerSize(rc);
		res_elems = palloc(sizeof(Datum) * Max(nres, 1));
		for (int i = 0; i < nres; i++)
		{
			JsonbValue *r = getIthJsonbValueFromContainer(rc, i);

			if (r->type != jbvString)
			{
				set_invalid(err, "Resources",
							psprintf("Resources must be an array of strings; element %d is %s.",
									 i + 1, jbv_type_name(r)),
							"Pass the ARNs the event concerns, e.g. [\"arn:aws:s3:::bucket\"], or [] for none.");
				return false;
			}
			res_elems[i] = PointerGetDatum(cstring_to_text_with_len(r->val.string.val,
																	r->val.string.len));
			size += utf8_size(r->val.string.val, r->val.string.len);
		}
	}

	/*
	 * Time: an RFC 3339 string, or a number of seconds since the Unix epoch
	 * (what the AWS SDKs send); absent means now()
	 */
	time = entry_field(c, "Time");
	if (time != NULL)
	{
		if (time->type == jbvString)
		{
			if (!put_events_parse_time(time->val.string.val,
									   time->val.string.len, &event_time))
			{
				set_invalid(err, "Time",
							psprintf("\"%s\" is not an RFC 3339 date-time.",
									 pnstrdup(time->val.string.val, time->val.string.len)),
							"Write times as \"2024-05-01T12:30:00Z\" (or with an offset such as +02:00).");
				return false;
			}
		}
		else if (time->type == jbvNumeric)
		{
			if (!put_events_epoch_time(time->val.numeric, &event_time))
			{
				set_invalid(err, "Time",
							"Time is outside the range of event times, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z (epoch seconds -62135596800 to 253402300799.999999).",
							"A number is taken as seconds since 1970-01-01T00:00:00Z (not milliseconds).");
				return false;
			}
		}
		else
		{
			set_invalid(err, "Time",
						psprintf("Time must be an RFC 3339 string or a number of seconds since 1970-01-01T00:00:00Z, not %s.",
								 jbv_type_name(time)),
						"Write times as \"2024-05-01T12:30:00Z\" (or with an offset such as +02:00), or as epoch seconds such as 1714566600.");
			return false;
		}
		size += TIME_ENTRY_SIZE;
	}
	else
		event_time = GetCurrentTransactionStartTimestamp();

	/* EventBusName: a name or an ARN */
	bus = entry_field(c, "EventBusName");
	if (bus != NULL && bus->type != jbvString)
	{
		set_invalid(err, "EventBusName",
					psprintf("EventBusName must be a string, not %s.", jbv_type_name(bus)),
					"Pass a bus name or an event bus ARN, or omit it for the default bus.");
		return false;
	}
	bus_name = resolve_bus_name(bus ? bus->val.string.val : NULL,
								bus ? bus->val.string.len : 0, err);
	if (bus_name == NULL)
		return false;

	/* size, before parsing a Detail given as text */
	size += utf8_size(source->val.string.val, source->val.string.len);
	size += utf8_size(detail_type->val.string.val, detail_type->val.string.len);
	if (detail->type == jbvString)
		size += utf8_size(detail->val.string.val, detail->val.string.len);
	else
	{
		char	   *dtext = JsonbToCString(NULL, detail->val.binary.data,
										   detail->val.binary.len);

		size += utf8_size(dtext, strlen(dtext));
	}
	check_entry_size(size, err);
	if (err->code != NULL)
		return false;

	if (detail->type == jbvString)
	{
		detail_jsonb = put_events_detail_from_text(detail->val.string.val,
												   detail->val.string.len, err);
		if (detail_jsonb == NULL)
			return false;
	}

	/* the row, in the function's context */
	oldcxt = MemoryContextSwitchTo(outcxt);
	out->ok = true;
	out->bus = pstrdup(bus_name);
	out->time = event_time;
	out->source = cstring_to_text_with_len(source->val.string.val,
										   source->val.string.len);
	out->detail_type = cstring_to_text_with_len(detail_type->val.string.val,
												detail_type->val.string.len);
	out->resources = resources_literal(res_elems, nres);
	if (detail_jsonb != NULL)
	{
		out->detail = palloc(VARSIZE(detail_jsonb));
		memcpy(out->detail, detail_jsonb, VARSIZE(detail_jsonb));
	}
	else
		out->detail = JsonbValueToJsonb(detail);
	MemoryContextSwitchTo(oldcxt);
	return true;
}

static void
push_string_pair(JsonbParseState **state, const char *key, const char *value)
{
	JsonbValue	k;
	JsonbValue	v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v.type = jbvString;
	v.val.string.val = (char *) value;
	v.val.string.len = strlen(value);
	pushJsonbValue(state, WJB_KEY, &k);
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* {"FailedEntryCount": n, "Entries": [...]} in request order */
static Jsonb *
put_events_result(PutEntry *entries, int n)
{
	JsonbParseState *state = NULL;
	JsonbValue	k;
	JsonbValue	v;
	JsonbValue *res;
	int			failed = 0;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);

	k.type = jbvString;
	k.val.string.val = "Entries";
	k.val.string.len = strlen("Entries");
	pushJsonbValue(&state, WJB_KEY, &k);
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		if (entries[i].ok)
			push_string_pair(&state, "EventId",
							 DatumGetCString(DirectFunctionCall1(uuid_out,
																 UUIDPGetDatum(&entries[i].id))));
		else
		{
			failed++;
			push_string_pair(&state, "ErrorCode", entries[i].error_code);
			push_string_pair(&state, "ErrorMessage", entries[i].error_message);
		}
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	k.val.string.val = "FailedEntryCount";
	k.val.string.len = strlen("FailedEntryCount");
	pushJsonbValue(&state, WJB_KEY, &k);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(failed);
	pushJsonbValue(&state, WJB_VALUE, &v);

	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * eventbus.put_events(entries jsonb) RETURNS jsonb
 *
 * The request is {"Entries": [...]} or the bare array.
 */
Datum
eventbus_put_events(PG_FUNCTION_ARGS)
{
	Jsonb	   *request = PG_GETARG_JSONB_P(0);
	JsonbContainer *array;
	MemoryContext outcxt = CurrentMemoryContext;
	MemoryContext entrycxt;
	PutEntry   *entries;
	int			n;

	if (JB_ROOT_IS_SCALAR(request))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid PutEvents request: expected an object with \"Entries\" or an array of entries"),
				 errdetail("The request is a JSON scalar."),
				 errhint("Pass {\"Entries\": [{\"Source\": ..., \"DetailType\": ..., \"Detail\": ...}]}.")));
	if (JB_ROOT_IS_OBJECT(request))
	{
		JsonbValue *v = getKeyJsonValueFromContainer(&request->root, "Entries",
													 strlen("Entries"), NULL);

		if (v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid PutEvents request: \"Entries\" is missing"),
					 errdetail("A request object must have an \"Entries\" array."),
					 errhint("Pass {\"Entries\": [{\"Source\": ..., \"DetailType\": ..., \"Detail\": ...}]}.")));
		if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid PutEvents request: \"Entries\" must be an array"),
					 errdetail("\"Entries\" is %s.", jbv_type_name(v)),
					 errhint("Pass {\"Entries\": [{\"Source\": ..., \"DetailType\": ..., \"Detail\": ...}]}.")));
		array = v->val.binary.data;
	}
	else
		array = &request->root;

	n = JsonContainerSize(array);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid PutEvents request: no entries"),
				 errdetail("EventBridge refuses a request whose Entries array is empty."),
				 errhint("Pass from 1 to %d entries.", eventbus_max_entries_per_put)));
	if (n > eventbus_max_entries_per_put)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("PutEvents request has %d entries, more than the limit of %d",
						n, eventbus_max_entries_per_put),
				 errdetail("eventbus.max_entries_per_put limits the entries of one request; EventBridge takes at most 10."),
				 errhint("Split the request, or raise eventbus.max_entries_per_put (superuser).")));

	entries = palloc0(sizeof(PutEntry) * n);
	entrycxt = AllocSetContextCreate(CurrentMemoryContext,
									 "eventbus put_events entry",
									 ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		EntryError	err = {0};
		MemoryContext oldcxt;
		JsonbValue *entry;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(entrycxt);
		entry = getIthJsonbValueFromContainer(array, i);
		if (!validate_entry(entry, &entries[i], outcxt, &err))
		{
			entries[i].ok = false;
			entries[i].error_code = err.code;
			entries[i].error_message = MemoryContextStrdup(outcxt, err.message);
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(entrycxt);
	}
	MemoryContextDelete(entrycxt);

	put_events_store(entries, n, outcxt);

	PG_RETURN_JSONB_P(put_events_result(entries, n));
}

/*
 * eventbus.put_event(source, detail_type, detail, event_bus_name, resources,
 *                    "time") RETURNS uuid
 *
 * One event, with an error for a bad one.  NULL for an optional argument
 * means its default.
 */
Datum
eventbus_put_event(PG_FUNCTION_ARGS)
{
	text	   *source = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	text	   *detail_type = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	Jsonb	   *detail = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	text	   *bus = PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3);
	ArrayType  *resources = PG_ARGISNULL(4) ? NULL : PG_GETARG_ARRAYTYPE_P(4);
	EntryError	err = {0};
	PutEntry	entry = {0};
	int64		size = 0;
	char	   *bus_name;

	if (!check_source(source ? VARDATA_ANY(source) : NULL,
					  source ? VARSIZE_ANY_EXHDR(source) : 0, &err))
		raise_entry_error(&err);
	if (!check_detail_type(detail_type ? VARDATA_ANY(detail_type) : NULL,
						   detail_type ? VARSIZE_ANY_EXHDR(detail_type) : 0, &err))
		raise_entry_error(&err);
	if (detail == NULL)
	{
		set_required(&err, "Detail",
					 "Pass the event's data as a JSON object, e.g. '{\"orderId\": 42}'; '{}' for none.");
		raise_entry_error(&err);
	}
	if (!JB_ROOT_IS_OBJECT(detail))
	{
		put_events_set_malformed_detail(&err,
										psprintf("Detail must be a JSON object, not %s.",
												 JB_ROOT_IS_SCALAR(detail) ? "a scalar" : "an array"));
		raise_entry_error(&err);
	}

	if (resources != NULL)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		if (ARR_NDIM(resources) > 1)
		{
			set_invalid(&err, "Resources", "Resources must be a one-dimensional array.",
						"Pass the ARNs the event concerns, e.g. ARRAY['arn:aws:s3:::bucket'].");
			raise_entry_error(&err);
		}
		deconstruct_array(resources, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &nelems);
		for (int i = 0; i < nelems; i++)
		{
			text	   *t;

			if (nulls[i])
			{
				set_invalid(&err, "Resources",
							psprintf("Resources must be an array of strings; element %d is NULL.", i + 1),
							"Remove the NULL from resources.");
				raise_entry_error(&err);
			}
			t = DatumGetTextPP(elems[i]);
			size += utf8_size(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		}
		entry.resources = resources_literal(elems, nelems);
	}
	else
		entry.resources = cstring_to_text("{}");

	bus_name = resolve_bus_name(bus ? VARDATA_ANY(bus) : NULL,
								bus ? VARSIZE_ANY_EXHDR(bus) : 0, &err);
	if (bus_name == NULL)
		raise_entry_error(&err);

	/* the event always has a Time here */
	size += TIME_ENTRY_SIZE;
	size += utf8_size(VARDATA_ANY(source), VARSIZE_ANY_EXHDR(source));
	size += utf8_size(VARDATA_ANY(detail_type), VARSIZE_ANY_EXHDR(detail_type));
	size += jsonb_text_size(detail);
	check_entry_size(size, &err);
	if (err.code != NULL)
		raise_entry_error(&err);

	entry.ok = true;
	entry.bus = bus_name;
	entry.time = PG_ARGISNULL(5) ? GetCurrentTransactionStartTimestamp()
		: PG_GETARG_TIMESTAMPTZ(5);
	if (TIMESTAMP_NOT_FINITE(entry.time))
	{
		set_invalid(&err, "Time", "Time must be a finite timestamp.",
					"Pass a real point in time, or omit it for now().");
		raise_entry_error(&err);
	}
	entry.source = source;
	entry.detail_type = detail_type;
	entry.detail = detail;

	put_events_store(&entry, 1, CurrentMemoryContext);
	if (!entry.ok && strcmp(entry.error_code, EC_ACCESS_DENIED) == 0)
	{
		const char *role = GetUserNameFromId(GetUserId(), false);

		set_error(&err, EC_ACCESS_DENIED, ERRCODE_INSUFFICIENT_PRIVILEGE,
				  psprintf("permission denied for event bus %s", quote_identifier(bus_name)),
				  psprintf("Role %s does not hold privilege put_events on event bus %s.",
						   quote_identifier(role), quote_identifier(bus_name)),
				  psprintf("Its owner or an eventbus_admin can grant it: SELECT eventbus.grant_event_bus_privilege(%s, 'put_events', %s).",
						   quote_literal_cstr(bus_name), quote_literal_cstr(role)));
		raise_entry_error(&err);
	}
	if (!entry.ok)
	{
		set_bus_not_found(&err, bus_name);
		raise_entry_error(&err);
	}

	{
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

		memcpy(id, &entry.id, sizeof(pg_uuid_t));
		PG_RETURN_UUID_P(id);
	}
}
