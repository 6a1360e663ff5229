/*-------------------------------------------------------------------------
 *
 * arn.h
 *	  Event bus and rule ARNs: the one parser of EventBusName arguments and
 *	  the one place ARNs are formatted.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_ARN_H
#define EVENTBUS_ARN_H

#include "postgres.h"

typedef enum BusNameStatus
{
	BUS_NAME_OK,				/* *name, *namelen set */
	BUS_NAME_EMPTY,				/* "" */
	BUS_NAME_BAD_ARN			/* starts with "arn:" but is no event bus ARN */
} BusNameStatus;

/*
 * The bus an EventBusName argument names: s itself, or the name in an event
 * bus ARN "arn:<partition>:events:<region>:<account>:event-bus/<name>"
 * (region and account are not compared with eventbus.region and
 * eventbus.account).  s == NULL names the default bus.  *name points into s
 * (or at a constant): it is not NUL-terminated.
 */
extern BusNameStatus arn_parse_bus_name(const char *s, int len,
										const char **name, int *namelen);

/* ARNs as EventBridge writes them, from eventbus.region and eventbus.account. */
extern char *arn_event_bus(const char *bus);
extern char *arn_rule(const char *bus, const char *rule);

#endif							/* EVENTBUS_ARN_H */
