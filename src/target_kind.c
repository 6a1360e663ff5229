/*-------------------------------------------------------------------------
 *
 * target_kind.c
 *	  The table of target kinds, lookups in it, the queue kind (pulled by
 *	  consumers, so it has no delivery callbacks), and the classification
 *	  of SQL errors shared by the kinds that deliver inside the database.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "target_kind.h"

static const TargetKind *const target_kinds[] = {
	&target_kind_queue,
	&target_kind_function,
	&target_kind_bus,
	&target_kind_notify,
	&target_kind_api_destination,
};

#define NUM_TARGET_KINDS ((int) lengthof(target_kinds))

const TargetKind *
target_kind_by_name(const char *name)
{
	for (int i = 0; i < NUM_TARGET_KINDS; i++)
		if (strcmp(target_kinds[i]->name, name) == 0)
			return target_kinds[i];
	return NULL;
}

const TargetKind *
target_kind_for_arn(const char *arn, char **destination)
{
	for (int i = 0; i < NUM_TARGET_KINDS; i++)
	{
		char	   *d = target_kinds[i]->parse_arn(arn);

		if (d != NULL)
		{
			*destination = d;
			return target_kinds[i];
		}
	}
	*destination = NULL;
	return NULL;
}

int
target_kind_count(void)
{
	return NUM_TARGET_KINDS;
}

const TargetKind *
target_kind_at(int i)
{
	Assert(i >= 0 && i < NUM_TARGET_KINDS);
	return target_kinds[i];
}

/*
 * Errors that retrying cannot fix go to the dead letters at once: a missing
 * function or object, a missing privilege (SQLSTATE class 42), a missing
 * schema (3F), a program limit such as NOTIFY's payload size or the bus
 * hop limit (54).  Errors raised by the target's own code are retried.
 */
DeliveryStatus
target_classify_sql_error(const ErrorData *edata)
{
	switch (ERRCODE_TO_CATEGORY(edata->sqlerrcode))
	{
		case ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION:
		case ERRCODE_INVALID_SCHEMA_NAME:
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:
			return DELIVERY_PERMANENT;
		default:
			return DELIVERY_RETRY;
	}
}

/* ---------------------------------------------------------------------
 * Kind "queue": "queue:<name>" or an SQS queue ARN
 * ---------------------------------------------------------------------
 */

/* "arn:aws<partition suffix>:<service>:<region>:<account>:<rest>": <rest>, or NULL. */
const char *
target_arn_resource(const char *arn, const char *service)
{
	const char *p;
	size_t		slen = strlen(service);

	if (strncmp(arn, "arn:aws", 7) != 0)
		return NULL;
	p = arn + 7;
	while ((*p >= 'a' && *p <= 'z') || *p == '-')
		p++;
	if (*p++ != ':' || strncmp(p, service, slen) != 0 || p[slen] != ':')
		return NULL;
	p += slen + 1;
	/* region and account: anything but ':' */
	for (int field = 0; field < 2; field++)
	{
		p = strchr(p, ':');
		if (p == NULL)
			return NULL;
		p++;
	}
	return p;
}

static char *
queue_parse_arn(const char *arn)
{
	const char *name;

	if (strncmp(arn, "queue:", 6) == 0 && arn[6] != '\0')
		return pstrdup(arn + 6);
	name = target_arn_resource(arn, "sqs");
	if (name == NULL || *name == '\0' || strpbrk(name, ":/") != NULL)
		return NULL;
	return pstrdup(name);
}

const TargetKind target_kind_queue = {
	.name = "queue",
	.pushed = false,
	.parse_arn = queue_parse_arn,
};
