/*-------------------------------------------------------------------------
 *
 * privileges.c
 *	  Privileges on event buses, queues, connections and API destinations:
 *	  who owns them and what has been granted to whom, answered from a
 *	  per-session cache.
 *
 * A role holds a privilege on such an object when it is a superuser or has
 * the privileges of eventbus_admin, when it has the privileges of the
 * object's owner, or when the privilege was granted (eventbus.grants) to a
 * role whose privileges it has, or to PUBLIC (grantee 0).  Role membership
 * is PostgreSQL's own (has_privs_of_role), so it is always current; owners
 * and grants are read from the catalogs once per object and session, as
 * the catalogs' owner (users hold no rights on them), and read again after
 * any change to eventbus.event_buses, eventbus.queues, eventbus.connections,
 * eventbus.connection_secrets, eventbus.api_destinations or eventbus.grants
 * commits (their triggers send a relcache invalidation, invalidation.c
 * passes it here).  Owners of connections and API destinations are role
 * names (as targets' are): a dropped owner owns nothing.
 *
 * put_events, the routing trigger, row-level security on eventbus.events
 * and every API function ask here, so a check costs a hash lookup.
 *
 * A database still on eventbus 0.1.0 (the library is newer than its SQL
 * until ALTER EXTENSION eventbus UPDATE) has no owners and no grants:
 * there, as in 0.1.0, every role holds every privilege on every bus and
 * queue that exists.  A database on 0.2.0 has no connections and no API
 * destinations: none exists there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "arn.h"
#include "invalidation.h"
#include "privileges.h"
#include "rule_index.h"

/* longest bus name (256) plus the kind prefix and a terminator */
#define PRIV_KEY_SIZE 264

typedef struct PrivGrant
{
	Oid			grantee;		/* 0: PUBLIC */
	uint32		privileges;		/* EB_PRIV_* bits */
} PrivGrant;

typedef struct PrivEntry
{
	char		key[PRIV_KEY_SIZE]; /* "b:<bus>", "q:<queue>", "c:<connection>",
									 * "d:<API destination>" */
	bool		exists;
	Oid			owner;			/* InvalidOid: owned by nobody (admins only) */
	int			ngrants;
	PrivGrant  *grants;
} PrivEntry;

static MemoryContext priv_context = NULL;
static HTAB *priv_cache = NULL;
static uint64 priv_generation = 0;
static uint64 priv_cache_generation = 0;
static Oid	buses_relid = InvalidOid;
static Oid	queues_relid = InvalidOid;
static Oid	grants_relid = InvalidOid;
static Oid	connections_relid = InvalidOid;
static Oid	secrets_relid = InvalidOid;
static Oid	destinations_relid = InvalidOid;
static bool legacy = false;		/* eventbus 0.1.0's catalogs: no privileges */
static SPIPlanPtr bus_owner_plan = NULL;
static SPIPlanPtr queue_owner_plan = NULL;
static SPIPlanPtr grants_plan = NULL;
static SPIPlanPtr connection_owner_plan = NULL;
static SPIPlanPtr destination_owner_plan = NULL;

PG_FUNCTION_INFO_V1(eventbus_has_event_bus_privilege);
PG_FUNCTION_INFO_V1(eventbus_has_queue_privilege);
PG_FUNCTION_INFO_V1(eventbus_is_admin);
PG_FUNCTION_INFO_V1(eventbus_has_connection_privilege);
PG_FUNCTION_INFO_V1(eventbus_has_api_destination_privilege);

static const char *
kind_grant_name(EventbusObjectKind kind)
{
	switch (kind)
	{
		case EB_OBJECT_BUS:
			return "bus";
		case EB_OBJECT_QUEUE:
			return "queue";
		case EB_OBJECT_CONNECTION:
			return "connection";
		case EB_OBJECT_API_DESTINATION:
			return "api_destination";
	}
	return "?";					/* keep compiler quiet */
}

