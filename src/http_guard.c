/*-------------------------------------------------------------------------
 *
 * http_guard.c
 *	  The guard against server-side request forgery: which addresses an
 *	  HTTP request of a delivery worker may connect to.
 *
 * libcurl asks this file for every socket it opens (CURLOPT_OPENSOCKETFUNCTION),
 * with the address it is about to connect to: the check is made on the
 * address really connected to, after name resolution, so a name that
 * resolves to a public address when it is checked and to a private one when
 * it is used (DNS rebinding) gains nothing.  Refused unless allowed:
 * loopback (127.0.0.0/8, ::1), private (10.0.0.0/8, 172.16.0.0/12,
 * 192.168.0.0/16, fc00::/7), link-local (169.254.0.0/16, fe80::/10), the
 * cloud metadata addresses (169.254.169.254, fd00:ec2::254), unspecified
 * (0.0.0.0/8, ::) and the IPv4-mapped IPv6 forms (::ffff:a.b.c.d) of all
 * these.  eventbus.http_allowed_networks allows some: each entry is a CIDR
 * ("10.1.0.0/16", "::1/128"), an address (a CIDR of one address), or a host
 * name, which allows every address that name resolves to when a request is
 * made to that name (the URL's host, compared without case): such an entry
 * trusts that name's resolution, and no other name.  Proxies are never
 * used (CURLOPT_NOPROXY "*", set by http_multi.c), so the address checked is
 * the server's.  A connection kept alive was checked when it was opened:
 * when the setting changes, http_multi.c drops every kept connection before
 * the next batch.
 *
 * eventbus._http_guard_check(address, host, networks) runs the same check
 * from SQL, for tests.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fmgr.h"
#include "utils/builtins.h"

#include "http.h"

typedef struct GuardNetwork
{
	int			family;			/* AF_INET, AF_INET6, or 0 for a host name */
	unsigned char addr[16];
	int			prefix;
	char		host[256];
} GuardNetwork;

/* The parsed setting (malloc'd: read inside libcurl's callbacks). */
static char *parsed_value = NULL;
static GuardNetwork *networks = NULL;
static int	nnetworks = 0;

PG_FUNCTION_INFO_V1(eventbus_http_guard_check);

/* Parse one entry (trimmed, NUL-terminated); false with *problem when bad. */
static bool
parse_entry(const char *entry, GuardNetwork *net, char **problem)
{
	char		buf[256];
	char	   *slash;
	int			maxprefix;

	memset(net, 0, sizeof(*net));
	if (strlen(entry) >= sizeof(buf))
	{
		*problem = psprintf("Entry \"%.40s...\" is too long.", entry);
		return false;
	}
	strcpy(buf, entry);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, net->addr) == 1)
	{
		net->family = AF_INET;
		maxprefix = 32;
	}
	else if (inet_pton(AF_INET6, buf, net->addr) == 1)
	{
		net->family = AF_INET6;
		maxprefix = 128;
	}
	else
	{
		/* a host name: letters, digits, '-', '.', '_' */
		if (slash)
		{
			*problem = psprintf("Entry \"%s\" is neither a CIDR nor a host name.", entry);
			return false;
		}
		for (const char *c = buf; *c; c++)
			if (!(isalnum((unsigned char) *c) || *c == '-' || *c == '.' || *c == '_'))
			{
				*problem = psprintf("Entry \"%s\" is neither an address, a CIDR nor a host name.", entry);
				return false;
			}
		net->family = 0;
		strcpy(net->host, buf);
		return true;
	}
	net->prefix = maxprefix;
	if (slash)
	{
		char	   *end;
		long		p = strtol(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || p < 0 || p > maxprefix)
		{
			*problem = psprintf("Entry \"%s\" has a prefix length that is not between 0 and %d.",
								entry, maxprefix);
			return false;
		}
		net->prefix = (int) p;
	}
	return true;
}

/*
 * Parse a value of eventbus.http_allowed_networks into *out (malloc'd when
 * out is given); false with *problem (palloc'd) when an entry is bad.
 */
static bool
parse_networks(const char *value, GuardNetwork **out, int *nout, char **problem)
{
	char	   *copy = pstrdup(value);
	char	   *save = NULL;
	int			n = 0;
	int			max = 0;
	GuardNetwork *list = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		char	   *end;
		GuardNetwork net;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok == '\0')
			continue;
		if (!parse_entry(tok, &net, problem))
		{
			free(list);
			return false;
		}
		if (out == NULL)
			continue;
		if (n == max)
		{
			GuardNetwork *grown;

			max = max ? max * 2 : 8;
			grown = realloc(list, max * sizeof(GuardNetwork));
			if (grown == NULL)
			{
				free(list);
				*problem = "out of memory";
				return false;
			}
			list = grown;
		}
		list[n++] = net;
	}
	if (out)
	{
		*out = list;
		*nout = n;
	}
	return true;
}

bool
http_guard_check_networks(const char *value, char **problem)
{
	return parse_networks(value, NULL, NULL, problem);
}

/*
 * Bring the parsed setting up to date (outside libcurl's callbacks); true
 * when it changed (connections opened under the old one must not be reused).
 */
bool
http_guard_refresh(void)
{
	const char *value = eventbus_http_allowed_networks ? eventbus_http_allowed_networks : "";
	GuardNetwork *list = NULL;
	int			n = 0;
	char	   *problem;

	if (parsed_value && strcmp(parsed_value, value) == 0)
		return false;
	/* the check hook accepted it: a failure here leaves nothing allowed */
	if (!parse_networks(value, &list, &n, &problem))
		n = 0;
	free(networks);
	networks = list;
	nnetworks = n;
	free(parsed_value);
	parsed_value = strdup(value);
	return true;
}

