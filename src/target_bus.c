/*-------------------------------------------------------------------------
 *
 * target_bus.c
 *	  Push target kind "bus": put the event on another event bus.
 *
 * The event is inserted into eventbus.events on the destination bus (and
 * so routed there) with its hop count raised by one; past
 * eventbus.max_bus_hops the event is refused, which sends it to the dead
 * letters: a loop of bus targets can never run forever.  The insert runs
 * as the target's owner, who must hold put_events on the destination bus
 * at delivery (as EventBridge's target role needs events:PutEvents): a
 * missing grant is a permanent error (42501), so the event goes to the
 * dead letters at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "arn.h"
#include "target_kind.h"
#include "privileges.h"
#include "worker.h"

/* "bus:<name>", or an event bus ARN */
static char *
bus_parse_arn(const char *arn)
{
	const char *name;
	int			namelen;

	if (strncmp(arn, "bus:", 4) == 0 && arn[4] != '\0')
		return pstrdup(arn + 4);
	if (strncmp(arn, "arn:", 4) == 0 &&
		arn_parse_bus_name(arn, strlen(arn), &name, &namelen) == BUS_NAME_OK)
		return pnstrdup(name, namelen);
	return NULL;
}

static void
bus_invoke(const PushTarget *target, const DeliveryMessage *msg)
{
	static const char *sql =
		"INSERT INTO eventbus.events"
		"  (id, bus, \"time\", source, detail_type, account, region, resources, detail, hops)"
		" SELECT (p->>'id')::uuid, $2, (p->>'time')::timestamptz, p->>'source',"
		"        p->>'detail-type', p->>'account', p->>'region',"
		"        ARRAY(SELECT jsonb_array_elements_text(coalesce(p->'resources', '[]'))),"
		"        coalesce(p->'detail', '{}'), $3"
		"   FROM (SELECT $1::jsonb AS p) s";
	Oid			argtypes[3] = {JSONBOID, TEXTOID, INT2OID};
	Datum		args[3];
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	if (!msg->payload_is_event)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a bus target forwards the event itself"),
				 errdetail("Target \"%s\" of rule \"%s\" has an input transformation.",
						   target->target_id, target->rule),
				 errhint("Remove Input, InputPath and InputTransformer from the target.")));
	if (!OidIsValid(target->owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the owner of target \"%s\" no longer exists", target->target_id),
				 errdetail("A bus target forwards events as the role that put it."),
				 errhint("Put the target again as an existing role.")));
	if (msg->hops + 1 > eventbus_max_bus_hops)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("event was forwarded between buses %d times, more than eventbus.max_bus_hops (%d)",
						msg->hops + 1, eventbus_max_bus_hops),
				 errdetail("Rules with bus targets form a loop; last hop: rule \"%s\" to bus \"%s\".",
						   target->rule, target->destination),
				 errhint("Narrow the rules' patterns so that forwarded events do not match again.")));

	switch (eventbus_check_privilege_fresh(EB_OBJECT_BUS, target->destination,
										   EB_PRIV_PUT_EVENTS, target->owner))
	{
		case EB_ACCESS_OK:
			break;
		case EB_ACCESS_NOT_FOUND:
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("event bus \"%s\" does not exist", target->destination),
					 errdetail("Target \"%s\" of rule \"%s\" forwards to it.", target->target_id, target->rule),
					 errhint("Create the bus, then redrive the dead letters.")));
			break;
		case EB_ACCESS_DENIED:
			{
				char	   *role = GetUserNameFromId(target->owner, false);

				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied for event bus %s", quote_identifier(target->destination)),
						 errdetail("Target \"%s\" of rule \"%s\" forwards events as role %s, which does not hold privilege put_events on event bus %s.",
								   target->target_id, target->rule, quote_identifier(role),
								   quote_identifier(target->destination)),
						 errhint("Its owner or an eventbus_admin can grant it: SELECT eventbus.grant_event_bus_privilege(%s, 'put_events', %s); then redrive the dead letters.",
								 quote_literal_cstr(target->destination), quote_literal_cstr(role))));
			}
			break;
	}

	args[0] = JsonbPGetDatum(msg->payload);
	args[1] = CStringGetTextDatum(target->destination);
	args[2] = Int16GetDatum((int16) (msg->hops + 1));

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(target->owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	rc = SPI_execute_with_args(sql, 3, argtypes, args, NULL, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);

	if (rc != SPI_OK_INSERT)
		elog(ERROR, "eventbus: could not forward the event: %s", SPI_result_code_string(rc));
}

const TargetKind target_kind_bus = {
	.name = "bus",
	.pushed = true,
	.parse_arn = bus_parse_arn,
	.invoke = bus_invoke,
	.classify_error = target_classify_sql_error,
};
