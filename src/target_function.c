/*-------------------------------------------------------------------------
 *
 * target_function.c
 *	  Push target kind "function": call a SQL function with the payload.
 *
 * The function runs as the role that owns the target, never as the
 * worker's superuser: the call switches the user id with
 * SECURITY_RESTRICTED_OPERATION (as maintenance commands run index
 * functions), under the target's statement timeout.  Privileges are
 * checked for that role, so a target cannot do what its owner cannot.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

#include "worker.h"

#include "target_kind.h"

/* The call of each function, prepared once per backend. */
typedef struct FunctionCallPlan
{
	Oid			funcoid;
	SPIPlanPtr	plan;
} FunctionCallPlan;

static HTAB *call_plans = NULL;

static SPIPlanPtr
call_plan(Oid funcoid)
{
	FunctionCallPlan *entry;
	bool		found;

	if (call_plans == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(FunctionCallPlan);
		ctl.hcxt = TopMemoryContext;
		call_plans = hash_create("eventbus function target plans", 16, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(call_plans, &funcoid, HASH_ENTER, &found);
	if (!found)
		entry->plan = NULL;
	if (entry->plan == NULL)
	{
		Oid			argtypes[1] = {JSONBOID};
		char	   *sql = psprintf("SELECT %s($1)",
								   quote_qualified_identifier(get_namespace_name(get_func_namespace(funcoid)),
															  get_func_name(funcoid)));
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, 1, argtypes, CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL)
			elog(ERROR, "eventbus: could not prepare \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		entry->plan = plan;
	}
	return entry->plan;
}

/* to_regprocedure(): the function's OID, or InvalidOid when it is gone. */
static Oid
lookup_function(const char *signature)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = CStringGetTextDatum(signature);
	fcinfo->args[0].isnull = false;
	result = to_regprocedure(fcinfo);
	return fcinfo->isnull ? InvalidOid : DatumGetObjectId(result);
}

/* What a function target keeps between calls: the function, while it exists. */
typedef struct FunctionTargetState
{
	Oid			funcoid;
} FunctionTargetState;

static char *
function_parse_arn(const char *arn)
{
	if (strncmp(arn, "function:", 9) == 0 && arn[9] != '\0')
		return pstrdup(arn + 9);
	return NULL;
}

static void *
function_prepare(PushTarget *target, MemoryContext cxt)
{
	FunctionTargetState *state = MemoryContextAllocZero(cxt, sizeof(FunctionTargetState));

	state->funcoid = lookup_function(target->destination);
	return state;
}

/* The function's OID: the prepared one while it exists, else looked up again. */
static Oid
target_function_oid(const PushTarget *target)
{
	FunctionTargetState *state = target->state;

	if (!OidIsValid(state->funcoid) ||
		!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(state->funcoid)))
		state->funcoid = lookup_function(target->destination);
	return state->funcoid;
}

static void
function_invoke(const PushTarget *target, const DeliveryMessage *msg)
{
	Oid			funcoid;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	SPIPlanPtr	plan;
	Datum		args[1];
	int			rc;
	int			timeout_ms = target->timeout_ms > 0 ? target->timeout_ms : eventbus_function_timeout;

	funcoid = target_function_oid(target);
	if (!OidIsValid(funcoid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("function %s does not exist", target->destination),
				 errdetail("Target \"%s\" of rule \"%s\" calls it.", target->target_id, target->rule),
				 errhint("Create the function, then redrive the dead letters.")));
	if (!OidIsValid(target->owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the owner of target \"%s\" no longer exists", target->target_id),
				 errdetail("A function target runs as the role that put it."),
				 errhint("Put the target again as an existing role.")));

	plan = call_plan(funcoid);
	args[0] = JsonbPGetDatum(msg->payload);

	/* Errors restore all of this through the caller's subtransaction. */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(target->owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	if (timeout_ms > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);

	/* privileges (EXECUTE, and what the function touches) are the owner's */
	rc = SPI_execute_plan(plan, args, NULL, false, 1);
	if (rc < 0)
		elog(ERROR, "eventbus: SPI_execute_plan failed: %s", SPI_result_code_string(rc));

	disable_timeout(STATEMENT_TIMEOUT, false);
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

const TargetKind target_kind_function = {
	.name = "function",
	.pushed = true,
	.parse_arn = function_parse_arn,
	.prepare = function_prepare,
	.invoke = function_invoke,
	.classify_error = target_classify_sql_error,
};
