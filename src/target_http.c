/*-------------------------------------------------------------------------
 *
 * target_http.c
 *	  The target kind "api_destination": EventBridge's API destinations,
 *	  delivered over HTTP by the delivery workers.
 *
 * parse_arn accepts "api-destination:<name>" and the destination's ARN
 * (arn:aws:events:<region>:<account>:api-destination/<name>, with or
 * without "/<uuid>").  prepare reads the destination, its connection and
 * the connection's secrets (as the worker, which may read them) and builds
 * everything that does not depend on an event: endpoint, method, rate
 * limit, timeout, authorization (http_auth.c) and the target's
 * HttpParameters (http_request.c).  Secrets live only in that state.
 *
 * invoke_batch sends the batch's requests through the engine
 * (http_multi.c): up to eventbus.http_max_in_flight at once, the next one
 * started as soon as one completes, each at the start time the
 * destination's rate limit gives it (http_stats.c), none started after the
 * batch's deadline (those stay NOT_TRIED).  An OAuth connection without a
 * valid token first fetches one through the same engine; a 401 or 407 to a
 * request that carried a cached token drops it, fetches a new one and sends
 * that request again, once.  SIGTERM abandons the batch: every request not
 * completed stays NOT_TRIED (it may have reached the server: delivery is
 * at least once, and every request carries the event id).
 *
 * Outcomes, as EventBridge defines them: 2xx is OK; 401, 407, 409, 429,
 * 5xx, timeouts ("Timeout") and network errors ("ConnectionError") are
 * retried, no sooner than Retry-After says; other statuses are permanent
 * ("HTTP <status>", with the start of the response body); an address the
 * guard refuses (http_guard.c) is permanent ("RequestDenied").  Before
 * delivering, the target's owner must hold invoke on the destination and
 * the destination's owner use on its connection (else permanent, 42501).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "http.h"
#include "privileges.h"
#include "target_kind.h"
#include "worker.h"

/* Why a prepared target cannot deliver at all (e.g. its destination is gone). */
typedef struct HttpTargetState
{
	HttpTarget	t;
	const char *unusable_code;
	char	   *unusable_message;
} HttpTargetState;

/*
 * "api-destination:<name>", or an API destination ARN
 * (arn:aws:events:<region>:<account>:api-destination/<name>[/<uuid>]).
 */
static char *
http_parse_arn(const char *arn)
{
	const char *name;
	const char *end;

	if (strncmp(arn, "api-destination:", 16) == 0)
		name = arn + 16;
	else
	{
		const char *resource = target_arn_resource(arn, "events");

		if (resource == NULL || strncmp(resource, "api-destination/", 16) != 0)
			return NULL;
		name = resource + 16;
	}
	end = strchr(name, '/');
	if (end == NULL)
		end = name + strlen(name);
	else if (end[1] == '\0' || strchr(end + 1, '/') != NULL)
		return NULL;			/* only "/<uuid>" may follow the name */
	if (end == name || memchr(name, ':', end - name) != NULL)
		return NULL;
	return pnstrdup(name, end - name);
}

static Oid
role_oid_or_invalid(HeapTuple tup, TupleDesc desc, int col)
{
	char	   *name = SPI_getvalue(tup, desc, col);

	return name ? get_role_oid(name, true) : InvalidOid;
}

