/*-------------------------------------------------------------------------
 *
 * http_auth.c
 *	  The authorization of a connection: Basic, API key, or OAuth client
 *	  credentials with a per-worker token cache.
 *
 * http_auth_prepare reads a connection's full AuthParameters (from
 * eventbus.connection_secrets, secrets included) into an HttpConnection.
 * Secrets stay in the worker's memory: no message of this module (nor of
 * any other) prints them; an error says which parameter is wrong, never its
 * value.
 *
 * Basic: "Authorization: Basic base64(Username:Password)".  API key: the
 * header ApiKeyName with the value ApiKeyValue.  OAuth client credentials,
 * as EventBridge requests a token: a request (HttpMethod, POST unless GET)
 * to AuthorizationEndpoint with the client id and secret in an
 * "Authorization: Basic" header (RFC 6749, section 2.3.1), the parameter
 * grant_type=client_credentials, and OAuthHttpParameters: its headers, its
 * query-string parameters, and its body parameters (scope, for instance),
 * form-encoded in the body of a POST or added to the query string of a GET.
 * The response is a JSON object with access_token and, optionally,
 * expires_in; requests then carry "Authorization: Bearer <access_token>".
 *
 * The token is cached per worker process and connection (its name and
 * updated_at, so a changed connection gets a new token) until 60 seconds
 * before it expires (half its lifetime for a short one), or until a
 * request with it gets a 401 or 407 (target_http.c then drops it, fetches a
 * new one and sends that request again, once).  The token request goes
 * through the same request engine (http_multi.c), so fetching a token never
 * blocks the worker; it is bounded by the destination's timeout.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "http.h"

typedef struct TokenEntry
{
	struct TokenEntry *next;
	char	   *connection;		/* malloc'd */
	TimestampTz updated_at;
	char	   *header;			/* malloc'd "Authorization: Bearer ..." */
	TimestampTz refresh_at;		/* 0: until a 401 */
} TokenEntry;

static TokenEntry *tokens = NULL;

#define TOKEN_REFRESH_MARGIN_SECS 60

static void
auth_error(const HttpConnection *conn, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("connection \"%s\" cannot be used: %s", conn->name, what),
			 errhint("Correct the connection with eventbus.update_connection().")));
}