static bool
prefix_matches(const unsigned char *a, const unsigned char *b, int bits)
{
	int			bytes = bits / 8;
	int			rest = bits % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (0xff << (8 - rest))) == 0;
}

static const unsigned char v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Why an IPv4 address is refused by default, or NULL when it is public. */
static const char *
v4_class(const unsigned char *a)
{
	if (a[0] == 127)
		return "a loopback address";
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		(a[0] == 192 && a[1] == 168))
		return "a private address";
	if (a[0] == 169 && a[1] == 254)
		return (a[2] == 169 && a[3] == 254) ? "the cloud metadata address" : "a link-local address";
	if (a[0] == 0)
		return "an unspecified address";
	return NULL;
}

static const char *
v6_class(const unsigned char *a)
{
	static const unsigned char zero[16] = {0};
	static const unsigned char metadata[16] = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0x02, 0x54};

	if (memcmp(a, v4mapped_prefix, 12) == 0)
		return v4_class(a + 12);
	if (memcmp(a, zero, 15) == 0)
		return a[15] == 1 ? "a loopback address" : (a[15] == 0 ? "an unspecified address" : NULL);
	if (memcmp(a, metadata, 16) == 0)
		return "the cloud metadata address";
	if ((a[0] & 0xfe) == 0xfc)
		return "a private address";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "a link-local address";
	return NULL;
}

/*
 * Whether a connection to address (family AF_INET or AF_INET6, bytes in
 * network order) for a request to host may be made; when not, *why says
 * which class of address it is.
 */
static bool
address_allowed(int family, const unsigned char *addr, const char *host,
				const char **why)
{
	const char *cls = family == AF_INET ? v4_class(addr) : v6_class(addr);

	*why = cls;
	if (cls == NULL)
		return true;
	for (int i = 0; i < nnetworks; i++)
	{
		const GuardNetwork *net = &networks[i];

		if (net->family == 0)
		{
			if (host && pg_strcasecmp(net->host, host) == 0)
				return true;
		}
		else if (net->family == family)
		{
			if (prefix_matches(addr, net->addr, net->prefix))
				return true;
		}
		else if (family == AF_INET6 && net->family == AF_INET &&
				 memcmp(addr, v4mapped_prefix, 12) == 0)
		{
			if (prefix_matches(addr + 12, net->addr, net->prefix))
				return true;
		}
		else if (family == AF_INET && net->family == AF_INET6 &&
				 memcmp(net->addr, v4mapped_prefix, 12) == 0 && net->prefix >= 96)
		{
			if (prefix_matches(addr, net->addr + 12, net->prefix - 96))
				return true;
		}
	}
	return false;
}

/*
 * libcurl's CURLOPT_OPENSOCKETFUNCTION: open the socket, or refuse the
 * address (the request then fails with denied set).  Runs inside libcurl:
 * no palloc, no ereport.
 */
int
http_guard_opensocket(void *clientp, curlsocktype purpose,
					  struct curl_sockaddr *address)
{
	HttpCall   *call = (HttpCall *) clientp;
	const unsigned char *bytes;
	const char *why;

	if (address->family == AF_INET)
		bytes = (const unsigned char *) &((struct sockaddr_in *) &address->addr)->sin_addr;
	else if (address->family == AF_INET6)
		bytes = (const unsigned char *) &((struct sockaddr_in6 *) &address->addr)->sin6_addr;
	else
		return CURL_SOCKET_BAD;

	if (!address_allowed(address->family, bytes, call->host, &why))
	{
		call->denied = true;
		inet_ntop(address->family, bytes, call->denied_address,
				  sizeof(call->denied_address));
		strlcat(call->denied_address, " (", sizeof(call->denied_address));
		strlcat(call->denied_address, why, sizeof(call->denied_address));
		strlcat(call->denied_address, ")", sizeof(call->denied_address));
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype, address->protocol);
}

/* The host of a URL (palloc'd, without IPv6 brackets); false when unparsable. */
bool
http_guard_url_host(const char *url, char **host)
{
	CURLU	   *u = curl_url();
	char	   *h = NULL;
	bool		ok = false;

	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK && h)
	{
		size_t		len = strlen(h);

		if (len >= 2 && h[0] == '[' && h[len - 1] == ']')
			*host = pnstrdup(h + 1, len - 2);
		else
			*host = pstrdup(h);
		ok = true;
	}
	curl_free(h);
	curl_url_cleanup(u);
	return ok;
}

/*
 * eventbus._http_guard_check(address text, host text, networks text):
 * NULL when a request to host may connect to address under
 * eventbus.http_allowed_networks = networks, else why not.
 */
Datum
eventbus_http_guard_check(PG_FUNCTION_ARGS)
{
	char	   *address;
	char	   *host = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *value = PG_ARGISNULL(2) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	unsigned char bytes[16];
	int			family;
	GuardNetwork *save_networks = networks;
	int			save_n = nnetworks;
	GuardNetwork *list = NULL;
	int			n = 0;
	char	   *problem;
	const char *why;
	bool		ok;

	/* no address: nothing to check (host and the list may be NULL) */
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	address = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (inet_pton(AF_INET, address, bytes) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, address, bytes) == 1)
		family = AF_INET6;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not an IPv4 or IPv6 address", address)));
	if (!parse_networks(value, &list, &n, &problem))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list of allowed networks"),
				 errdetail("%s", problem)));
	networks = list;
	nnetworks = n;
	ok = address_allowed(family, bytes, host, &why);
	networks = save_networks;
	nnetworks = save_n;
	free(list);
	if (ok)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(why));
}