static void *
http_prepare(PushTarget *target, MemoryContext cxt)
{
	static const char *query =
		"SELECT d.invocation_endpoint, d.http_method, d.invocation_rate_limit_per_second,"
		"       d.timeout_ms, d.owner, c.name, c.authorization_type, s.auth_parameters,"
		"       c.updated_at, c.owner"
		"  FROM eventbus.api_destinations d"
		"  JOIN eventbus.connections c ON c.name = d.connection"
		"  JOIN eventbus.connection_secrets s ON s.connection = c.name"
		" WHERE d.name = $1";
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	MemoryContext oldcxt;
	HttpTargetState *st;
	HttpTarget *t;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	char	   *authtype;
	Jsonb	   *secrets;

	args[0] = CStringGetTextDatum(target->destination);
	if (SPI_execute_with_args(query, 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "eventbus: could not read API destination \"%s\"", target->destination);

	oldcxt = MemoryContextSwitchTo(cxt);
	st = palloc0(sizeof(HttpTargetState));
	t = &st->t;
	t->destination = pstrdup(target->destination);
	if (SPI_processed == 0)
	{
		st->unusable_code = "ResourceNotFoundException";
		st->unusable_message = psprintf("API destination \"%s\" does not exist", target->destination);
		MemoryContextSwitchTo(oldcxt);
		return st;
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	t->endpoint = SPI_getvalue(tup, desc, 1);
	t->method = SPI_getvalue(tup, desc, 2);
	d = SPI_getbinval(tup, desc, 3, &isnull);
	t->rate_limit = isnull ? 0 : DatumGetInt32(d);
	d = SPI_getbinval(tup, desc, 4, &isnull);
	t->timeout_ms = isnull ? 0 : DatumGetInt32(d);
	t->destination_owner = role_oid_or_invalid(tup, desc, 5);
	t->conn.name = SPI_getvalue(tup, desc, 6);
	authtype = SPI_getvalue(tup, desc, 7);
	d = SPI_getbinval(tup, desc, 8, &isnull);
	secrets = isnull ? NULL : DatumGetJsonbPCopy(d);
	d = SPI_getbinval(tup, desc, 9, &isnull);
	t->conn.updated_at = isnull ? 0 : DatumGetTimestampTz(d);
	t->connection_owner = role_oid_or_invalid(tup, desc, 10);

	if (t->endpoint == NULL || t->method == NULL || authtype == NULL || secrets == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("API destination \"%s\" or its connection lacks a value", t->destination)));
	http_auth_prepare(&t->conn, authtype, secrets);
	http_request_prepare(t, target->http_parameters);
	t->stats = http_stats_entry(t->destination);
	MemoryContextSwitchTo(oldcxt);
	return st;
}

/* Text safe to store (valid in the database encoding, no NUL), palloc'd. */
static char *
safe_text(const char *s, size_t len)
{
	char	   *out = palloc(len + 1);
	size_t		o = 0;
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;

	for (size_t i = 0; i < len;)
	{
		unsigned char c = (unsigned char) s[i];

		if (c != 0 && c < 0x80)
		{
			out[o++] = s[i++];
			continue;
		}
		if (utf8 && c >= 0x80)
		{
			int			l = pg_utf_mblen((const unsigned char *) s + i);

			if (i + l <= len && pg_utf8_islegal((const unsigned char *) s + i, l))
			{
				memcpy(out + o, s + i, l);
				o += l;
				i += l;
				continue;
			}
			if (i + l > len)
				break;			/* cut in the middle of a character */
		}
		out[o++] = '?';
		i++;
	}
	out[o] = '\0';
	return out;
}

static void
set_result(DeliveryResult *r, DeliveryStatus status, const char *code,
		   char *message, int64 retry_after_ms)
{
	r->status = status;
	strlcpy(r->error_code, code ? code : "", sizeof(r->error_code));
	r->error_message = message;
	r->retry_after_ms = retry_after_ms;
}

static bool
retried_status(long status)
{
	return status == 401 || status == 407 || status == 409 || status == 429 ||
		(status >= 500 && status <= 599);
}

/* The result of a completed request, allocated in cxt. */
static void
classify(const HttpTarget *t, HttpCall *call, DeliveryResult *r, MemoryContext cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	char	   *body = safe_text(call->resp_body ? call->resp_body : "", call->resp_len);

	/* (an address refused before another one worked is no refusal) */
	if (call->denied && call->code != CURLE_OK)
	{
		http_stats_finished(t->stats, HTTP_OUTCOME_DENIED, 0, call->latency_ms);
		set_result(r, DELIVERY_PERMANENT, "RequestDenied",
				   psprintf("the request to API destination \"%s\" (host %s) was refused: address %s is not allowed; add it to eventbus.http_allowed_networks to allow it",
							t->destination, call->host ? call->host : "?", call->denied_address),
				   0);
	}
	else if (call->code == CURLE_OPERATION_TIMEDOUT)
	{
		http_stats_finished(t->stats, HTTP_OUTCOME_TIMEOUT, 0, call->latency_ms);
		set_result(r, DELIVERY_RETRY, "Timeout",
				   psprintf("no response from API destination \"%s\" within %d ms",
							t->destination, call->timeout_ms),
				   0);
	}
	else if (call->code != CURLE_OK)
	{
		http_stats_finished(t->stats, HTTP_OUTCOME_NETWORK_ERROR, 0, call->latency_ms);
		set_result(r, DELIVERY_RETRY, "ConnectionError",
				   safe_text(call->errbuf[0] ? call->errbuf : curl_easy_strerror(call->code),
							 strlen(call->errbuf[0] ? call->errbuf : curl_easy_strerror(call->code))),
				   0);
	}
	else
	{
		char		code[64];

		http_stats_finished(t->stats, HTTP_OUTCOME_RESPONSE, call->status, call->latency_ms);
		snprintf(code, sizeof(code), "HTTP %ld", call->status);
		if (call->status >= 200 && call->status <= 299)
			set_result(r, DELIVERY_OK, NULL, NULL, 0);
		else if (retried_status(call->status))
			set_result(r, DELIVERY_RETRY, code, body, call->retry_after_ms);
		else
			set_result(r, DELIVERY_PERMANENT, code, body, 0);
	}
	MemoryContextSwitchTo(oldcxt);
}

/* The original event of a message, from eventbus.events (NULL when gone). */
static Jsonb *
read_event(const DeliveryMessage *msg, MemoryContext cxt)
{
	static const char *query =
		"SELECT eventbus.event_envelope(e) FROM eventbus.events e"
		" WHERE e.id = $1 AND e.ingestion_time = $2";
	Oid			argtypes[2] = {UUIDOID, TIMESTAMPTZOID};
	Datum		args[2];
	Jsonb	   *event = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	args[0] = UUIDPGetDatum(unconstify(pg_uuid_t *, &msg->event_id));
	args[1] = TimestampTzGetDatum(msg->event_ingestion_time);
	if (SPI_execute_with_args(query, 2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "eventbus: could not read an event");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(cxt);

			event = DatumGetJsonbPCopy(d);
			MemoryContextSwitchTo(oldcxt);
		}
	}
	SPI_finish();
	return event;
}

