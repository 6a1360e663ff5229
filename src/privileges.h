/*-------------------------------------------------------------------------
 *
 * privileges.h
 *	  Privileges on event buses and queues (see privileges.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_PRIVILEGES_H
#define EVENTBUS_PRIVILEGES_H

#include "postgres.h"

typedef enum EventbusObjectKind
{
	EB_OBJECT_BUS,
	EB_OBJECT_QUEUE,
	EB_OBJECT_CONNECTION,
	EB_OBJECT_API_DESTINATION
} EventbusObjectKind;

/* bus privileges */
#define EB_PRIV_PUT_EVENTS		0x01
#define EB_PRIV_MANAGE_RULES	0x02
#define EB_PRIV_READ_EVENTS		0x04
/* queue privileges */
#define EB_PRIV_RECEIVE			0x01
#define EB_PRIV_SEND			0x02
/* connection privileges: make API destinations that send with it */
#define EB_PRIV_USE				0x01
/* API destination privileges: put targets that send to it */
#define EB_PRIV_INVOKE			0x01

extern bool eventbus_has_privilege(EventbusObjectKind kind, const char *name,
								   uint32 privileges, Oid roleid);

/* As eventbus_has_privilege, telling a missing object from a denial. */
typedef enum EventbusAccess
{
	EB_ACCESS_OK,
	EB_ACCESS_DENIED,
	EB_ACCESS_NOT_FOUND
} EventbusAccess;

extern EventbusAccess eventbus_check_privilege(EventbusObjectKind kind, const char *name,
											   uint32 privileges, Oid roleid);
extern EventbusAccess eventbus_check_privilege_fresh(EventbusObjectKind kind, const char *name,
													 uint32 privileges, Oid roleid);

/*
 * Changes whenever owners or grants may have changed: caches that depend on
 * privileges (the rule index, the worker's targets) compare it.
 */
extern uint64 eventbus_privileges_generation(void);

/* Run as the catalogs' owner, for reading them (users hold no rights). */
extern void eventbus_become_catalog_owner(Oid *save_userid, int *save_sec_context);
extern bool eventbus_role_is_admin(Oid roleid);
extern uint32 eventbus_privilege_from_name(EventbusObjectKind kind, const char *name);
extern Oid	get_rel_owner_or_superuser(Oid relid);

#endif							/* EVENTBUS_PRIVILEGES_H */
