/*-------------------------------------------------------------------------
 *
 * http_multi.c
 *	  The HTTP request engine of a delivery worker, on libcurl's multi
 *	  interface.
 *
 * One multi handle per worker process, kept across batches: libcurl's
 * connection cache lives in it, so connections to a destination are reused
 * (HTTP keep-alive) from one batch to the next, until a setting they were
 * opened under changes (http_engine_batch_begin).  Requests are added one by
 * one (http_engine_start) and completed ones are collected by
 * http_engine_wait, which waits once on a WaitEventSet holding the
 * worker's latch, postmaster death and the sockets libcurl asks to watch
 * (its socket callback); the set is rebuilt only when those sockets change.
 * The wait lasts until a socket is ready, libcurl's timer (its timer
 * callback) is due, the latch is set, or the caller's timeout passes.
 * Nothing here blocks on a whole batch: the caller starts the next request
 * as soon as one completes (pipelining), and stays responsive to SIGTERM.
 *
 * A latch set while waiting is reset here (or waiting would spin), and set
 * again by http_engine_batch_end so that the worker's own loop still sees
 * the wake-up it meant.
 *
 * Every request: no redirects, http and https only, no proxy (the address
 * checked by http_guard.c is the server's), TLS verification unless
 * eventbus.http_verify_tls is off, CA file eventbus.http_ca_file, a timeout
 * (the whole request), the first HTTP_BODY_START bytes of the response body
 * kept, Retry-After parsed (seconds or an HTTP date).
 *
 * libcurl's memory is malloc'd, not palloc'd: a request in flight outlives
 * no batch, since the caller abandons every request (http_engine_abandon_all)
 * when its batch ends early or fails.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "http.h"
#include "worker.h"

typedef struct SockWatch
{
	curl_socket_t fd;
	int			what;			/* CURL_POLL_IN, _OUT, _INOUT */
} SockWatch;

static CURLM *multi = NULL;
static SockWatch *socks = NULL;
static int	nsocks = 0;
static int	maxsocks = 0;
static bool socks_changed = true;
static bool timer_set = false;
static TimestampTz timer_due = 0;
static WaitEventSet *wes = NULL;
static bool latch_was_set = false;

static HttpCall **inflight = NULL;
static int	ninflight = 0;
static int	maxinflight = 0;

/* libcurl's socket callback: watch, change or forget a socket. */
static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	int			i;

	for (i = 0; i < nsocks; i++)
		if (socks[i].fd == s)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < nsocks)
		{
			socks[i] = socks[--nsocks];
			socks_changed = true;
		}
		return 0;
	}
	if (i < nsocks)
	{
		if (socks[i].what != what)
		{
			socks[i].what = what;
			socks_changed = true;
		}
		return 0;
	}
	if (nsocks == maxsocks)
	{
		int			newmax = maxsocks ? maxsocks * 2 : 16;
		SockWatch  *grown = realloc(socks, newmax * sizeof(SockWatch));

		if (grown == NULL)
			return -1;			/* libcurl fails the transfer */
		socks = grown;
		maxsocks = newmax;
	}
	socks[nsocks].fd = s;
	socks[nsocks].what = what;
	nsocks++;
	socks_changed = true;
	return 0;
}

/* libcurl's timer callback: when to call it back without socket activity. */
static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	if (timeout_ms < 0)
		timer_set = false;
	else
	{
		timer_set = true;
		timer_due = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	}
	return 0;
}

static void
engine_init(void)
{
	if (multi != NULL)
		return;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialise libcurl")));
	multi = curl_multi_init();
	if (multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	/* as many connections to one host as requests in flight, and kept */
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) eventbus_http_max_in_flight);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) Max(eventbus_http_max_in_flight * 2, 16));
}

/* Write callback: keep the start of the body (all of it for a token). */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	HttpCall   *call = (HttpCall *) userp;
	size_t		len = size * nmemb;
	size_t		cap = call->keep_body ? HTTP_TOKEN_BODY_MAX : HTTP_BODY_START;
	size_t		take;

	if (call->resp_body == NULL)
	{
		call->resp_body = malloc(cap + 1);
		if (call->resp_body == NULL)
			return len;			/* the start of the body is lost, not the response */
		call->resp_len = 0;
	}
	take = Min(len, cap - call->resp_len);
	if (take > 0)
	{
		memcpy(call->resp_body + call->resp_len, data, take);
		call->resp_len += take;
	}
	call->resp_body[call->resp_len] = '\0';
	return len;
}