/* Whether the owners may use the destination and its connection; else why not. */
static char *
privilege_problem(const PushTarget *target, const HttpTarget *t)
{
#ifdef EB_PRIV_INVOKE
	if (eventbus_check_privilege_fresh(EB_OBJECT_API_DESTINATION, t->destination,
									   EB_PRIV_INVOKE, target->owner) != EB_ACCESS_OK)
		return psprintf("role \"%s\" has no invoke privilege on API destination \"%s\"",
						GetUserNameFromId(target->owner, true) ? GetUserNameFromId(target->owner, true) : "?",
						t->destination);
	if (eventbus_check_privilege_fresh(EB_OBJECT_CONNECTION, t->conn.name,
									   EB_PRIV_USE, t->destination_owner) != EB_ACCESS_OK)
		return psprintf("the owner of API destination \"%s\" has no use privilege on connection \"%s\"",
						t->destination, t->conn.name);
#endif
	return NULL;
}

/* The state of one batch's delivery. */
typedef struct HttpBatch
{
	DeliveryBatch *batch;
	HttpTarget *t;
	MemoryContext resultcxt;
	Jsonb	  **events;
	HttpCall  **calls;
	bool	   *resent;
	int		   *queue;
	int			qhead;
	int			qtail;
	bool		no_more_starts; /* the deadline, or no start time before it */
	bool		rate_limited;	/* ... because of the rate limit */
	int			started;		/* requests started in this batch */
	HttpCall   *token_call;
} HttpBatch;

/* Every message still queued fails as the token request did. */
static void
fail_queued(HttpBatch *hb, DeliveryStatus status, const char *code, const char *message)
{
	while (hb->qhead < hb->qtail)
	{
		int			i = hb->queue[hb->qhead++];

		set_result(&hb->batch->results[i], status, code,
				   MemoryContextStrdup(hb->resultcxt, message), 0);
	}
}

