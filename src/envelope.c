/*-------------------------------------------------------------------------
 *
 * envelope.c
 *	  Events of eventbus.events as EventBridge JSON envelopes.
 *
 * Rows store the envelope's fields as columns; this file turns a row into
 * the JSON object EventBridge delivers ({"version": "0", "id": ...,
 * "detail-type": ..., "source": ..., "account": ..., "time": ...,
 * "region": ..., "resources": [...], "detail": {...}}, and "replay-name"
 * for an event a replay re-sent, as EventBridge adds it), from a slot
 * (envelope_from_slot) or as the SQL function
 * eventbus.event_envelope(eventbus.events).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/typcache.h"

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
	/* a row of a table without the column (before 0.5.0) has none */
	env->replay_name = (slot->tts_tupleDescriptor->natts >= EVENTS_ATT_REPLAY_NAME) ?
		text_attr(slot, EVENTS_ATT_REPLAY_NAME) : NULL;
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

/*
 * The envelope written straight in jsonb's binary format.  Its keys are
 * fixed, so their order (jsonb sorts an object's keys by length, then
 * bytes) is too; the detail, already a jsonb object, is copied in as a
 * nested container instead of being taken apart and rebuilt, which is what
 * pushJsonbValue does with a binary value.  The layout is jsonb_util.c's
 * (convertJsonbObject / convertJsonbArray / convertJsonbScalar):
 *	  container header, one JEntry per key and value (every JB_OFFSET_STRIDE-th
 *	  one holds an end offset instead of a length), keys, then values; a
 *	  nested container is int-aligned, its padding counted in its length.
 */

/*
 * The envelope's keys in jsonb's order, and the value each one holds;
 * "replay-name", last in that order, only for a replayed event.
 */
typedef enum EnvelopeKey
{
	EK_ID, EK_TIME, EK_DETAIL, EK_REGION, EK_SOURCE, EK_ACCOUNT, EK_VERSION,
	EK_RESOURCES, EK_DETAIL_TYPE, EK_REPLAY_NAME, EK_COUNT
} EnvelopeKey;

static const char *const envelope_keys[EK_COUNT] = {
	"id", "time", "detail", "region", "source", "account", "version",
	"resources", "detail-type", "replay-name"
};

typedef struct EnvelopeBuf
{
	StringInfoData buf;
	bool		too_long;
} EnvelopeBuf;

static void
pad_to_int(StringInfo buf)
{
	int			pad = INTALIGN(buf->len) - buf->len;

	if (pad > 0)
	{
		enlargeStringInfo(buf, pad);
		memset(buf->data + buf->len, 0, pad);
		buf->len += pad;
		buf->data[buf->len] = '\0';
	}
}

/* JEntry i of a container whose JEntries start at jentries (buffer offset) */
static void
set_jentry(StringInfo buf, int jentries, int i, uint32 type, uint32 len,
		   uint32 *totallen)
{
	JEntry		meta;

	*totallen += len;
	if ((i % JB_OFFSET_STRIDE) == 0)
		meta = type | JENTRY_HAS_OFF | *totallen;
	else
		meta = type | len;
	memcpy(buf->data + jentries + i * sizeof(JEntry), &meta, sizeof(JEntry));
}

/* a string (or a null for s == NULL) as container entry i */
static void
put_string(EnvelopeBuf *eb, int jentries, int i, const char *s, int len,
		   uint32 *totallen)
{
	if (s == NULL)
	{
		set_jentry(&eb->buf, jentries, i, JENTRY_ISNULL, 0, totallen);
		return;
	}
	if (len > JENTRY_OFFLENMASK)
		eb->too_long = true;
	appendBinaryStringInfo(&eb->buf, s, len);
	set_jentry(&eb->buf, jentries, i, JENTRY_ISSTRING, len, totallen);
}