/* Header callback: Retry-After (seconds, or an HTTP date). */
static size_t
header_cb(char *data, size_t size, size_t nitems, void *userp)
{
	HttpCall   *call = (HttpCall *) userp;
	size_t		len = size * nitems;
	char		value[128];
	size_t		vlen;
	const char *v;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
	{
		call->retry_after_ms = 0;	/* a new response (after a 100 Continue) */
		return len;
	}
	if (len <= 12 || pg_strncasecmp(data, "Retry-After:", 12) != 0)
		return len;
	v = data + 12;
	vlen = len - 12;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
						v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	if (vlen == 0 || vlen >= sizeof(value))
		return len;
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	if (strspn(value, "0123456789") == vlen)
	{
		if (vlen <= 9)
			call->retry_after_ms = (int64) atol(value) * 1000;
		else
			call->retry_after_ms = (int64) 999999999 * 1000;
	}
	else
	{
		time_t		when = curl_getdate(value, NULL);
		time_t		now = time(NULL);

		if (when > now)
			call->retry_after_ms = (int64) (when - now) * 1000;
	}
	return len;
}

static void
inflight_add(HttpCall *call)
{
	if (ninflight == maxinflight)
	{
		int			newmax = maxinflight ? maxinflight * 2 : 64;

		inflight = inflight
			? repalloc(inflight, newmax * sizeof(HttpCall *))
			: MemoryContextAlloc(TopMemoryContext, newmax * sizeof(HttpCall *));
		maxinflight = newmax;
	}
	inflight[ninflight++] = call;
}

static void
inflight_remove(HttpCall *call)
{
	for (int i = 0; i < ninflight; i++)
		if (inflight[i] == call)
		{
			inflight[i] = inflight[--ninflight];
			return;
		}
}

#define SETOPT(opt, val) \
	do { \
		if (curl_easy_setopt(easy, opt, val) != CURLE_OK) \
			failed = #opt; \
	} while (0)

/* Start a request: it is in flight until http_engine_wait returns it. */
void
http_engine_start(HttpCall *call)
{
	CURL	   *easy;
	const char *failed = NULL;
	struct curl_slist *h;

	engine_init();

	easy = curl_easy_init();
	if (easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	call->easy = easy;
	call->done = false;
	call->code = CURLE_OK;
	call->status = 0;
	call->errbuf[0] = '\0';
	call->resp_body = NULL;
	call->resp_len = 0;
	call->retry_after_ms = 0;
	call->denied = false;
	call->denied_address[0] = '\0';
	call->latency_ms = 0;

	/* no "Expect: 100-continue" round trip before a larger body */
	h = curl_slist_append(call->headers, "Expect:");
	if (h == NULL)
		failed = "headers";
	else
		call->headers = h;

	SETOPT(CURLOPT_PRIVATE, call);
	SETOPT(CURLOPT_URL, call->url);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SETOPT(CURLOPT_REDIR_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_NOPROXY, "*");
	SETOPT(CURLOPT_OPENSOCKETFUNCTION, http_guard_opensocket);
	SETOPT(CURLOPT_OPENSOCKETDATA, call);
	SETOPT(CURLOPT_TIMEOUT_MS, (long) call->timeout_ms);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, eventbus_http_verify_tls ? 1L : 0L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, eventbus_http_verify_tls ? 2L : 0L);
	if (eventbus_http_ca_file && eventbus_http_ca_file[0])
		SETOPT(CURLOPT_CAINFO, eventbus_http_ca_file);
	SETOPT(CURLOPT_USERAGENT, "eventbus");
	SETOPT(CURLOPT_ERRORBUFFER, call->errbuf);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, call);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, call);
	SETOPT(CURLOPT_HTTPHEADER, call->headers);

	if (strcmp(call->method, "GET") == 0)
		SETOPT(CURLOPT_HTTPGET, 1L);
	else if (strcmp(call->method, "HEAD") == 0)
		SETOPT(CURLOPT_NOBODY, 1L);
	else
	{
		if (strcmp(call->method, "POST") != 0)
			SETOPT(CURLOPT_CUSTOMREQUEST, call->method);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) (call->body ? call->body_len : 0));
		SETOPT(CURLOPT_COPYPOSTFIELDS, call->body ? call->body : "");
	}

	if (failed == NULL && curl_multi_add_handle(multi, easy) != CURLM_OK)
		failed = "curl_multi_add_handle";
	if (failed)
	{
		curl_easy_cleanup(easy);
		call->easy = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not set up an HTTP request"),
				 errdetail("libcurl refused %s.", failed)));
	}
	call->started_at = GetCurrentTimestamp();
	inflight_add(call);
}

/* Free what libcurl holds of a request (after it completed or was abandoned). */
void
http_call_release(HttpCall *call)
{
	if (call->easy)
	{
		curl_multi_remove_handle(multi, call->easy);
		curl_easy_cleanup(call->easy);
		call->easy = NULL;
	}
	curl_slist_free_all(call->headers);
	call->headers = NULL;
	free(call->resp_body);
	call->resp_body = NULL;
}

int
http_engine_in_flight(void)
{
	return ninflight;
}

/* Forget every request in flight (the batch stops; results stay as they were). */
void
http_engine_abandon_all(void)
{
	while (ninflight > 0)
	{
		HttpCall   *call = inflight[--ninflight];

		http_call_release(call);
	}
}

