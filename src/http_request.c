/*-------------------------------------------------------------------------
 *
 * http_request.c
 *	  Building the HTTP request of an API destination target for one
 *	  message.
 *
 * The target's HttpParameters (EventBridge's) are parsed once, when the
 * worker prepares the target (http_request_prepare): PathParameterValues
 * fill the "*" of the endpoint's path in order, HeaderParameters and
 * QueryStringParameters add headers and query-string parameters.  A value
 * starting with "$." is a JSON path (the syntax of src/transform_path.c)
 * into the original event, others are static.  The connection's
 * InvocationHttpParameters add their headers and query-string parameters
 * too (they win over the target's of the same name, as in EventBridge), and
 * their body parameters are merged into the body when it is a JSON object.
 *
 * Paths read the original event even when the target has an input
 * transformation (the message's payload is then not the event): the event
 * is read from eventbus.events by its id and ingestion time (target_http.c
 * does so, for the targets whose parameters have paths).  A path the event
 * does not have leaves a header or query-string parameter out, and makes a
 * path parameter fail the message (PERMANENT: the URL cannot be built).
 * Values are the text of a JSON string, or the JSON text of anything else.
 * Path and query values are percent-encoded (RFC 3986's unreserved
 * characters are kept); a header value with a line break fails the message.
 *
 * Every request carries "X-Eventbus-Event-Id: <event id>" (for idempotency:
 * delivery is at least once) and, with a body, "Content-Type:
 * application/json" unless a parameter sets another.  The body is the
 * payload's JSON text; GET and HEAD requests have none.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "http.h"

/* Percent-encode (palloc'd): RFC 3986's unreserved characters are kept. */
char *
http_url_encode(const char *s, int len)
{
	static const char hex[] = "0123456789ABCDEF";
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
			appendStringInfoChar(&buf, (char) c);
		else
		{
			appendStringInfoChar(&buf, '%');
			appendStringInfoChar(&buf, hex[c >> 4]);
			appendStringInfoChar(&buf, hex[c & 15]);
		}
	}
	return buf.data;
}

static char *
jbv_string(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The text of a value: a string's own text, the JSON text of anything else. */
static char *
value_text(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return jbv_string(v);
		case jbvNull:
			return pstrdup("null");
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBinary:
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
		default:
			return pstrdup("");
	}
}

static void
set_param(HttpParam *p, const char *key, char *value, bool allow_paths)
{
	p->key = pstrdup(key);
	p->value = value;
	p->is_path = allow_paths && strncmp(value, "$.", 2) == 0;
	if (p->is_path)
		transform_parse_path(value, strlen(value),
							 psprintf("The path of HttpParameters value \"%s\"", key),
							 "Path", &p->path);
}

/*
 * EventBridge's list form, [{"Key": k, "Value": v, "IsValueSecret": b}, ...],
 * of member of container (NULL or absent: none).
 */
void
http_params_from_aws(JsonbContainer *container, const char *member,
					 int *n, HttpParam **params, bool allow_paths)
{
	JsonbValue	list;
	int			count;

	*n = 0;
	*params = NULL;
	if (container == NULL || !JsonContainerIsObject(container) ||
		getKeyJsonValueFromContainer(container, member, strlen(member), &list) == NULL ||
		list.type != jbvBinary || !JsonContainerIsArray(list.val.binary.data))
		return;
	count = JsonContainerSize(list.val.binary.data);
	*params = palloc0(Max(count, 1) * sizeof(HttpParam));
	for (int i = 0; i < count; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(list.val.binary.data, i);
		JsonbValue	k;
		JsonbValue	v;

		if (elem == NULL || elem->type != jbvBinary ||
			!JsonContainerIsObject(elem->val.binary.data) ||
			getKeyJsonValueFromContainer(elem->val.binary.data, "Key", 3, &k) == NULL ||
			k.type != jbvString ||
			getKeyJsonValueFromContainer(elem->val.binary.data, "Value", 5, &v) == NULL)
			continue;
		set_param(&(*params)[*n], jbv_string(&k), value_text(&v), allow_paths);
		(*n)++;
	}
}

