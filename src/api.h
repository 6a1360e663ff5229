/*-------------------------------------------------------------------------
 *
 * api.h
 *	  The caller of an API function (see api.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_API_H
#define EVENTBUS_API_H

#include "postgres.h"

extern Oid	eventbus_api_caller(void);

#endif							/* EVENTBUS_API_H */