static int
reserve(StringInfo buf, int len)
{
	int			off = buf->len;

	enlargeStringInfo(buf, len);
	memset(buf->data + off, 0, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return off;
}

static uint32
put_resources(EnvelopeBuf *eb, const EventEnvelope *env)
{
	StringInfo	buf = &eb->buf;
	int			base = buf->len;
	Datum	   *elems = NULL;
	bool	   *nulls = NULL;
	int			nelems = 0;
	uint32		header;
	int			jentries;
	uint32		totallen = 0;

	pad_to_int(buf);
	if (env->resources)
		deconstruct_array(env->resources, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &nulls, &nelems);
	header = (uint32) nelems | JB_FARRAY;
	appendBinaryStringInfo(buf, (char *) &header, sizeof(uint32));
	jentries = reserve(buf, sizeof(JEntry) * nelems);
	for (int i = 0; i < nelems; i++)
	{
		if (nulls[i])
			put_string(eb, jentries, i, NULL, 0, &totallen);
		else
		{
			text	   *t = DatumGetTextPP(elems[i]);

			put_string(eb, jentries, i, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
					   &totallen);
		}
	}
	return buf->len - base;
}

static uint32
put_detail(EnvelopeBuf *eb, const EventEnvelope *env)
{
	StringInfo	buf = &eb->buf;
	int			base = buf->len;

	pad_to_int(buf);
	if (env->detail)
		appendBinaryStringInfo(buf, (char *) &env->detail->root,
							   VARSIZE(env->detail) - VARHDRSZ);
	else
	{
		uint32		header = 0 | JB_FOBJECT;

		appendBinaryStringInfo(buf, (char *) &header, sizeof(uint32));
	}
	return buf->len - base;
}

static Jsonb *
envelope_to_jsonb_direct(const EventEnvelope *env)
{
	EnvelopeBuf eb;
	StringInfo	buf = &eb.buf;
	int			nkeys = env->replay_name ? EK_COUNT : EK_REPLAY_NAME;
	uint32		header = (uint32) nkeys | JB_FOBJECT;
	int			jentries;
	uint32		totallen = 0;
	char	   *s;
	Jsonb	   *res;

	eb.too_long = false;
	initStringInfo(buf);
	(void) reserve(buf, VARHDRSZ);
	appendBinaryStringInfo(buf, (char *) &header, sizeof(uint32));
	jentries = reserve(buf, sizeof(JEntry) * nkeys * 2);

	for (int k = 0; k < nkeys; k++)
		put_string(&eb, jentries, k, envelope_keys[k], strlen(envelope_keys[k]),
				   &totallen);

	for (int k = 0; k < nkeys; k++)
	{
		int			i = nkeys + k;

		switch ((EnvelopeKey) k)
		{
			case EK_ID:
				if (env->id)
				{
					s = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(env->id)));
					put_string(&eb, jentries, i, s, strlen(s), &totallen);
				}
				else
					put_string(&eb, jentries, i, NULL, 0, &totallen);
				break;
			case EK_TIME:
				s = envelope_format_time(env->time);
				put_string(&eb, jentries, i, s, strlen(s), &totallen);
				break;
			case EK_DETAIL:
				set_jentry(buf, jentries, i, JENTRY_ISCONTAINER,
						   put_detail(&eb, env), &totallen);
				break;
			case EK_REGION:
			case EK_SOURCE:
			case EK_ACCOUNT:
			case EK_DETAIL_TYPE:
			case EK_REPLAY_NAME:
				{
					text	   *t = (k == EK_REGION) ? env->region
						: (k == EK_SOURCE) ? env->source
						: (k == EK_ACCOUNT) ? env->account
						: (k == EK_DETAIL_TYPE) ? env->detail_type
						: env->replay_name;

					put_string(&eb, jentries, i, t ? VARDATA_ANY(t) : NULL,
							   t ? VARSIZE_ANY_EXHDR(t) : 0, &totallen);
				}
				break;
			case EK_VERSION:
				put_string(&eb, jentries, i, "0", 1, &totallen);
				break;
			case EK_RESOURCES:
				set_jentry(buf, jentries, i, JENTRY_ISCONTAINER,
						   put_resources(&eb, env), &totallen);
				break;
			case EK_COUNT:
				break;
		}
	}
	if (eb.too_long || totallen > JENTRY_OFFLENMASK)
	{
		pfree(buf->data);
		return NULL;
	}
	res = (Jsonb *) buf->data;
	SET_VARSIZE(res, buf->len);
	return res;
}

/* The envelope built with pushJsonbValue: for what the direct form declines. */
static Jsonb *
envelope_to_jsonb_pushed(const EventEnvelope *env)
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

	if (env->replay_name)
		push_text_field(&state, "replay-name", env->replay_name);

	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}

Jsonb *
envelope_to_jsonb(const EventEnvelope *env)
{
	Jsonb	   *res = NULL;

	/* a detail that is not an object (a row without the CHECK) is rebuilt */
	if (env->detail == NULL || JB_ROOT_IS_OBJECT(env->detail))
		res = envelope_to_jsonb_direct(env);
	return res ? res : envelope_to_jsonb_pushed(env);
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
	/* the row type of a database still on 0.4.0's SQL has no replay_name */
	{
		TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
													 HeapTupleHeaderGetTypMod(row));
		int			natts = tupdesc->natts;

		ReleaseTupleDesc(tupdesc);
		env.replay_name = (natts >= EVENTS_ATT_REPLAY_NAME) ?
			TEXT_ATTR(EVENTS_ATT_REPLAY_NAME) : NULL;
	}

#undef TEXT_ATTR

	PG_RETURN_JSONB_P(envelope_to_jsonb(&env));
}