static void
handle_done(HttpBatch *hb, HttpCall *call)
{
	HttpTarget *t = hb->t;
	int			i = call->index;

	if (call == hb->token_call)
	{
		char	   *code;
		char	   *message;
		DeliveryStatus status = http_auth_token_done(&t->conn, call, &code, &message);

		hb->token_call = NULL;
		http_call_release(call);
		if (status != DELIVERY_OK)
			fail_queued(hb, status, code, message);
		return;
	}

	/* a cached OAuth token refused: a new token, and this request once more */
	if (call->code == CURLE_OK &&
		(call->status == 401 || call->status == 407) &&
		t->conn.kind == HTTP_AUTH_OAUTH && !hb->resent[i])
	{
		http_stats_finished(t->stats, HTTP_OUTCOME_RESPONSE, call->status, call->latency_ms);
		http_auth_drop_token(&t->conn);
		hb->resent[i] = true;
		hb->queue[hb->qtail++] = i;
		http_call_release(call);
		hb->calls[i] = NULL;
		return;
	}
	classify(t, call, &hb->batch->results[i], hb->resultcxt);
	http_call_release(call);
	hb->calls[i] = NULL;
}

/* Start what may start now; *wait_ms: when the next may (-1: not for time). */
static void
start_requests(HttpBatch *hb, TimestampTz now, long *wait_ms,
			   bool *slot_reserved, TimestampTz *slot)
{
	HttpTarget *t = hb->t;
	DeliveryBatch *batch = hb->batch;

	*wait_ms = -1;
	while (!hb->no_more_starts && hb->qhead < hb->qtail &&
		   http_engine_in_flight() - (hb->token_call ? 1 : 0) < eventbus_http_max_in_flight)
	{
		const char *auth = http_auth_header(&t->conn);
		int			i;
		DeliveryMessage *msg;
		HttpCall   *call;
		char	   *error;

		if (t->conn.kind == HTTP_AUTH_OAUTH && auth == NULL)
		{
			if (hb->token_call == NULL)
			{
				hb->token_call = http_auth_token_call(&t->conn, t->timeout_ms);
				http_engine_start(hb->token_call);
			}
			return;
		}
		if (!*slot_reserved)
		{
			TimestampTz not_after = batch->deadline != 0 ? batch->deadline : DT_NOEND;

			if (!http_stats_take_slot(t->stats, &t->local_slot,
									  eventbus_http_rate_limits ? t->rate_limit : 0, now,
									  not_after, slot))
			{
				/* none before the deadline: the rest waits for a later batch */
				hb->no_more_starts = true;
				hb->rate_limited = true;
				batch->not_before = *slot;
				return;
			}
			*slot_reserved = true;
		}
		if (*slot > now)
		{
			*wait_ms = (long) ((*slot - now + 999) / 1000);
			return;
		}
		i = hb->queue[hb->qhead++];
		msg = batch->messages[i];
		call = palloc0(sizeof(HttpCall));
		call->index = i;
		if (!http_request_build(t, msg, hb->events[i], auth, call, &error))
		{
			set_result(&batch->results[i], DELIVERY_PERMANENT, "InvalidParameter",
					   MemoryContextStrdup(hb->resultcxt, error), 0);
			continue;
		}
		hb->calls[i] = call;
		http_engine_start(call);
		hb->started++;
		http_stats_started(t->stats);
		*slot_reserved = false;
	}
}

/* The requests still in flight end unfinished: their messages stay as they were. */
static void
abandon(HttpBatch *hb)
{
	for (int i = 0; i < hb->batch->nmessages; i++)
		if (hb->calls[i] && hb->calls[i]->easy && !hb->calls[i]->done)
			http_stats_finished(hb->t->stats, HTTP_OUTCOME_NETWORK_ERROR, 0, -1);
	http_engine_abandon_all();
	hb->token_call = NULL;
}

