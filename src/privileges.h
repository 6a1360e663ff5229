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
	EB_OBJECT_QUEUE
} EventbusObjectKind;

/* bus privileges */
#define EB_PRIV_PUT_EVENTS		0x01
#define EB_PRIV_MANAGE_RULES	0x02
#define EB_PRIV_READ_EVENTS		0x04
/* queue privileges */
#define EB_PRIV_RECEIVE			0x01
#define EB_PRIV_SEND			0x02

extern bool eventbus_has_privilege(EventbusObjectKind kind, const char *name,
								   uint32 privileges, Oid roleid);
extern bool eventbus_role_is_admin(Oid roleid);
extern uint32 eventbus_privilege_from_name(EventbusObjectKind kind, const char *name);
extern Oid	get_rel_owner_or_superuser(Oid relid);

#endif							/* EVENTBUS_PRIVILEGES_H */
