/*-------------------------------------------------------------------------
 *
 * http.h
 *	  HTTP targets (API destinations): what the files of the module share.
 *
 * target_http.c is the target kind (prepare a target, deliver a batch);
 * http_request.c builds a request from a prepared target and a message;
 * http_auth.c owns a connection's authorization (Basic, API key, OAuth
 * client credentials and the token cache); http_multi.c is the request
 * engine on libcurl's multi interface; http_guard.c refuses addresses a
 * request must not reach (SSRF); http_stats.c keeps the per-destination
 * rate limit and metrics in shared memory; http_settings.c defines the
 * eventbus.http_* settings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_HTTP_H
#define EVENTBUS_HTTP_H

#include "postgres.h"

#include <curl/curl.h>

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "target_kind.h"
#include "transform.h"

/* Settings (http_settings.c). */
extern int	eventbus_http_max_in_flight;
extern int	eventbus_http_timeout;
extern char *eventbus_http_allowed_networks;
extern char *eventbus_http_ca_file;
extern bool eventbus_http_verify_tls;
extern bool eventbus_http_rate_limits;

extern void http_define_settings(void);

/* How much of a response body is kept (for dead letters). */
#define HTTP_BODY_START 256
/* An OAuth token response is read up to this size. */
#define HTTP_TOKEN_BODY_MAX (64 * 1024)

/* A header, query-string or body parameter: static, or a path into the event. */
typedef struct HttpParam
{
	char	   *key;
	char	   *value;			/* static value, or the path's text */
	bool		is_path;
	TransformPath path;
} HttpParam;

typedef enum HttpAuthKind
{
	HTTP_AUTH_BASIC,
	HTTP_AUTH_API_KEY,
	HTTP_AUTH_OAUTH
} HttpAuthKind;

/* A connection, prepared (http_auth.c); secrets live only here, in memory. */
typedef struct HttpConnection
{
	char	   *name;
	HttpAuthKind kind;
	TimestampTz updated_at;		/* with name, the token cache's key */
	char	   *auth_header;	/* Basic and API key: "Name: value" */
	/* OAuth client credentials */
	char	   *token_url;		/* AuthorizationEndpoint with its query string */
	char	   *token_method;	/* GET or POST */
	char	   *token_basic;	/* "Authorization: Basic base64(id:secret)" */
	int			ntoken_headers;
	char	  **token_headers;	/* "Name: value" */
	char	   *token_body;		/* form-encoded, POST only */
	/* InvocationHttpParameters: sent with every request */
	int			nheaders;
	HttpParam  *headers;
	int			nquery;
	HttpParam  *query;
	Jsonb	   *body_params;	/* object merged into an object body, or NULL */
} HttpConnection;

struct HttpDestStats;

/* A prepared api_destination target (PushTarget.state). */
typedef struct HttpTarget
{
	char	   *destination;
	char	   *endpoint;
	char	   *method;
	int			rate_limit;		/* requests per second, 0: none */
	int			timeout_ms;
	Oid			destination_owner;
	Oid			connection_owner;
	HttpConnection conn;
	/* the target's HttpParameters */
	int			npath;
	HttpParam  *path;
	int			nheaders;
	HttpParam  *headers;
	int			nquery;
	HttpParam  *query;
	bool		needs_event;	/* some value is a path into the event */
	struct HttpDestStats *stats;	/* shared entry, or NULL */
	TimestampTz local_slot;		/* rate limit without shared memory */
} HttpTarget;

/* One request through the engine, and its outcome. */
typedef struct HttpCall
{
	/* the request (owned by the engine from http_engine_start on) */
	char	   *url;
	const char *method;
	struct curl_slist *headers;
	char	   *body;			/* NULL: none */
	size_t		body_len;
	int			timeout_ms;
	const char *host;			/* the URL's host, for the allowlist */
	bool		keep_body;		/* keep up to HTTP_TOKEN_BODY_MAX (token) */
	void	   *arg;			/* the caller's */
	int			index;			/* the caller's */

	/* the outcome */
	CURL	   *easy;
	bool		done;
	CURLcode	code;
	long		status;
	char		errbuf[CURL_ERROR_SIZE];
	char	   *resp_body;		/* malloc'd, NUL-terminated */
	size_t		resp_len;
	int64		retry_after_ms; /* from Retry-After, 0 when none */
	bool		denied;			/* the guard refused an address */
	char		denied_address[64];
	TimestampTz started_at;
	double		latency_ms;
} HttpCall;

/* http_multi.c */
extern void http_engine_start(HttpCall *call);
extern int	http_engine_wait(long timeout_ms, HttpCall **done, int maxdone);
extern int	http_engine_in_flight(void);
extern void http_engine_abandon_all(void);
extern void http_call_release(HttpCall *call);
extern void http_engine_batch_begin(void);
extern void http_engine_batch_end(void);

/* http_guard.c */
extern int	http_guard_opensocket(void *clientp, curlsocktype purpose,
								  struct curl_sockaddr *address);
extern bool http_guard_url_host(const char *url, char **host);
extern bool http_guard_check_networks(const char *value, char **problem);
extern bool http_guard_refresh(void);

/* http_request.c */
extern void http_request_prepare(HttpTarget *t, Jsonb *http_parameters);
extern bool http_request_build(const HttpTarget *t, const DeliveryMessage *msg,
							   Jsonb *event, const char *auth_header, HttpCall *call,
							   char **error);
extern char *http_url_encode(const char *s, int len);
extern void http_params_from_aws(JsonbContainer *container, const char *member,
								 int *n, HttpParam **params, bool allow_paths);

/* http_auth.c */
extern void http_auth_prepare(HttpConnection *conn, const char *authorization_type,
							  Jsonb *auth_parameters);
extern const char *http_auth_header(const HttpConnection *conn);
extern HttpCall *http_auth_token_call(const HttpConnection *conn, int timeout_ms);
extern DeliveryStatus http_auth_token_done(const HttpConnection *conn, HttpCall *call,
										   char **error_code, char **error);
extern void http_auth_drop_token(const HttpConnection *conn);

/* http_stats.c */
typedef enum HttpOutcome
{
	HTTP_OUTCOME_RESPONSE,		/* status set */
	HTTP_OUTCOME_TIMEOUT,
	HTTP_OUTCOME_NETWORK_ERROR,
	HTTP_OUTCOME_DENIED
} HttpOutcome;

extern Size http_stats_shmem_size(void);
extern void http_stats_shmem_startup(void);
extern struct HttpDestStats *http_stats_entry(const char *destination);
extern bool http_stats_take_slot(struct HttpDestStats *entry, TimestampTz *local_slot,
								 int rate_limit, TimestampTz now, TimestampTz not_after,
								 TimestampTz *slot);
extern void http_stats_started(struct HttpDestStats *entry);
extern void http_stats_finished(struct HttpDestStats *entry, HttpOutcome outcome,
								long status, double latency_ms);

#endif							/* EVENTBUS_HTTP_H */
