/*-------------------------------------------------------------------------
 *
 * http_settings.c
 *	  The eventbus.http_* settings of HTTP targets (API destinations).
 *
 * They are read by the delivery workers only: no user backend ever makes
 * an HTTP request.  http_allowed_networks is checked here (each entry a
 * CIDR, an address or a host name) and interpreted by http_guard.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "http.h"

int			eventbus_http_max_in_flight = 64;
int			eventbus_http_timeout = 5000;
char	   *eventbus_http_allowed_networks = NULL;
char	   *eventbus_http_ca_file = NULL;
bool		eventbus_http_rate_limits = true;
bool		eventbus_http_verify_tls = true;

static bool
check_allowed_networks(char **newval, void **extra, GucSource source)
{
	char	   *problem = NULL;

	if (*newval == NULL || http_guard_check_networks(*newval, &problem))
		return true;
	GUC_check_errdetail("%s", problem);
	GUC_check_errhint("List CIDRs (\"10.1.0.0/16\", \"::1/128\"), addresses or host names, separated by commas.");
	return false;
}

void
http_define_settings(void)
{
	DefineCustomIntVariable("eventbus.http_max_in_flight",
							"Maximum number of HTTP requests a delivery worker has in flight at once.",
							"Requests of a batch are pipelined: the next one starts as soon as one completes.",
							&eventbus_http_max_in_flight,
							64, 1, 10000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("eventbus.http_timeout",
							"Timeout of an HTTP request to an API destination.",
							"EventBridge's is 5 seconds; an API destination's own timeout overrides it.",
							&eventbus_http_timeout,
							5000, 1, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomStringVariable("eventbus.http_allowed_networks",
							   "Networks and hosts HTTP requests may reach although they are loopback, private or link-local.",
							   "A comma-separated list of CIDRs, addresses or host names; loopback, private, link-local, unspecified and cloud metadata addresses are refused unless listed.",
							   &eventbus_http_allowed_networks,
							   "",
							   PGC_SIGHUP, 0,
							   check_allowed_networks, NULL, NULL);
	DefineCustomStringVariable("eventbus.http_ca_file",
							   "File of CA certificates that HTTPS requests trust.",
							   "Empty: the system's CA certificates.",
							   &eventbus_http_ca_file,
							   "",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomBoolVariable("eventbus.http_rate_limits",
							 "Whether API destinations' InvocationRateLimitPerSecond is applied.",
							 "Off: requests start as fast as eventbus.http_max_in_flight allows (for endpoints that take any rate, and benchmarks).",
							 &eventbus_http_rate_limits,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("eventbus.http_verify_tls",
							 "Whether HTTPS requests verify the server's certificate and host name.",
							 "Turn off only for tests.",
							 &eventbus_http_verify_tls,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}
