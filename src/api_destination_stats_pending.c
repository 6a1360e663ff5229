/*-------------------------------------------------------------------------
 *
 * api_destination_stats_pending.c
 *	  Placeholder for eventbus._api_destination_stats() until the delivery
 *	  workers keep per-destination counters in shared memory.
 *
 * The SQL catalog (src/sql/56_api_destinations.sql) declares the function
 * and view eventbus.api_destination_metrics over it; CREATE FUNCTION ...
 * LANGUAGE C needs the symbol to exist.  The real set-returning function
 * belongs with the HTTP target kind (src/target_http.c), which replaces
 * this file: the two cannot be linked together (the same symbol), so the
 * placeholder cannot outlive the merge unnoticed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

PG_FUNCTION_INFO_V1(eventbus_api_destination_stats);

Datum
eventbus_api_destination_stats(PG_FUNCTION_ARGS)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("API destination metrics are not available in this build"),
			 errdetail("The delivery workers of this build do not count HTTP requests."),
			 errhint("Build eventbus with its HTTP target kind (src/target_http.c).")));
	PG_RETURN_NULL();
}