/* A string member, or NULL when absent or not a string. */
static char *
member_string(JsonbContainer *c, const char *key)
{
	JsonbValue	v;

	if (c == NULL || !JsonContainerIsObject(c) ||
		getKeyJsonValueFromContainer(c, key, strlen(key), &v) == NULL ||
		v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/* An object member, or NULL. */
static JsonbContainer *
member_object(JsonbContainer *c, const char *key)
{
	JsonbValue	v;

	if (c == NULL || !JsonContainerIsObject(c) ||
		getKeyJsonValueFromContainer(c, key, strlen(key), &v) == NULL ||
		v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
		return NULL;
	return v.val.binary.data;
}

static bool
has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static char *
basic_header(const char *user, const char *password)
{
	char	   *plain = psprintf("%s:%s", user, password);
	int			len = strlen(plain);
	int			enclen = pg_b64_enc_len(len);
	char	   *enc = palloc(enclen + 1);
	int			n = pg_b64_encode(plain, len, enc, enclen);
	char	   *header;

	if (n < 0)
		elog(ERROR, "eventbus: could not encode credentials");
	enc[n] = '\0';
	header = psprintf("Authorization: Basic %s", enc);
	memset(plain, 0, len);
	pfree(plain);
	return header;
}

/* Append "k=v" form-encoded to buf. */
static void
append_form(StringInfo buf, const char *key, const char *value)
{
	if (buf->len > 0)
		appendStringInfoChar(buf, '&');
	appendStringInfoString(buf, http_url_encode(key, strlen(key)));
	appendStringInfoChar(buf, '=');
	appendStringInfoString(buf, http_url_encode(value, strlen(value)));
}

static void
prepare_oauth(HttpConnection *conn, JsonbContainer *oauth)
{
	JsonbContainer *client = member_object(oauth, "ClientParameters");
	JsonbContainer *params = member_object(oauth, "OAuthHttpParameters");
	char	   *endpoint = member_string(oauth, "AuthorizationEndpoint");
	char	   *method = member_string(oauth, "HttpMethod");
	char	   *id = member_string(client, "ClientID");
	char	   *secret = member_string(client, "ClientSecret");
	StringInfoData query;
	StringInfoData body;
	int			n;
	HttpParam  *p;

	if (endpoint == NULL)
		auth_error(conn, "OAuthParameters has no AuthorizationEndpoint");
	if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)
		auth_error(conn, "the AuthorizationEndpoint is not an http:// or https:// URL");
	if (id == NULL || secret == NULL)
		auth_error(conn, "OAuthParameters.ClientParameters lacks ClientID or ClientSecret");
	if (method == NULL)
		method = "POST";
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0)
		auth_error(conn, "the OAuth HttpMethod is not GET, POST or PUT");
	conn->token_method = method;
	conn->token_basic = basic_header(id, secret);

	initStringInfo(&query);
	initStringInfo(&body);
	http_params_from_aws(params, "QueryStringParameters", &n, &p, false);
	for (int i = 0; i < n; i++)
		append_form(&query, p[i].key, p[i].value);
	append_form(strcmp(method, "GET") == 0 ? &query : &body,
				"grant_type", "client_credentials");
	http_params_from_aws(params, "BodyParameters", &n, &p, false);
	for (int i = 0; i < n; i++)
		append_form(strcmp(method, "GET") == 0 ? &query : &body, p[i].key, p[i].value);
	if (query.len > 0)
		conn->token_url = psprintf("%s%c%s", endpoint,
								   strchr(endpoint, '?') ? '&' : '?', query.data);
	else
		conn->token_url = endpoint;
	conn->token_body = body.len > 0 ? body.data : NULL;

	http_params_from_aws(params, "HeaderParameters", &n, &p, false);
	conn->ntoken_headers = n;
	conn->token_headers = palloc(Max(n, 1) * sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		if (has_line_break(p[i].key) || has_line_break(p[i].value))
			auth_error(conn, "an OAuthHttpParameters header has a line break");
		conn->token_headers[i] = psprintf("%s: %s", p[i].key, p[i].value);
	}
}

/*
 * Prepare a connection (conn->name and updated_at set by the caller) from
 * its authorization type and full AuthParameters, in CurrentMemoryContext.
 */
void
http_auth_prepare(HttpConnection *conn, const char *authorization_type,
				  Jsonb *auth_parameters)
{
	JsonbContainer *root = &auth_parameters->root;
	JsonbContainer *inv;
	JsonbContainer *c;
	int			nbody;
	HttpParam  *body;

	if (!JsonContainerIsObject(root))
		auth_error(conn, "its AuthParameters are not a JSON object");

	if (strcmp(authorization_type, "BASIC") == 0)
	{
		char	   *user;
		char	   *password;

		c = member_object(root, "BasicAuthParameters");
		user = member_string(c, "Username");
		password = member_string(c, "Password");
		if (user == NULL || password == NULL)
			auth_error(conn, "BasicAuthParameters lacks Username or Password");
		conn->kind = HTTP_AUTH_BASIC;
		conn->auth_header = basic_header(user, password);
	}
	else if (strcmp(authorization_type, "API_KEY") == 0)
	{
		char	   *name;
		char	   *value;

		c = member_object(root, "ApiKeyAuthParameters");
		name = member_string(c, "ApiKeyName");
		value = member_string(c, "ApiKeyValue");
		if (name == NULL || value == NULL || name[0] == '\0')
			auth_error(conn, "ApiKeyAuthParameters lacks ApiKeyName or ApiKeyValue");
		if (has_line_break(name) || has_line_break(value) || strchr(name, ':'))
			auth_error(conn, "the API key name or value has a line break or the name a colon");
		conn->kind = HTTP_AUTH_API_KEY;
		conn->auth_header = psprintf("%s: %s", name, value);
	}
	else if (strcmp(authorization_type, "OAUTH_CLIENT_CREDENTIALS") == 0)
	{
		c = member_object(root, "OAuthParameters");
		if (c == NULL)
			auth_error(conn, "its AuthParameters have no OAuthParameters");
		conn->kind = HTTP_AUTH_OAUTH;
		prepare_oauth(conn, c);
	}
	else
		auth_error(conn, psprintf("authorization type \"%s\" is unknown", authorization_type));

	inv = member_object(root, "InvocationHttpParameters");
	http_params_from_aws(inv, "HeaderParameters", &conn->nheaders, &conn->headers, false);
	for (int i = 0; i < conn->nheaders; i++)
		if (has_line_break(conn->headers[i].key) || has_line_break(conn->headers[i].value))
			auth_error(conn, "an InvocationHttpParameters header has a line break");
	http_params_from_aws(inv, "QueryStringParameters", &conn->nquery, &conn->query, false);
	http_params_from_aws(inv, "BodyParameters", &nbody, &body, false);
	conn->body_params = NULL;
	if (nbody > 0)
	{
		JsonbParseState *state = NULL;
		JsonbValue *res;

		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		for (int i = 0; i < nbody; i++)
		{
			JsonbValue	k;
			JsonbValue	v;

			k.type = jbvString;
			k.val.string.val = body[i].key;
			k.val.string.len = strlen(body[i].key);
			v.type = jbvString;
			v.val.string.val = body[i].value;
			v.val.string.len = strlen(body[i].value);
			pushJsonbValue(&state, WJB_KEY, &k);
			pushJsonbValue(&state, WJB_VALUE, &v);
		}
		res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
		conn->body_params = JsonbValueToJsonb(res);
	}
}

static TokenEntry *
find_token(const HttpConnection *conn, bool create)
{
	TokenEntry *e;

	for (e = tokens; e; e = e->next)
		if (strcmp(e->connection, conn->name) == 0)
			break;
	if (e && e->updated_at != conn->updated_at)
	{
		/* the connection changed: its token is no longer good */
		free(e->header);
		e->header = NULL;
		e->updated_at = conn->updated_at;
	}
	if (e == NULL && create)
	{
		e = MemoryContextAllocZero(TopMemoryContext, sizeof(TokenEntry));
		e->connection = MemoryContextStrdup(TopMemoryContext, conn->name);
		e->updated_at = conn->updated_at;
		e->next = tokens;
		tokens = e;
	}
	return e;
}

/*
 * The authorization header a request carries ("Name: value"), or NULL for
 * an OAuth connection without a valid token (fetch one first).
 */
const char *
http_auth_header(const HttpConnection *conn)
{
	TokenEntry *e;

	if (conn->kind != HTTP_AUTH_OAUTH)
		return conn->auth_header;
	e = find_token(conn, false);
	if (e == NULL || e->header == NULL)
		return NULL;
	if (e->refresh_at != 0 && GetCurrentTimestamp() >= e->refresh_at)
		return NULL;
	return e->header;
}

/* Forget the token (a request with it got a 401 or 407). */
void
http_auth_drop_token(const HttpConnection *conn)
{
	TokenEntry *e = find_token(conn, false);

	if (e && e->header)
	{
		memset(e->header, 0, strlen(e->header));
		free(e->header);
		e->header = NULL;
	}
}

/* The token request of an OAuth connection (palloc'd; start it with the engine). */
HttpCall *
http_auth_token_call(const HttpConnection *conn, int timeout_ms)
{
	HttpCall   *call = palloc0(sizeof(HttpCall));
	struct curl_slist *h = NULL;
	char	   *host;

	call->url = conn->token_url;
	call->method = conn->token_method;
	call->timeout_ms = timeout_ms;
	call->keep_body = true;
	call->index = -1;
	if (http_guard_url_host(conn->token_url, &host))
		call->host = host;
	h = curl_slist_append(h, conn->token_basic);
	h = h ? curl_slist_append(h, "Accept: application/json") : NULL;
	if (h && conn->token_body)
		h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
	for (int i = 0; h && i < conn->ntoken_headers; i++)
		h = curl_slist_append(h, conn->token_headers[i]);
	if (h == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	call->headers = h;
	call->body = conn->token_body;
	call->body_len = conn->token_body ? strlen(conn->token_body) : 0;
	return call;
}

/*
 * Parse text as jsonb, or NULL when it is not JSON.  Catching the error
 * without a subtransaction is safe here: jsonb_in takes no lock, buffer or
 * other resource, it only allocates memory.
 */
static Jsonb *
parse_json(const char *text)
{
	MemoryContext cxt = CurrentMemoryContext;
	Jsonb	   *result = NULL;

	PG_TRY();
	{
		result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		result = NULL;
	}
	PG_END_TRY();
	return result;
}

/*
 * A token request completed: cache the token (DELIVERY_OK), or say why
 * there is none (*error_code, *error; the requests waiting for it fail so).
 */
DeliveryStatus
http_auth_token_done(const HttpConnection *conn, HttpCall *call,
					 char **error_code, char **error)
{
	Jsonb	   *resp;
	JsonbValue	v;
	char	   *token;
	TimestampTz refresh_at = 0;
	TokenEntry *e;
	const char *what = psprintf("the OAuth token request of connection \"%s\"", conn->name);

	*error_code = "OAuthTokenError";
	if (call->denied && call->code != CURLE_OK)
	{
		*error_code = "RequestDenied";
		*error = psprintf("%s was refused: address %s is not allowed; add it to eventbus.http_allowed_networks to allow it",
						  what, call->denied_address);
		return DELIVERY_PERMANENT;
	}
	if (call->code == CURLE_OPERATION_TIMEDOUT)
	{
		*error = psprintf("%s timed out", what);
		return DELIVERY_RETRY;
	}
	if (call->code != CURLE_OK)
	{
		*error = psprintf("%s failed: %s", what,
						  call->errbuf[0] ? call->errbuf : curl_easy_strerror(call->code));
		return DELIVERY_RETRY;
	}
	if (call->status < 200 || call->status > 299)
	{
		*error = psprintf("%s got HTTP %ld: %.256s", what, call->status,
						  call->resp_body ? call->resp_body : "");
		return DELIVERY_RETRY;
	}
	resp = call->resp_body ? parse_json(call->resp_body) : NULL;
	if (resp == NULL || !JsonContainerIsObject(&resp->root) ||
		getKeyJsonValueFromContainer(&resp->root, "access_token", 12, &v) == NULL ||
		v.type != jbvString || v.val.string.len == 0)
	{
		*error = psprintf("%s got a response without an access_token", what);
		return DELIVERY_RETRY;
	}
	token = pnstrdup(v.val.string.val, v.val.string.len);
	if (has_line_break(token))
	{
		*error = psprintf("%s got an access_token with a line break", what);
		return DELIVERY_RETRY;
	}
	if (getKeyJsonValueFromContainer(&resp->root, "expires_in", 10, &v) != NULL)
	{
		double		secs = -1;

		if (v.type == jbvNumeric)
			secs = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													  NumericGetDatum(v.val.numeric)));
		else if (v.type == jbvString)
			secs = strtod(pnstrdup(v.val.string.val, v.val.string.len), NULL);
		if (secs > 0)
		{
			double		margin = secs > 2 * TOKEN_REFRESH_MARGIN_SECS
				? TOKEN_REFRESH_MARGIN_SECS : secs / 2;

			refresh_at = TimestampTzPlusMilliseconds(call->started_at,
													 (int64) ((secs - margin) * 1000));
		}
	}

	e = find_token(conn, true);
	free(e->header);
	e->header = malloc(strlen(token) + 32);
	if (e->header == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	sprintf(e->header, "Authorization: Bearer %s", token);
	e->refresh_at = refresh_at;
	memset(token, 0, strlen(token));
	return DELIVERY_OK;
}