/*
 * Before a batch (no request in flight): when the settings that connections
 * were opened under changed (the allowed networks, TLS verification, the CA
 * file, the connection limits), drop the multi handle and with it every
 * kept connection, so that none opened under the old settings is reused.
 */
void
http_engine_batch_begin(void)
{
	static char *signature = NULL;
	bool		guard_changed = http_guard_refresh();
	char	   *now = psprintf("%s|%d|%d", eventbus_http_ca_file ? eventbus_http_ca_file : "",
							   (int) eventbus_http_verify_tls, eventbus_http_max_in_flight);

	if (multi != NULL && ninflight == 0 &&
		(guard_changed || signature == NULL || strcmp(signature, now) != 0))
	{
		curl_multi_cleanup(multi);
		multi = NULL;
		nsocks = 0;
		socks_changed = true;
		timer_set = false;
	}
	if (signature == NULL || strcmp(signature, now) != 0)
	{
		if (signature)
			pfree(signature);
		signature = MemoryContextStrdup(TopMemoryContext, now);
	}
	pfree(now);
	engine_init();
}

/* The worker's latch was reset while waiting: set it again for its loop. */
void
http_engine_batch_end(void)
{
	if (latch_was_set)
	{
		latch_was_set = false;
		SetLatch(MyLatch);
	}
}

static void
rebuild_wait_set(void)
{
	if (wes)
		FreeWaitEventSet(wes);
	wes = NULL;
#if PG_VERSION_NUM >= 170000
	wes = CreateWaitEventSet(NULL, nsocks + 2);
#else
	wes = CreateWaitEventSet(TopMemoryContext, nsocks + 2);
#endif
	AddWaitEventToSet(wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < nsocks; i++)
	{
		uint32		events = 0;

		if (socks[i].what & CURL_POLL_IN)
			events |= WL_SOCKET_READABLE;
		if (socks[i].what & CURL_POLL_OUT)
			events |= WL_SOCKET_WRITEABLE;
		AddWaitEventToSet(wes, events, socks[i].fd, NULL, NULL);
	}
	socks_changed = false;
}

/* Collect the completed requests into done[]. */
static int
collect_done(HttpCall **done, int maxdone)
{
	CURLMsg    *msg;
	int			left;
	int			n = 0;

	while (n < maxdone && (msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		HttpCall   *call = NULL;
		double		total = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &call);
		if (call == NULL)
			continue;
		call->code = msg->data.result;
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &call->status);
		curl_easy_getinfo(call->easy, CURLINFO_TOTAL_TIME, &total);
		call->latency_ms = total * 1000.0;
		call->done = true;
		curl_multi_remove_handle(multi, call->easy);
		inflight_remove(call);
		done[n++] = call;
	}
	return n;
}

/*
 * Wait once (at most timeout_ms, -1: as long as libcurl needs), drive the
 * transfers, and return the requests that completed (done[] must hold
 * http_engine_in_flight() of them).
 */
int
http_engine_wait(long timeout_ms, HttpCall **done, int maxdone)
{
	WaitEvent	events[64];
	int			nev;
	int			running;
	long		wait_ms = timeout_ms;
	int			n;

	engine_init();

	/* what completed already (an error when a request was added) */
	n = collect_done(done, maxdone);
	if (n > 0)
		return n;

	if (timer_set)
	{
		long		secs_ms;
		long		due_ms;
		TimestampTz now = GetCurrentTimestamp();

		if (timer_due <= now)
			due_ms = 0;
		else
		{
			secs_ms = (long) ((timer_due - now + 999) / 1000);
			due_ms = secs_ms;
		}
		if (wait_ms < 0 || due_ms < wait_ms)
			wait_ms = due_ms;
	}
	/* never longer than a second: the caller checks its deadline and SIGTERM */
	if (wait_ms < 0 || wait_ms > 1000)
		wait_ms = 1000;
	/* a sign of life for delivery_workers while requests are in flight */
	worker_heartbeat();

	if (wait_ms > 0)
	{
		if (socks_changed || wes == NULL)
			rebuild_wait_set();
		nev = WaitEventSetWait(wes, wait_ms, events, lengthof(events), PG_WAIT_EXTENSION);
		for (int i = 0; i < nev; i++)
		{
			WaitEvent  *ev = &events[i];

			if (ev->events & WL_LATCH_SET)
			{
				ResetLatch(MyLatch);
				latch_was_set = true;
			}
			if (ev->events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			{
				int			mask = 0;

				if (ev->events & WL_SOCKET_READABLE)
					mask |= CURL_CSELECT_IN;
				if (ev->events & WL_SOCKET_WRITEABLE)
					mask |= CURL_CSELECT_OUT;
				curl_multi_socket_action(multi, ev->fd, mask, &running);
			}
		}
	}
	if (timer_set && timer_due <= GetCurrentTimestamp())
	{
		timer_set = false;
		curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	return collect_done(done, maxdone);
}
