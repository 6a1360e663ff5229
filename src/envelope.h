/*-------------------------------------------------------------------------
 *
 * envelope.h
 *	  An event of eventbus.events and its EventBridge JSON envelope.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_ENVELOPE_H
#define EVENTBUS_ENVELOPE_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* The columns of eventbus.events, in table order (attribute numbers). */
#define EVENTS_ATT_ID				1
#define EVENTS_ATT_BUS				2
#define EVENTS_ATT_TIME				3
#define EVENTS_ATT_SOURCE			4
#define EVENTS_ATT_DETAIL_TYPE		5
#define EVENTS_ATT_ACCOUNT			6
#define EVENTS_ATT_REGION			7
#define EVENTS_ATT_RESOURCES		8
#define EVENTS_ATT_DETAIL			9
#define EVENTS_ATT_INGESTION_TIME	10
#define EVENTS_ATT_HOPS				11
#define EVENTS_ATT_REPLAY_NAME		12
#define EVENTS_NATTS				12

/* A scheduled rule's tick (EventBridge's "Scheduled Event" envelope). */
#define SCHEDULED_EVENT_SOURCE		"aws.events"
#define SCHEDULED_EVENT_DETAIL_TYPE	"Scheduled Event"

typedef struct EventEnvelope
{
	pg_uuid_t  *id;
	text	   *bus;
	TimestampTz time;
	text	   *source;
	text	   *detail_type;
	text	   *account;
	text	   *region;
	ArrayType  *resources;		/* text[] */
	Jsonb	   *detail;
	TimestampTz ingestion_time;
	text	   *replay_name;	/* the replay that re-sent it, or NULL */
} EventEnvelope;

/* Read an event from a slot of eventbus.events (values are not copied). */
extern void envelope_from_slot(TupleTableSlot *slot, EventEnvelope *env);

/*
 * EventBridge's JSON envelope: version, id, detail-type, source, ...; and
 * "replay-name" for an event a replay re-sent.
 */
extern Jsonb *envelope_to_jsonb(const EventEnvelope *env);

/* "2017-10-02T16:24:49Z": EventBridge's time format (UTC, seconds). */
extern char *envelope_format_time(TimestampTz t);

#endif							/* EVENTBUS_ENVELOPE_H */
