/*-------------------------------------------------------------------------
 *
 * eventbus.c
 *	  Module entry point: _PG_init and the extension's settings (GUCs).
 *
 * The library works both when it is listed in shared_preload_libraries
 * (required for the delivery worker) and when it is loaded on first use by
 * a backend (enough for pattern matching and routing).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "eventbus.h"

PG_MODULE_MAGIC;

int			eventbus_max_pattern_size = 2048;

void		_PG_init(void);

static void
define_settings(void)
{
	DefineCustomIntVariable("eventbus.max_pattern_size",
							"Maximum size of an event pattern, in characters of its JSON text.",
							"EventBridge's default quota is 2048 characters.",
							&eventbus_max_pattern_size,
							2048,
							64,
							1024 * 1024,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("eventbus");
#else
	EmitWarningsOnPlaceholders("eventbus");
#endif
}

void
_PG_init(void)
{
	define_settings();
}
