/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  What differs between the PostgreSQL versions eventbus builds against
 *	  (14 to 17), in one place.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_COMPAT_H
#define EVENTBUS_COMPAT_H

#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"

#if PG_VERSION_NUM < 150000
#include "miscadmin.h"
#include "utils/tuplestore.h"

/* InitMaterializedSRF() appeared in PostgreSQL 15. */
static inline void
InitMaterializedSRF(FunctionCallInfo fcinfo, bits32 flags)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcxt;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(oldcxt);
}

/* pg_prng appeared in PostgreSQL 15. */
#define EVENTBUS_RANDOM_DOUBLE() ((double) random() / ((double) MAX_RANDOM_VALUE + 1.0))
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#else
#include "common/pg_prng.h"
#define EVENTBUS_RANDOM_DOUBLE() pg_prng_double(&pg_global_prng_state)
#endif

/* Ownership checks were unified in PostgreSQL 16. */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_database.h"
#include "utils/acl.h"
#define eventbus_database_ownercheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#else
#include "utils/acl.h"
#define eventbus_database_ownercheck(dboid, roleid) \
	pg_database_ownercheck((dboid), (roleid))
#endif

#endif							/* EVENTBUS_COMPAT_H */
