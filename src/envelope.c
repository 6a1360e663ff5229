/*-------------------------------------------------------------------------
 *
 * envelope.c
 *	  Events of eventbus.events as EventBridge JSON envelopes.
 *
 * Rows store the envelope's fields as columns; this file turns a row into
 * the JSON object EventBridge delivers ({"version": "0", "id": ...,
 * "detail-type": ..., "source": ..., "account": ..., "time": ...,
 * "region": ..., "resources": [...], "detail": {...}}), from a slot
 * (envelope_from_slot) or as the SQL function
 * eventbus.event_envelope(eventbus.events).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "envelope.h"

static text *
text_attr(TupleTableSlot *slot, int attnum)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attnum, &isnull);

	return isnull ? NULL : DatumGetTextPP(d);
}

void
envelope_from_slot(TupleTableSlot *slot, EventEnvelope *env)
{
	bool		isnull;
	Datum		d;

	d = slot_getattr(slot, EVENTS_ATT_ID, &isnull);
	env->id = isnull ? NULL : DatumGetUUIDP(d);
	env->bus = text_attr(slot, EVENTS_ATT_BUS);
	d = slot_getattr(slot, EVENTS_ATT_TIME, &isnull);
	env->time = isnull ? 0 : DatumGetTimestampTz(d);
	env->source = text_attr(slot, EVENTS_ATT_SOURCE);
	env->detail_type = text_attr(slot, EVENTS_ATT_DETAIL_TYPE);
	env->account = text_attr(slot, EVENTS_ATT_ACCOUNT);
	env->region = text_attr(slot, EVENTS_ATT_REGION);
	d = slot_getattr(slot, EVENTS_ATT_RESOURCES, &isnull);
	env->resources = isnull ? NULL : DatumGetArrayTypeP(d);
	d = slot_getattr(slot, EVENTS_ATT_DETAIL, &isnull);
	env->detail = isnull ? NULL : DatumGetJsonbP(d);
	d = slot_getattr(slot, EVENTS_ATT_INGESTION_TIME, &isnull);
	env->ingestion_time = isnull ? 0 : DatumGetTimestampTz(d);
}

char *
envelope_format_time(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(t) ||
		timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup(TIMESTAMP_IS_NOBEGIN(t) ? "-infinity" : "infinity");
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02dZ",
					tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);
}

static void
push_string(JsonbParseState **state, JsonbIteratorToken tok,
			const char *s, int len)
{
	JsonbValue	v;

	if (s == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) s;
		v.val.string.len = len;
	}
	pushJsonbValue(state, tok, &v);
}

static void
push_text_field(JsonbParseState **state, const char *key, text *value)
{
	push_key(state, key);
	if (value == NULL)
		push_string(state, WJB_VALUE, NULL, 0);
	else
		push_string(state, WJB_VALUE, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

Jsonb *
envelope_to_jsonb(const EventEnvelope *env)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;
	char	   *s;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);

	push_key(&state, "version");
	push_string(&state, WJB_VALUE, "0", 1);

	push_key(&state, "id");
	if (env->id)
	{
		s = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(env->id)));
		push_string(&state, WJB_VALUE, s, strlen(s));
	}
	else
		push_string(&state, WJB_VALUE, NULL, 0);

	push_text_field(&state, "detail-type", env->detail_type);
	push_text_field(&state, "source", env->source);
	push_text_field(&state, "account", env->account);

	push_key(&state, "time");
	s = envelope_format_time(env->time);
	push_string(&state, WJB_VALUE, s, strlen(s));

	push_text_field(&state, "region", env->region);

	push_key(&state, "resources");
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	if (env->resources)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		deconstruct_array(env->resources, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &nelems);
		for (int i = 0; i < nelems; i++)
		{
			if (nulls[i])
				push_string(&state, WJB_ELEM, NULL, 0);
			else
			{
				text	   *t = DatumGetTextPP(elems[i]);

				push_string(&state, WJB_ELEM, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
		}
	}
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	push_key(&state, "detail");
	if (env->detail)
	{
		JsonbValue	d;

		d.type = jbvBinary;
		d.val.binary.data = (JsonbContainer *) &env->detail->root;
		d.val.binary.len = VARSIZE(env->detail) - VARHDRSZ;
		pushJsonbValue(&state, WJB_VALUE, &d);
	}
	else
	{
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}

	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}

PG_FUNCTION_INFO_V1(eventbus_event_envelope);

/*
 * eventbus.event_envelope(e eventbus.events) RETURNS jsonb: the event as
 * EventBridge delivers it.
 */
Datum
eventbus_event_envelope(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	EventEnvelope env;
	bool		isnull;
	Datum		d;

#define TEXT_ATTR(attnum) \
	(d = GetAttributeByNum(row, (attnum), &isnull), isnull ? NULL : DatumGetTextPP(d))

	d = GetAttributeByNum(row, EVENTS_ATT_ID, &isnull);
	env.id = isnull ? NULL : DatumGetUUIDP(d);
	env.bus = TEXT_ATTR(EVENTS_ATT_BUS);
	d = GetAttributeByNum(row, EVENTS_ATT_TIME, &isnull);
	env.time = isnull ? 0 : DatumGetTimestampTz(d);
	env.source = TEXT_ATTR(EVENTS_ATT_SOURCE);
	env.detail_type = TEXT_ATTR(EVENTS_ATT_DETAIL_TYPE);
	env.account = TEXT_ATTR(EVENTS_ATT_ACCOUNT);
	env.region = TEXT_ATTR(EVENTS_ATT_REGION);
	d = GetAttributeByNum(row, EVENTS_ATT_RESOURCES, &isnull);
	env.resources = isnull ? NULL : DatumGetArrayTypeP(d);
	d = GetAttributeByNum(row, EVENTS_ATT_DETAIL, &isnull);
	env.detail = isnull ? NULL : DatumGetJsonbP(d);
	d = GetAttributeByNum(row, EVENTS_ATT_INGESTION_TIME, &isnull);
	env.ingestion_time = isnull ? 0 : DatumGetTimestampTz(d);

#undef TEXT_ATTR

	PG_RETURN_JSONB_P(envelope_to_jsonb(&env));
}
