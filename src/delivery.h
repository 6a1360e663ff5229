/*-------------------------------------------------------------------------
 *
 * delivery.h
 *	  One delivery cycle of a worker, and the push target kinds it invokes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_DELIVERY_H
#define EVENTBUS_DELIVERY_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

typedef struct PushTarget
{
	int64		rule_id;
	char	   *bus;
	char	   *rule;
	char	   *target_id;
	char	   *kind;			/* function, bus, notify (http: its own issue) */
	char	   *destination;	/* regprocedure, bus name or channel */
	Oid			outbox;
	Oid			owner;			/* role the target runs as */
	int			max_retry_attempts;
	int			max_event_age;	/* seconds */
	int			timeout_ms;		/* function targets: statement_timeout */
	Oid			dlq_outbox;		/* DeadLetterConfig queue's outbox, or 0 */
	char	   *dlq_queue;
	bool		shared_outbox;	/* its outbox is also a queue's or another target's */
} PushTarget;

typedef struct DeliveryMessage
{
	int64		message_id;
	pg_uuid_t	event_id;
	TimestampTz event_ingestion_time;
	Jsonb	   *payload;		/* transformed payload, or the envelope */
	bool		payload_is_event;	/* no input transformation */
	int			attempts;		/* attempts before this one */
	TimestampTz enqueued_at;
	TimestampTz first_attempt_at;	/* 0 when never attempted */
	int			hops;			/* bus-to-bus forwards of the event */
	const char *invalid;		/* why the row cannot be delivered, or NULL */
} DeliveryMessage;

/*
 * Run one delivery cycle (outside any transaction: it starts its own):
 * claim and deliver at most one batch per push target, each in its own
 * transaction.  Returns how many messages were attempted; *next_due is set
 * to the earliest time a not-yet-visible message becomes due (0 if none).
 */
extern int	delivery_run_cycle(TimestampTz *next_due, int64 *delivered, int64 *failed);

/* Target kinds: each raises an ERROR when the invocation fails. */
extern void target_function_invoke(const PushTarget *target, const DeliveryMessage *msg);
extern void target_bus_invoke(const PushTarget *target, const DeliveryMessage *msg);
extern void target_notify_invoke(const PushTarget *target, const DeliveryMessage *msg);

#endif							/* EVENTBUS_DELIVERY_H */