/* The object form of a target's HttpParameters member, {"k": "v", ...}. */
static void
params_from_object(JsonbContainer *container, const char *member,
				   int *n, HttpParam **params)
{
	JsonbValue	obj;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	int			max;

	*n = 0;
	*params = NULL;
	if (getKeyJsonValueFromContainer(container, member, strlen(member), &obj) == NULL ||
		obj.type != jbvBinary || !JsonContainerIsObject(obj.val.binary.data))
		return;
	max = Max(JsonContainerSize(obj.val.binary.data), 1);
	*params = palloc0(max * sizeof(HttpParam));
	it = JsonbIteratorInit(obj.val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = jbv_string(&v);
		else if (tok == WJB_VALUE && key && *n < max)
		{
			set_param(&(*params)[*n], key, value_text(&v), true);
			(*n)++;
		}
	}
}

/* Parse the target's HttpParameters (NULL: none) into t. */
void
http_request_prepare(HttpTarget *t, Jsonb *http_parameters)
{
	JsonbContainer *root;
	JsonbValue	arr;

	t->npath = t->nheaders = t->nquery = 0;
	t->needs_event = false;
	if (http_parameters == NULL || !JsonContainerIsObject(&http_parameters->root))
		return;
	root = &http_parameters->root;
	if (getKeyJsonValueFromContainer(root, "PathParameterValues", 19, &arr) != NULL &&
		arr.type == jbvBinary && JsonContainerIsArray(arr.val.binary.data))
	{
		int			count = JsonContainerSize(arr.val.binary.data);

		t->path = palloc0(Max(count, 1) * sizeof(HttpParam));
		for (int i = 0; i < count; i++)
		{
			JsonbValue *elem = getIthJsonbValueFromContainer(arr.val.binary.data, i);

			set_param(&t->path[i], psprintf("%d", i + 1), value_text(elem), true);
		}
		t->npath = count;
	}
	params_from_object(root, "HeaderParameters", &t->nheaders, &t->headers);
	params_from_object(root, "QueryStringParameters", &t->nquery, &t->query);
	for (int i = 0; i < t->npath; i++)
		t->needs_event |= t->path[i].is_path;
	for (int i = 0; i < t->nheaders; i++)
	{
		t->needs_event |= t->headers[i].is_path;
		if (strpbrk(t->headers[i].key, "\r\n:") || (!t->headers[i].is_path && strpbrk(t->headers[i].value, "\r\n")))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("HttpParameters header \"%s\" has a line break or a colon", t->headers[i].key)));
	}
	for (int i = 0; i < t->nquery; i++)
		t->needs_event |= t->query[i].is_path;
}

/* A parameter's value for an event; NULL when its path is not in the event. */
static char *
param_value(const HttpParam *p, Jsonb *event)
{
	JsonbValue	v;

	if (!p->is_path)
		return p->value;
	if (event == NULL || !transform_lookup_path(&p->path, event, &v))
		return NULL;
	return value_text(&v);
}

typedef struct HeaderSet
{
	int			n;
	char	   *names[64 + 8];
	char	   *values[64 + 8];
} HeaderSet;

/* Set a header, replacing one of the same name (names compare without case). */
static void
header_set(HeaderSet *hs, const char *name, const char *value)
{
	for (int i = 0; i < hs->n; i++)
		if (pg_strcasecmp(hs->names[i], name) == 0)
		{
			hs->values[i] = pstrdup(value);
			return;
		}
	if (hs->n < lengthof(hs->names))
	{
		hs->names[hs->n] = pstrdup(name);
		hs->values[hs->n] = pstrdup(value);
		hs->n++;
	}
}

static void
append_query(StringInfo url, bool *has_query, const char *key, const char *value)
{
	appendStringInfoChar(url, *has_query ? '&' : '?');
	*has_query = true;
	appendStringInfoString(url, http_url_encode(key, strlen(key)));
	appendStringInfoChar(url, '=');
	appendStringInfoString(url, http_url_encode(value, strlen(value)));
}

/*
 * Build the request of msg into call (url, method, headers, body, host),
 * in CurrentMemoryContext; event is the original event (NULL when the
 * target needs none, or it could not be read).  auth_header ("Name: value")
 * may be NULL.  False with *error when the message cannot be sent.
 */
