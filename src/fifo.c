/*-------------------------------------------------------------------------
 *
 * fifo.c
 *	  FIFO queues: the message group id and deduplication id of a FIFO
 *	  queue target's messages (SqsParameters, compiled once per rule index
 *	  and computed per message by routing), the deduplication window
 *	  setting, and the deletion of expired deduplication ids.
 *
 * SqsParameters.MessageGroupId is a static string, or a JSON path ("$.")
 * into the original event; MessageDeduplicationId, when given, is a path.
 * A path that finds nothing (or null) gives the empty group id, or the
 * event id as the deduplication id; a string value is used as it is,
 * anything else as its JSON text.  The statements that use the ids (the
 * write with deduplication, the FIFO receive) are in outbox.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/uuid.h"

#include "fifo.h"
#include "transform.h"

int			eventbus_deduplication_window = 300;

struct TargetSqs
{
	text	   *static_group;	/* or NULL: group_path */
	TransformPath group_path;
	bool		has_dedup_path;	/* else: the event id */
	TransformPath dedup_path;
};

/*
 * Delete up to DEDUP_CLEANUP_ROWS expired ids each time a backend has
 * written DEDUP_CLEANUP_EVERY messages with ids: twice as many as come in.
 */
#define DEDUP_CLEANUP_EVERY 500
#define DEDUP_CLEANUP_ROWS 1000

void
fifo_define_settings(void)
{
	DefineCustomIntVariable("eventbus.deduplication_window",
							"How long a FIFO queue remembers a message's deduplication id (seconds).",
							"A message whose deduplication id was enqueued in the same FIFO queue less than this long ago is not enqueued again (SQS: 5 minutes). 0 turns deduplication off.",
							&eventbus_deduplication_window,
							300, 0, 86400,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}

static void
compile_path(const char *s, const char *what, TransformPath *path)
{
	memset(path, 0, sizeof(TransformPath));
	transform_parse_path(s, strlen(s), what, NULL, path);
}

static bool
is_path(const char *s)
{
	return s[0] == '$' && (s[1] == '\0' || s[1] == '.');
}

static char *
member_string(Jsonb *j, const char *key)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&j->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

TargetSqs *
fifo_target_compile(Jsonb *sqs_parameters)
{
	TargetSqs  *sqs = palloc0(sizeof(TargetSqs));
	char	   *group = NULL;
	char	   *dedup = NULL;

	if (sqs_parameters != NULL && JB_ROOT_IS_OBJECT(sqs_parameters))
	{
		group = member_string(sqs_parameters, "MessageGroupId");
		dedup = member_string(sqs_parameters, "MessageDeduplicationId");
	}
	if (group == NULL)
		sqs->static_group = cstring_to_text("");
	else if (is_path(group))
		compile_path(group, "SqsParameters.MessageGroupId", &sqs->group_path);
	else
		sqs->static_group = cstring_to_text(group);
	if (dedup != NULL && is_path(dedup))
	{
		compile_path(dedup, "SqsParameters.MessageDeduplicationId", &sqs->dedup_path);
		sqs->has_dedup_path = true;
	}
	return sqs;
}

/* The text of the value at path in the event, or NULL for none (or null). */
static text *
path_text(const TransformPath *path, Jsonb *event)
{
	JsonbValue	v;

	if (!transform_lookup_path(path, event, &v))
		return NULL;
	switch (v.type)
	{
		case jbvString:
			return cstring_to_text_with_len(v.val.string.val, v.val.string.len);
		case jbvNull:
			return NULL;
		case jbvBool:
			return cstring_to_text(v.val.boolean ? "true" : "false");
		case jbvNumeric:
			return cstring_to_text(DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v.val.numeric))));
		case jbvBinary:
			return cstring_to_text(JsonbToCString(NULL, v.val.binary.data, v.val.binary.len));
		default:
			return NULL;
	}
}

Datum
fifo_group_id(const TargetSqs *sqs, Jsonb *event)
{
	text	   *t;

	if (sqs->static_group != NULL)
		return PointerGetDatum(sqs->static_group);
	t = path_text(&sqs->group_path, event);
	return PointerGetDatum(t != NULL ? t : cstring_to_text(""));
}

Datum
fifo_deduplication_id(const TargetSqs *sqs, Jsonb *event, const pg_uuid_t *event_id)
{
	text	   *t = NULL;

	if (sqs->has_dedup_path)
		t = path_text(&sqs->dedup_path, event);
	if (t == NULL)
		t = cstring_to_text(DatumGetCString(DirectFunctionCall1(uuid_out,
																UUIDPGetDatum(event_id))));
	return PointerGetDatum(t);
}

/*
 * Expired ids are reused in place by the next message with the same id
 * (INSERT .. ON CONFLICT DO UPDATE in outbox.c); the others are deleted
 * here, a bounded number at a time once a backend has written
 * DEDUP_CLEANUP_EVERY messages, skipping rows that concurrent writers
 * hold.  Runs as the caller (the outbox's owner: the extension's owner).
 */
void
fifo_deduplication_cleanup(uint64 written)
{
	static uint64 since = 0;
	static SPIPlanPtr plan = NULL;
	int			rc;

	since += written;
	if (since < DEDUP_CLEANUP_EVERY)
		return;
	since = 0;
	if (plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("DELETE FROM eventbus.deduplication d"
									" WHERE d.ctid = ANY (ARRAY("
									"   SELECT x.ctid FROM eventbus.deduplication x"
									"    WHERE x.expires_at <= pg_catalog.now()"
									"    ORDER BY x.expires_at"
									"    LIMIT " CppAsString2(DEDUP_CLEANUP_ROWS)
									"      FOR UPDATE SKIP LOCKED))",
									0, NULL);

		if (p == NULL)
			elog(ERROR, "eventbus: could not prepare the deduplication cleanup: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		plan = p;
	}
	rc = SPI_execute_plan(plan, NULL, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "eventbus: deduplication cleanup failed: %s", SPI_result_code_string(rc));
}
