/*-------------------------------------------------------------------------
 *
 * fifo.h
 *	  FIFO queues: a target's message group and deduplication ids
 *	  (SqsParameters), the deduplication window, send_message's write.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_FIFO_H
#define EVENTBUS_FIFO_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/uuid.h"

/* eventbus.deduplication_window, in seconds */
extern int	eventbus_deduplication_window;

extern void fifo_define_settings(void);

/* A FIFO queue target's SqsParameters, compiled (opaque). */
typedef struct TargetSqs TargetSqs;

/* Compile a target's (checked) SqsParameters, in the current context. */
extern TargetSqs *fifo_target_compile(Jsonb *sqs_parameters);

/*
 * The message group id and deduplication id of an event's message for the
 * target, as text datums in the current context.
 */
extern Datum fifo_group_id(const TargetSqs *sqs, Jsonb *event);
extern Datum fifo_deduplication_id(const TargetSqs *sqs, Jsonb *event,
								   const pg_uuid_t *event_id);

/*
 * After a write of messages with deduplication ids: now and then, delete
 * some expired ids (SPI connected).
 */
extern void fifo_deduplication_cleanup(uint64 written);

#endif							/* EVENTBUS_FIFO_H */