static char
kind_key_prefix(EventbusObjectKind kind)
{
	switch (kind)
	{
		case EB_OBJECT_BUS:
			return 'b';
		case EB_OBJECT_QUEUE:
			return 'q';
		case EB_OBJECT_CONNECTION:
			return 'c';
		case EB_OBJECT_API_DESTINATION:
			return 'd';
	}
	return '?';					/* keep compiler quiet */
}

void
privileges_relation_changed(Oid relid)
{
	if (relid == InvalidOid || !OidIsValid(grants_relid) ||
		relid == buses_relid || relid == queues_relid || relid == grants_relid ||
		(OidIsValid(relid) && (relid == connections_relid || relid == secrets_relid ||
							   relid == destinations_relid)))
		priv_generation++;
}

bool
eventbus_role_is_admin(Oid roleid)
{
	Oid			admin;

	if (superuser_arg(roleid))
		return true;
	admin = get_role_oid("eventbus_admin", true);
	return OidIsValid(admin) && has_privs_of_role(roleid, admin);
}

uint32
eventbus_privilege_from_name(EventbusObjectKind kind, const char *name)
{
	if (kind == EB_OBJECT_BUS)
	{
		if (strcmp(name, "put_events") == 0)
			return EB_PRIV_PUT_EVENTS;
		if (strcmp(name, "manage_rules") == 0)
			return EB_PRIV_MANAGE_RULES;
		if (strcmp(name, "read_events") == 0)
			return EB_PRIV_READ_EVENTS;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized privilege \"%s\" for an event bus", name),
				 errdetail("The privileges are put_events, manage_rules, read_events.")));
	}
	if (kind == EB_OBJECT_CONNECTION)
	{
		if (strcmp(name, "use") == 0)
			return EB_PRIV_USE;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized privilege \"%s\" for a connection", name),
				 errdetail("The privilege of a connection is use.")));
	}
	if (kind == EB_OBJECT_API_DESTINATION)
	{
		if (strcmp(name, "invoke") == 0)
			return EB_PRIV_INVOKE;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unrecognized privilege \"%s\" for an API destination", name),
				 errdetail("The privilege of an API destination is invoke.")));
	}
	if (strcmp(name, "receive") == 0)
		return EB_PRIV_RECEIVE;
	if (strcmp(name, "send") == 0)
		return EB_PRIV_SEND;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unrecognized privilege \"%s\" for a queue", name),
			 errdetail("The privileges are receive, send.")));
	return 0;					/* keep compiler quiet */
}

/*
 * The tables of connections and API destinations (eventbus 0.3.0), looked
 * up again until found: an ALTER EXTENSION eventbus UPDATE in this session
 * makes them.
 */
static void
resolve_http_catalogs(void)
{
	Oid			nsp;

	if (OidIsValid(destinations_relid))
		return;
	nsp = get_namespace_oid("eventbus", true);
	if (!OidIsValid(nsp))
		return;
	connections_relid = get_relname_relid("connections", nsp);
	secrets_relid = get_relname_relid("connection_secrets", nsp);
	destinations_relid = get_relname_relid("api_destinations", nsp);
	if (!OidIsValid(connections_relid) || !OidIsValid(secrets_relid))
		connections_relid = secrets_relid = destinations_relid = InvalidOid;
	else if (OidIsValid(destinations_relid))
		priv_generation++;		/* "none exists" may have been cached */
}

/* The catalog tables' OIDs, once per session (NULL-safe before install). */
static bool
resolve_catalogs(void)
{
	Oid			nsp;

	if (OidIsValid(grants_relid))
	{
		resolve_http_catalogs();
		return true;
	}
	nsp = get_namespace_oid("eventbus", true);
	if (!OidIsValid(nsp))
		return false;
	buses_relid = get_relname_relid("event_buses", nsp);
	queues_relid = get_relname_relid("queues", nsp);
	grants_relid = get_relname_relid("grants", nsp);
	eventbus_watch_relcache();
	if (!OidIsValid(buses_relid) || !OidIsValid(queues_relid))
	{
		buses_relid = queues_relid = grants_relid = InvalidOid;
		return false;
	}
	/* not known yet, so that an UPDATE of the extension is seen at once */
	legacy = !OidIsValid(grants_relid);
	if (legacy)
		buses_relid = queues_relid = InvalidOid;
	else
		resolve_http_catalogs();
	return true;
}