static void
http_invoke_batch(DeliveryBatch *batch)
{
	HttpTargetState *st = (HttpTargetState *) batch->target->state;
	HttpTarget *t = &st->t;
	MemoryContext workcxt;
	MemoryContext oldcxt;
	HttpBatch	hb;
	HttpCall  **done;
	char	   *problem;
	int			n = batch->nmessages;
	bool		slot_reserved = false;
	TimestampTz slot = 0;

	memset(&hb, 0, sizeof(hb));
	hb.batch = batch;
	hb.t = t;
	hb.resultcxt = CurrentMemoryContext;

	if (st->unusable_code)
	{
		for (int i = 0; i < n; i++)
			set_result(&batch->results[i], DELIVERY_PERMANENT, st->unusable_code,
					   pstrdup(st->unusable_message), 0);
		return;
	}
	problem = privilege_problem(batch->target, t);
	if (problem)
	{
		for (int i = 0; i < n; i++)
			set_result(&batch->results[i], DELIVERY_PERMANENT, "42501", pstrdup(problem), 0);
		return;
	}
	if (t->timeout_ms <= 0)
		t->timeout_ms = eventbus_http_timeout;

	workcxt = AllocSetContextCreate(CurrentMemoryContext, "eventbus http batch",
									ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(workcxt);
	hb.events = palloc0(n * sizeof(Jsonb *));
	hb.calls = palloc0(n * sizeof(HttpCall *));
	hb.resent = palloc0(n * sizeof(bool));
	hb.queue = palloc(2 * n * sizeof(int));
	done = palloc((n + 2) * sizeof(HttpCall *));

	for (int i = 0; i < n; i++)
	{
		DeliveryMessage *msg = batch->messages[i];

		if (msg->invalid)
		{
			set_result(&batch->results[i], DELIVERY_PERMANENT, "InvalidMessage",
					   MemoryContextStrdup(hb.resultcxt, msg->invalid), 0);
			continue;
		}
		if (msg->payload_is_event && msg->payload)
			hb.events[i] = msg->payload;
		else if (t->needs_event || msg->payload == NULL)
			hb.events[i] = read_event(msg, hb.resultcxt);
		if (msg->payload == NULL && hb.events[i] == NULL)
		{
			set_result(&batch->results[i], DELIVERY_PERMANENT, "InvalidMessage",
					   MemoryContextStrdup(hb.resultcxt, "the message has no payload and its event is gone"), 0);
			continue;
		}
		if (msg->payload == NULL)
			msg->payload = hb.events[i];
		hb.queue[hb.qtail++] = i;
	}

	http_engine_batch_begin();
	PG_TRY();
	{
		for (;;)
		{
			TimestampTz now;
			long		wait_ms;
			int			ndone;

			/* before CHECK_FOR_INTERRUPTS: a cancel left by SIGTERM must not raise */
			if (eventbus_worker_stopping)
				break;
			CHECK_FOR_INTERRUPTS();
			now = GetCurrentTimestamp();
			start_requests(&hb, now, &wait_ms, &slot_reserved, &slot);
			if (http_engine_in_flight() == 0 &&
				(hb.qhead == hb.qtail || hb.no_more_starts))
			{
				/*
				 * The rate limit let nothing start before the deadline: the
				 * messages stay for a later visit, which delivery.c makes at
				 * once.  Rather than come back in a tight loop, spend the
				 * visit's budget waiting (on the latch too, so new work
				 * elsewhere ends the wait).
				 */
				if (hb.rate_limited && hb.started == 0 && batch->deadline > now)
					(void) http_engine_wait((long) ((batch->deadline - now) / 1000) + 1,
											done, n + 2);
				break;
			}
			if (http_engine_in_flight() == 0 && wait_ms < 0)
				break;			/* nothing can happen (cannot be reached) */
			ndone = http_engine_wait(wait_ms, done, n + 2);
			for (int k = 0; k < ndone; k++)
				handle_done(&hb, done[k]);
		}
		abandon(&hb);
	}
	PG_CATCH();
	{
		abandon(&hb);
		http_engine_batch_end();
		PG_RE_THROW();
	}
	PG_END_TRY();
	http_engine_batch_end();
	MemoryContextSwitchTo(oldcxt);
	/* results' messages live in resultcxt; the requests' memory goes */
	MemoryContextDelete(workcxt);
}

const TargetKind target_kind_api_destination = {
	.name = "api_destination",
	.pushed = true,
	.parse_arn = http_parse_arn,
	.prepare = http_prepare,
	.invoke = NULL,
	.classify_error = NULL,
	.invoke_batch = http_invoke_batch,
};
