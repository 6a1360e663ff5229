/*-------------------------------------------------------------------------
 *
 * api.c
 *	  Who is calling: the caller of an API function, as seen from inside
 *	  its SECURITY DEFINER implementation.
 *
 * Functions that change or read the catalogs must run with the rights of
 * the extension's owner (users hold no rights on the catalog tables), yet
 * decide with the rights of their caller.  Inside a SECURITY DEFINER
 * function PostgreSQL shows only the definer, so every such API function
 * is declared twice:
 *
 *	eventbus.X(...)        LANGUAGE C, 'eventbus_api_call', SECURITY INVOKER,
 *	                       executable by PUBLIC: the name users call;
 *	eventbus._X_impl(...)  the implementation (plpgsql), SECURITY DEFINER
 *	                       with a pinned search_path, same argument types,
 *	                       not executable by PUBLIC.
 *
 * eventbus_api_call notes the effective role that called X (GetUserId(),
 * so a caller that is itself a SECURITY DEFINER function counts as its
 * owner, as everywhere in PostgreSQL), then calls _X_impl through fmgr,
 * which does no EXECUTE check of its own.  The implementation asks
 * eventbus._caller() for that role.  An implementation that calls another
 * API function acts for the same caller.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "api.h"

/* Nesting depth of API calls (an implementation calling another API). */
#define API_MAX_DEPTH 32

typedef struct ApiFrame
{
	Oid			caller;			/* the role the call acts for */
	Oid			definer;		/* the role its implementation runs as */
} ApiFrame;

static ApiFrame api_stack[API_MAX_DEPTH];
static int	api_depth = 0;

/* Per call site (fn_extra): the implementation, looked up once. */
typedef struct ApiCallSite
{
	FmgrInfo	impl;
	Oid			definer;
	FunctionCallInfo impl_fcinfo;
} ApiCallSite;

PG_FUNCTION_INFO_V1(eventbus_api_call);
PG_FUNCTION_INFO_V1(eventbus_caller);

/*
 * The implementation of API function fn_oid: _<name>_impl in the same
 * schema with the same argument types, SECURITY DEFINER.
 */
static ApiCallSite *
api_call_site(FmgrInfo *flinfo, int nargs)
{
	ApiCallSite *site = (ApiCallSite *) flinfo->fn_extra;
	HeapTuple	tup;
	Form_pg_proc api;
	char		impl_name[NAMEDATALEN];
	HeapTuple	impl_tup;
	Form_pg_proc impl;
	Oid			impl_oid;

	if (site != NULL)
		return site;

	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(flinfo->fn_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", flinfo->fn_oid);
	api = (Form_pg_proc) GETSTRUCT(tup);

	if (snprintf(impl_name, sizeof(impl_name), "_%s_impl", NameStr(api->proname)) >= NAMEDATALEN)
		elog(ERROR, "API function name \"%s\" is too long", NameStr(api->proname));
	impl_tup = SearchSysCache3(PROCNAMEARGSNSP,
							   CStringGetDatum(impl_name),
							   PointerGetDatum(&api->proargtypes),
							   ObjectIdGetDatum(api->pronamespace));
	if (!HeapTupleIsValid(impl_tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("implementation of eventbus function %s is missing",
						NameStr(api->proname)),
				 errdetail("Function %s.%s with the same argument types does not exist.",
						   get_namespace_name(api->pronamespace), impl_name),
				 errhint("Reinstall the extension (DROP EXTENSION eventbus; CREATE EXTENSION eventbus).")));
	impl = (Form_pg_proc) GETSTRUCT(impl_tup);
	if (!impl->prosecdef)
		elog(ERROR, "implementation %s of an eventbus API function is not SECURITY DEFINER", impl_name);
	impl_oid = impl->oid;

	site = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(ApiCallSite));
	site->definer = impl->proowner;
	ReleaseSysCache(impl_tup);
	ReleaseSysCache(tup);

	fmgr_info_cxt(impl_oid, &site->impl, flinfo->fn_mcxt);
	site->impl_fcinfo = MemoryContextAllocZero(flinfo->fn_mcxt, SizeForFunctionCallInfo(nargs));
	flinfo->fn_extra = site;
	return site;
}

/*
 * The C body of every API function: note the caller, call the
 * implementation with the same arguments (and, for set-returning
 * functions, the same ReturnSetInfo), forget the caller.
 */
Datum
eventbus_api_call(PG_FUNCTION_ARGS)
{
	ApiCallSite *site = api_call_site(fcinfo->flinfo, PG_NARGS());
	FunctionCallInfo impl_fcinfo = site->impl_fcinfo;
	Oid			caller = GetUserId();
	Datum		result;

	if (site->impl.fn_strict)
	{
		for (int i = 0; i < PG_NARGS(); i++)
			if (PG_ARGISNULL(i))
				PG_RETURN_NULL();
	}

	/* an implementation calling another API acts for the same caller */
	if (api_depth > 0 && caller == api_stack[api_depth - 1].definer)
		caller = api_stack[api_depth - 1].caller;
	if (api_depth >= API_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("eventbus API calls are nested too deeply"),
				 errdetail("At most %d API calls can be nested.", API_MAX_DEPTH)));

	InitFunctionCallInfoData(*impl_fcinfo, &site->impl, PG_NARGS(),
							 fcinfo->fncollation, fcinfo->context, fcinfo->resultinfo);
	memcpy(impl_fcinfo->args, fcinfo->args, sizeof(NullableDatum) * PG_NARGS());

	api_stack[api_depth].caller = caller;
	api_stack[api_depth].definer = site->definer;
	api_depth++;
	PG_TRY();
	{
		result = FunctionCallInvoke(impl_fcinfo);
	}
	PG_FINALLY();
	{
		api_depth--;
	}
	PG_END_TRY();

	fcinfo->isnull = impl_fcinfo->isnull;
	return result;
}

/*
 * The role the current API call acts for, or InvalidOid outside an API
 * call.
 */
Oid
eventbus_api_caller(void)
{
	return api_depth > 0 ? api_stack[api_depth - 1].caller : InvalidOid;
}

/*
 * eventbus._caller() -> regrole: for implementations only.  Called by
 * anything but an implementation running for an API call, it refuses,
 * so it can never stand in for another role.
 */
Datum
eventbus_caller(PG_FUNCTION_ARGS)
{
	if (api_depth == 0 || GetUserId() != api_stack[api_depth - 1].definer)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("eventbus._caller() can only be used by eventbus's own functions"),
				 errdetail("It names the role an eventbus API function was called by."),
				 errhint("Use current_user.")));
	PG_RETURN_OID(api_stack[api_depth - 1].caller);
}
