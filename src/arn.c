/*-------------------------------------------------------------------------
 *
 * arn.c
 *	  Event bus and rule ARNs.  Every function that takes an EventBusName
 *	  (put_events in C, the catalog functions in SQL through _bus_name)
 *	  reads it here, and every bus or rule ARN is written here (the rule
 *	  index in C, event_bus_arn and rule_arn in SQL).
 *
 *	  bus   arn:aws:events:<region>:<account>:event-bus/<name>
 *	  rule  arn:aws:events:<region>:<account>:rule/<name>        (default bus)
 *	        arn:aws:events:<region>:<account>:rule/<bus>/<name>  (other buses)
 *
 * An EventBusName that starts with "arn:" is an ARN: when it is not an
 * event bus ARN it is refused, never taken for a bus name (bus names have no
 * colons).  The partition is "aws" or one of its variants ("aws-cn", ...).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "arn.h"
#include "eventbus.h"

PG_FUNCTION_INFO_V1(eventbus_bus_name);
PG_FUNCTION_INFO_V1(eventbus_bus_arn_name);
PG_FUNCTION_INFO_V1(eventbus_event_bus_arn);
PG_FUNCTION_INFO_V1(eventbus_rule_arn);

/* Advance *p over one ARN field: up to and over the next ':'. */
static bool
skip_field(const char **p, const char *end)
{
	const char *colon = memchr(*p, ':', end - *p);

	if (colon == NULL)
		return false;
	*p = colon + 1;
	return true;
}

BusNameStatus
arn_parse_bus_name(const char *s, int len, const char **name, int *namelen)
{
	const char *end;
	const char *p;

	if (s == NULL)
	{
		*name = "default";
		*namelen = strlen("default");
		return BUS_NAME_OK;
	}
	if (len == 0)
		return BUS_NAME_EMPTY;
	if (len < 4 || memcmp(s, "arn:", 4) != 0)
	{
		*name = s;
		*namelen = len;
		return BUS_NAME_OK;
	}

	end = s + len;
	p = s + 4;
	/* partition: "aws" or "aws-<letters and '-'>" ("aws-cn", "aws-us-gov") */
	if (end - p < 4 || memcmp(p, "aws", 3) != 0)
		return BUS_NAME_BAD_ARN;
	p += 3;
	if (*p == '-')
	{
		const char *variant = ++p;

		while (p < end && ((*p >= 'a' && *p <= 'z') || *p == '-'))
			p++;
		if (p == variant)
			return BUS_NAME_BAD_ARN;
	}
	if (p == end || *p != ':')
		return BUS_NAME_BAD_ARN;
	p++;
	/* service */
	if (end - p < 7 || memcmp(p, "events:", 7) != 0)
		return BUS_NAME_BAD_ARN;
	p += 7;
	/* region and account: anything but ':' */
	if (!skip_field(&p, end) || !skip_field(&p, end))
		return BUS_NAME_BAD_ARN;
	/* resource: event-bus/<name>, the name not empty */
	if (end - p <= 10 || memcmp(p, "event-bus/", 10) != 0)
		return BUS_NAME_BAD_ARN;
	p += 10;
	*name = p;
	*namelen = end - p;
	return BUS_NAME_OK;
}

char *
arn_event_bus(const char *bus)
{
	return psprintf("arn:aws:events:%s:%s:event-bus/%s",
					eventbus_region, eventbus_account, bus);
}

char *
arn_rule(const char *bus, const char *rule)
{
	if (strcmp(bus, "default") == 0)
		return psprintf("arn:aws:events:%s:%s:rule/%s",
						eventbus_region, eventbus_account, rule);
	return psprintf("arn:aws:events:%s:%s:rule/%s/%s",
					eventbus_region, eventbus_account, bus, rule);
}

/* The bus an EventBusName argument (NULL: the default bus) names, or an error. */
static char *
bus_name_or_error(FunctionCallInfo fcinfo, int argno)
{
	text	   *arg = PG_ARGISNULL(argno) ? NULL : PG_GETARG_TEXT_PP(argno);
	const char *name;
	int			namelen;

	switch (arn_parse_bus_name(arg ? VARDATA_ANY(arg) : NULL,
							   arg ? VARSIZE_ANY_EXHDR(arg) : 0, &name, &namelen))
	{
		case BUS_NAME_OK:
			break;
		case BUS_NAME_EMPTY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("event bus name must not be empty"),
					 errdetail("An event bus is named by its name or its ARN."),
					 errhint("Pass 'default' or NULL for the default bus.")));
			break;
		case BUS_NAME_BAD_ARN:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid event bus ARN \"%s\"", text_to_cstring(arg)),
					 errdetail("Provided Arn is not in correct format: an event bus ARN is arn:aws:events:<region>:<account>:event-bus/<name>."),
					 errhint("Use a bus name, or an ARN such as arn:aws:events:local:000000000000:event-bus/orders.")));
			break;
	}
	return pnstrdup(name, namelen);
}

/* eventbus._bus_name(event_bus_name text): the bus it names, or an error */
Datum
eventbus_bus_name(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(bus_name_or_error(fcinfo, 0)));
}

/*
 * eventbus._bus_arn_name(arn text): the bus an event bus ARN names; NULL
 * when arn is not a well-formed event bus ARN.
 */
Datum
eventbus_bus_arn_name(PG_FUNCTION_ARGS)
{
	text	   *arn = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(arn);
	const char *name;
	int			namelen;

	if (len < 4 || memcmp(VARDATA_ANY(arn), "arn:", 4) != 0 ||
		arn_parse_bus_name(VARDATA_ANY(arn), len, &name, &namelen) != BUS_NAME_OK)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(name, namelen));
}

/* eventbus.event_bus_arn(event_bus_name text) */
Datum
eventbus_event_bus_arn(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(arn_event_bus(bus_name_or_error(fcinfo, 0))));
}

/* eventbus.rule_arn(rule text, event_bus_name text); NULL for a NULL rule */
Datum
eventbus_rule_arn(PG_FUNCTION_ARGS)
{
	char	   *bus;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	bus = bus_name_or_error(fcinfo, 1);
	PG_RETURN_TEXT_P(cstring_to_text(arn_rule(bus, text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}