static void
reset_cache_if_stale(void)
{
	HASHCTL		ctl;

	if (priv_cache != NULL && priv_cache_generation == priv_generation)
		return;
	if (priv_context == NULL)
		priv_context = AllocSetContextCreate(TopMemoryContext,
											 "eventbus privileges",
											 ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(priv_context);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = PRIV_KEY_SIZE;
	ctl.entrysize = sizeof(PrivEntry);
	ctl.hcxt = priv_context;
	priv_cache = hash_create("eventbus privileges", 64, &ctl,
							 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	priv_cache_generation = priv_generation;
}

static SPIPlanPtr
prepare_kept(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/*
 * Reads an object's owner and grants into entry (inside SPI); its grants
 * are allocated in cxt.
 */
static void
load_entry(PrivEntry *entry, EventbusObjectKind kind, const char *name,
		   MemoryContext cxt)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];
	SPIPlanPtr	owner_plan;
	int			ret;
	PrivGrant  *grants;
	int			ngrants = 0;

	if ((kind == EB_OBJECT_CONNECTION || kind == EB_OBJECT_API_DESTINATION) &&
		(legacy || !OidIsValid(destinations_relid)))
	{
		/* eventbus before 0.3.0: there are none */
		entry->exists = false;
		entry->owner = InvalidOid;
		entry->ngrants = 0;
		entry->grants = NULL;
		return;
	}
	if (legacy)
	{
		/* plans of a legacy catalog are not kept: it is about to change */
		const char *sql = kind == EB_OBJECT_BUS
			? "SELECT FROM eventbus.event_buses WHERE name = $1"
			: "SELECT FROM eventbus.queues WHERE name = $1";

		args[0] = CStringGetTextDatum(name);
		ret = SPI_execute_with_args(sql, 1, argtypes, args, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "looking up \"%s\" failed: %s", name, SPI_result_code_string(ret));
		entry->exists = SPI_processed == 1;
		entry->owner = InvalidOid;
		entry->ngrants = 1;
		entry->grants = MemoryContextAllocZero(cxt, sizeof(PrivGrant));
		entry->grants[0].grantee = InvalidOid;	/* PUBLIC */
		entry->grants[0].privileges = ~(uint32) 0;
		return;
	}
	if (bus_owner_plan == NULL)
	{
		bus_owner_plan = prepare_kept("SELECT owner::pg_catalog.oid FROM eventbus.event_buses WHERE name = $1",
									  1, argtypes);
		queue_owner_plan = prepare_kept("SELECT owner::pg_catalog.oid FROM eventbus.queues WHERE name = $1",
										1, argtypes);
		grants_plan = prepare_kept("SELECT grantee, privilege FROM eventbus.grants"
								   " WHERE object_kind = $1 AND object_name = $2",
								   2, argtypes);
	}
	if ((kind == EB_OBJECT_CONNECTION || kind == EB_OBJECT_API_DESTINATION) &&
		connection_owner_plan == NULL)
	{
		/* owners are role names: a dropped one owns nothing (NULL) */
		connection_owner_plan = prepare_kept("SELECT r.oid FROM eventbus.connections c"
											 " LEFT JOIN pg_catalog.pg_roles r ON r.rolname = c.owner"
											 " WHERE c.name = $1", 1, argtypes);
		destination_owner_plan = prepare_kept("SELECT r.oid FROM eventbus.api_destinations d"
											  " LEFT JOIN pg_catalog.pg_roles r ON r.rolname = d.owner"
											  " WHERE d.name = $1", 1, argtypes);
	}
	switch (kind)
	{
		case EB_OBJECT_BUS:
			owner_plan = bus_owner_plan;
			break;
		case EB_OBJECT_QUEUE:
			owner_plan = queue_owner_plan;
			break;
		case EB_OBJECT_CONNECTION:
			owner_plan = connection_owner_plan;
			break;
		default:
			owner_plan = destination_owner_plan;
			break;
	}

	args[0] = CStringGetTextDatum(name);
	ret = SPI_execute_plan(owner_plan, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading the owner of \"%s\" failed: %s", name, SPI_result_code_string(ret));
	entry->exists = SPI_processed == 1;
	entry->owner = InvalidOid;
	entry->ngrants = 0;
	entry->grants = NULL;
	if (!entry->exists)
		return;
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			entry->owner = DatumGetObjectId(d);
	}

	args[0] = CStringGetTextDatum(kind_grant_name(kind));
	args[1] = CStringGetTextDatum(name);
	ret = SPI_execute_plan(grants_plan, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "reading the grants of \"%s\" failed: %s", name, SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return;
	grants = MemoryContextAllocZero(cxt, sizeof(PrivGrant) * SPI_processed);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		gnull,
					pnull;
		Datum		g = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &gnull);
		Datum		p = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &pnull);
		Oid			grantee;
		char	   *privname;
		uint32		bit;
		int			j;

		if (gnull || pnull)
			continue;
		grantee = DatumGetObjectId(g);
		privname = TextDatumGetCString(p);
		bit = eventbus_privilege_from_name(kind, privname);
		for (j = 0; j < ngrants; j++)
			if (grants[j].grantee == grantee)
				break;
		if (j == ngrants)
		{
			grants[j].grantee = grantee;
			ngrants++;
		}
		grants[j].privileges |= bit;
	}
	entry->grants = grants;
	entry->ngrants = ngrants;
}

