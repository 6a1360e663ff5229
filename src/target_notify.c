/*-------------------------------------------------------------------------
 *
 * target_notify.c
 *	  Push target kind "notify": pg_notify on a channel with the payload.
 *
 * The notification is sent when the worker's transaction commits, with the
 * message's deletion.  A payload over NOTIFY's limit is refused with a
 * program-limit error, which sends the message to the dead letters.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/async.h"
#include "utils/jsonb.h"

#include "target_kind.h"

/* NOTIFY's own limit (async.c keeps it private). */
#define NOTIFY_PAYLOAD_LIMIT (BLCKSZ - NAMEDATALEN - 128)

static char *
notify_parse_arn(const char *arn)
{
	if (strncmp(arn, "notify:", 7) == 0 && arn[7] != '\0')
		return pstrdup(arn + 7);
	return NULL;
}

static void
notify_invoke(const PushTarget *target, const DeliveryMessage *msg)
{
	char	   *text = JsonbToCString(NULL, &msg->payload->root, VARSIZE(msg->payload));
	size_t		len = strlen(text);

	if (len >= NOTIFY_PAYLOAD_LIMIT)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("payload of %zu bytes is too long for NOTIFY", len),
				 errdetail("NOTIFY payloads must be shorter than %d bytes; target \"%s\" of rule \"%s\".",
						   NOTIFY_PAYLOAD_LIMIT, target->target_id, target->rule),
				 errhint("Send a smaller payload with InputPath or InputTransformer, or use a queue target.")));
	Async_Notify(target->destination, text);
}

const TargetKind target_kind_notify = {
	.name = "notify",
	.pushed = true,
	.parse_arn = notify_parse_arn,
	.invoke = notify_invoke,
	.classify_error = target_classify_sql_error,
};