bool
http_request_build(const HttpTarget *t, const DeliveryMessage *msg,
				   Jsonb *event, const char *auth_header, HttpCall *call, char **error)
{
	const char *ep = t->endpoint;
	const char *scheme_end = strstr(ep, "://");
	const char *path_start;
	const char *path_end;
	StringInfoData url;
	bool		has_query;
	int			star = 0;
	HeaderSet	hs;
	struct curl_slist *list = NULL;
	char	   *host;
	bool		has_body = strcmp(t->method, "GET") != 0 && strcmp(t->method, "HEAD") != 0;

	if (scheme_end == NULL)
	{
		*error = pstrdup("the endpoint is not a URL");
		return false;
	}
	path_start = strchr(scheme_end + 3, '/');
	if (path_start == NULL)
		path_start = ep + strlen(ep);
	path_end = path_start + strcspn(path_start, "?#");

	/* the endpoint, with its path parameters */
	initStringInfo(&url);
	appendBinaryStringInfo(&url, ep, path_start - ep);
	for (const char *c = path_start; c < path_end; c++)
	{
		char	   *value;

		if (*c != '*')
		{
			appendStringInfoChar(&url, *c);
			continue;
		}
		if (star >= t->npath)
		{
			*error = psprintf("the endpoint has more \"*\" path parameters than the target's HttpParameters.PathParameterValues (%d)",
							  t->npath);
			return false;
		}
		value = param_value(&t->path[star], event);
		if (value == NULL)
		{
			*error = psprintf("path parameter %d (%s) is not in the event",
							  star + 1, t->path[star].value);
			return false;
		}
		appendStringInfoString(&url, http_url_encode(value, strlen(value)));
		star++;
	}
	appendBinaryStringInfo(&url, path_end, strcspn(path_end, "#"));
	has_query = strchr(url.data, '?') != NULL;

	/* query string: the target's, then the connection's */
	for (int i = 0; i < t->nquery; i++)
	{
		bool		overridden = false;
		char	   *value;

		for (int j = 0; j < t->conn.nquery && !overridden; j++)
			overridden = strcmp(t->conn.query[j].key, t->query[i].key) == 0;
		if (overridden || (value = param_value(&t->query[i], event)) == NULL)
			continue;
		append_query(&url, &has_query, t->query[i].key, value);
	}
	for (int j = 0; j < t->conn.nquery; j++)
		append_query(&url, &has_query, t->conn.query[j].key, t->conn.query[j].value);

	/* headers: defaults, the target's, the connection's, authorization, event id */
	hs.n = 0;
	if (has_body)
		header_set(&hs, "Content-Type", "application/json");
	for (int i = 0; i < t->nheaders; i++)
	{
		char	   *value = param_value(&t->headers[i], event);

		if (value == NULL)
			continue;
		if (strpbrk(value, "\r\n"))
		{
			*error = psprintf("the value of header \"%s\" has a line break", t->headers[i].key);
			return false;
		}
		header_set(&hs, t->headers[i].key, value);
	}
	for (int j = 0; j < t->conn.nheaders; j++)
		header_set(&hs, t->conn.headers[j].key, t->conn.headers[j].value);
	if (auth_header)
	{
		const char *colon = strchr(auth_header, ':');

		if (colon)
			header_set(&hs, pnstrdup(auth_header, colon - auth_header), colon + 2);
	}
	header_set(&hs, "X-Eventbus-Event-Id",
			   DatumGetCString(DirectFunctionCall1(uuid_out,
												   UUIDPGetDatum(unconstify(pg_uuid_t *, &msg->event_id)))));
	for (int i = 0; i < hs.n; i++)
	{
		char	   *line = psprintf("%s: %s", hs.names[i], hs.values[i]);
		struct curl_slist *grown = curl_slist_append(list, line);

		pfree(line);
		if (grown == NULL)
		{
			curl_slist_free_all(list);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		}
		list = grown;
	}

	/* body: the payload, with the connection's body parameters when an object */
	call->body = NULL;
	call->body_len = 0;
	if (has_body && msg->payload)
	{
		Jsonb	   *payload = msg->payload;

		if (t->conn.body_params && JsonContainerIsObject(&payload->root) &&
			!JB_ROOT_IS_SCALAR(payload))
			payload = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat,
														 JsonbPGetDatum(payload),
														 JsonbPGetDatum(t->conn.body_params)));
		call->body = JsonbToCString(NULL, &payload->root, VARSIZE(payload));
		call->body_len = strlen(call->body);
	}

	call->url = url.data;
	call->method = t->method;
	call->headers = list;
	call->timeout_ms = t->timeout_ms;
	call->host = http_guard_url_host(url.data, &host) ? host : NULL;
	return true;
}