/* The cache entry of an object, read from the catalogs on a miss. */
static PrivEntry *
lookup_entry(EventbusObjectKind kind, const char *name)
{
	char		key[PRIV_KEY_SIZE];
	PrivEntry  *entry;
	bool		found;
	Oid			save_userid;
	int			save_sec_context;

	if (strlen(name) > PRIV_KEY_SIZE - 3)
		return NULL;			/* longer than any bus or queue name */
	snprintf(key, sizeof(key), "%c:%s", kind_key_prefix(kind), name);
	reset_cache_if_stale();
	entry = hash_search(priv_cache, key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	/* read as the catalogs' owner: users hold no rights on them */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(get_rel_owner_or_superuser(grants_relid),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		PrivEntry	loaded;
		MemoryContext callercxt = CurrentMemoryContext;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		load_entry(&loaded, kind, name, callercxt);
		SPI_finish();
		/* the cache may have been reset by an invalidation meanwhile */
		reset_cache_if_stale();
		entry = hash_search(priv_cache, key, HASH_ENTER, &found);
		entry->exists = loaded.exists;
		entry->owner = loaded.owner;
		entry->ngrants = loaded.ngrants;
		entry->grants = NULL;
		if (loaded.ngrants > 0)
		{
			entry->grants = MemoryContextAlloc(priv_context, sizeof(PrivGrant) * loaded.ngrants);
			memcpy(entry->grants, loaded.grants, sizeof(PrivGrant) * loaded.ngrants);
		}
		if (loaded.grants != NULL)
			pfree(loaded.grants);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	return entry;
}

EventbusAccess
eventbus_check_privilege(EventbusObjectKind kind, const char *name, uint32 privileges,
						 Oid roleid)
{
	PrivEntry  *entry;

	if (!resolve_catalogs())
		return EB_ACCESS_NOT_FOUND;
	entry = lookup_entry(kind, name);
	if (entry == NULL || !entry->exists)
		return EB_ACCESS_NOT_FOUND;
	if (eventbus_role_is_admin(roleid))
		return EB_ACCESS_OK;
	if (OidIsValid(entry->owner) && has_privs_of_role(roleid, entry->owner))
		return EB_ACCESS_OK;
	for (int i = 0; i < entry->ngrants; i++)
	{
		PrivGrant  *g = &entry->grants[i];

		if ((g->privileges & privileges) == privileges &&
			(g->grantee == InvalidOid || has_privs_of_role(roleid, g->grantee)))
			return EB_ACCESS_OK;
	}
	return EB_ACCESS_DENIED;
}

/*
 * As eventbus_check_privilege, but a denial is checked again against the
 * catalogs: for the delivery worker, which a committing transaction wakes
 * before its invalidations are sent (a grant committed with the events
 * that need it would otherwise be missed).
 */
EventbusAccess
eventbus_check_privilege_fresh(EventbusObjectKind kind, const char *name, uint32 privileges,
							   Oid roleid)
{
	EventbusAccess access = eventbus_check_privilege(kind, name, privileges, roleid);
	char		key[PRIV_KEY_SIZE];

	if (access == EB_ACCESS_OK || priv_cache == NULL || strlen(name) > PRIV_KEY_SIZE - 3)
		return access;
	snprintf(key, sizeof(key), "%c:%s", kind_key_prefix(kind), name);
	/* its grants stay in priv_context until the next reset */
	hash_search(priv_cache, key, HASH_REMOVE, NULL);
	return eventbus_check_privilege(kind, name, privileges, roleid);
}

bool
eventbus_has_privilege(EventbusObjectKind kind, const char *name, uint32 privileges, Oid roleid)
{
	return eventbus_check_privilege(kind, name, privileges, roleid) == EB_ACCESS_OK;
}

uint64
eventbus_privileges_generation(void)
{
	/* before the catalogs are known every invalidation counts: know them */
	if (IsTransactionState())
		(void) resolve_catalogs();
	return priv_generation;
}

void
eventbus_become_catalog_owner(Oid *save_userid, int *save_sec_context)
{
	Oid			nsp = get_namespace_oid("eventbus", false);
	Oid			rules = get_relname_relid("rules", nsp);

	GetUserIdAndSecContext(save_userid, save_sec_context);
	SetUserIdAndSecContext(get_rel_owner_or_superuser(rules),
						   *save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

/* The owner of a relation; the bootstrap superuser if it is gone. */
Oid
get_rel_owner_or_superuser(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner = BOOTSTRAP_SUPERUSERID;

	if (HeapTupleIsValid(tup))
	{
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
	}
	return owner;
}

static Datum
has_privilege_sql(FunctionCallInfo fcinfo, EventbusObjectKind kind)
{
	text	   *name_arg = PG_GETARG_TEXT_PP(0);
	char	   *privname = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			roleid = PG_GETARG_OID(2);
	uint32		bit = eventbus_privilege_from_name(kind, privname);
	const char *name = VARDATA_ANY(name_arg);
	int			len = VARSIZE_ANY_EXHDR(name_arg);
	char	   *cname;

	if (kind == EB_OBJECT_BUS)
	{
		const char *bus;
		int			buslen;

		/* a name or an event bus ARN; anything else names no bus */
		if (arn_parse_bus_name(name, len, &bus, &buslen) != BUS_NAME_OK)
			PG_RETURN_BOOL(false);
		cname = pnstrdup(bus, buslen);
	}
	else
		cname = pnstrdup(name, len);
	PG_RETURN_BOOL(eventbus_has_privilege(kind, cname, bit, roleid));
}

/* eventbus.has_event_bus_privilege(bus text, privilege text, role regrole) */
Datum
eventbus_has_event_bus_privilege(PG_FUNCTION_ARGS)
{
	return has_privilege_sql(fcinfo, EB_OBJECT_BUS);
}

/* eventbus.has_queue_privilege(queue text, privilege text, role regrole) */
Datum
eventbus_has_queue_privilege(PG_FUNCTION_ARGS)
{
	return has_privilege_sql(fcinfo, EB_OBJECT_QUEUE);
}

/* eventbus.has_connection_privilege(connection text, privilege text, role regrole) */
Datum
eventbus_has_connection_privilege(PG_FUNCTION_ARGS)
{
	return has_privilege_sql(fcinfo, EB_OBJECT_CONNECTION);
}

/* eventbus.has_api_destination_privilege(api_destination text, privilege text, role regrole) */
Datum
eventbus_has_api_destination_privilege(PG_FUNCTION_ARGS)
{
	return has_privilege_sql(fcinfo, EB_OBJECT_API_DESTINATION);
}

/* eventbus._is_admin(role regrole) */
Datum
eventbus_is_admin(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(eventbus_role_is_admin(PG_GETARG_OID(0)));
}

/*
 * Rule owners, for row-level security on eventbus.dead_letters: a role
 * reads the dead letters of the rules it owns.  Cached per session, read
 * again when rules change.
 */
typedef struct RuleOwnerEntry
{
	char		key[PRIV_KEY_SIZE + 72];	/* "<bus>\x1f<rule>" */
	Oid			owner;			/* InvalidOid: no such rule, or no owner */
} RuleOwnerEntry;

static HTAB *rule_owners = NULL;
static MemoryContext rule_owners_context = NULL;
static uint64 rule_owners_generation = 0;
static SPIPlanPtr rule_owner_plan = NULL;

static Oid
rule_owner(const char *bus, int buslen, const char *rule, int rulelen)
{
	char		key[PRIV_KEY_SIZE + 72];
	RuleOwnerEntry *entry;
	uint64		generation = rule_index_catalog_generation();
	Oid			owner = InvalidOid;
	Oid			save_userid;
	int			save_sec_context;
	bool		found;

	if (buslen + rulelen + 2 > (int) sizeof(key))
		return InvalidOid;		/* longer than any bus and rule name */
	memcpy(key, bus, buslen);
	key[buslen] = '\x1f';
	memcpy(key + buslen + 1, rule, rulelen);
	key[buslen + 1 + rulelen] = '\0';

	if (rule_owners == NULL || rule_owners_generation != generation)
	{
		HASHCTL		ctl;

		if (rule_owners_context == NULL)
			rule_owners_context = AllocSetContextCreate(TopMemoryContext,
														"eventbus rule owners",
														ALLOCSET_SMALL_SIZES);
		else
			MemoryContextReset(rule_owners_context);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(key);
		ctl.entrysize = sizeof(RuleOwnerEntry);
		ctl.hcxt = rule_owners_context;
		rule_owners = hash_create("eventbus rule owners", 64, &ctl,
								  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
		rule_owners_generation = generation;
	}
	entry = hash_search(rule_owners, key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->owner;

	eventbus_become_catalog_owner(&save_userid, &save_sec_context);
	PG_TRY();
	{
		Oid			argtypes[2] = {TEXTOID, TEXTOID};
		Datum		args[2];

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (rule_owner_plan == NULL)
			rule_owner_plan = prepare_kept("SELECT owner::pg_catalog.oid FROM eventbus.rules"
										   " WHERE bus = $1 AND name = $2", 2, argtypes);
		args[0] = PointerGetDatum(cstring_to_text_with_len(bus, buslen));
		args[1] = PointerGetDatum(cstring_to_text_with_len(rule, rulelen));
		if (SPI_execute_plan(rule_owner_plan, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "reading the owner of rule \"%s\" failed", key);
		if (SPI_processed == 1)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				owner = DatumGetObjectId(d);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();

	if (rule_owners_generation == rule_index_catalog_generation())
	{
		entry = hash_search(rule_owners, key, HASH_ENTER, &found);
		entry->owner = owner;
	}
	return owner;
}

/*
 * eventbus._owns_rule(bus text, rule text): whether the current role has
 * the privileges of the rule's owner (for the policy on dead letters).
 */
PG_FUNCTION_INFO_V1(eventbus_owns_rule);

Datum
eventbus_owns_rule(PG_FUNCTION_ARGS)
{
	text	   *bus = PG_GETARG_TEXT_PP(0);
	text	   *rule = PG_GETARG_TEXT_PP(1);
	Oid			owner;

	owner = rule_owner(VARDATA_ANY(bus), VARSIZE_ANY_EXHDR(bus),
					   VARDATA_ANY(rule), VARSIZE_ANY_EXHDR(rule));
	PG_RETURN_BOOL(OidIsValid(owner) && has_privs_of_role(GetUserId(), owner));
}
