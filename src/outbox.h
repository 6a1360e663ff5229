/*-------------------------------------------------------------------------
 *
 * outbox.h
 *	  Statements on outbox tables, prepared once per backend: writing
 *	  messages, moving them to the dead letters, and the channel a queue's
 *	  consumers listen on.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_OUTBOX_H
#define EVENTBUS_OUTBOX_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "utils/jsonb.h"

typedef enum OutboxStatement
{
	OUTBOX_INSERT,				/* unnest($1..$6) into the outbox */
	OUTBOX_RECEIVE,				/* receive(): lock up to limit visible messages */
	OUTBOX_DELETE,				/* ack(), delivery: message_id = ANY ($1) */
	OUTBOX_CLAIM,				/* delivery: lock up to limit due messages */
	OUTBOX_NEXT_DUE,			/* delivery: the earliest visible_at */
	OUTBOX_RESCHEDULE,			/* delivery: a failed attempt, retried at $2 */
	OUTBOX_DEAD_LETTER,			/* move messages to eventbus.dead_letters */
	OUTBOX_RECEIVE_TAKE,		/* receive(): hide and return the locked ones */
	OUTBOX_RECEIVE_FIFO,		/* one pass of receive() from a FIFO queue */
	OUTBOX_SEND,				/* write messages with group, deduplication, delay */
	OUTBOX_NSTATEMENTS
} OutboxStatement;

/*
 * Execute a statement on an outbox (SPI must be connected), as
 * SPI_execute_plan does, with the plan prepared for this outbox.  limit is
 * the LIMIT of OUTBOX_RECEIVE and OUTBOX_CLAIM (0 for the others): written
 * into the statement as a constant, so that the generic plan knows it
 * reads a few rows in message_id order rather than the whole table.  A
 * backend keeps at most OUTBOX_LIMIT_PLANS plans of each of these two
 * statements per outbox (the least recently used one goes), one of each
 * other statement, and forgets an outbox's plans once the table is gone.
 */
#define OUTBOX_LIMIT_PLANS 4
extern int	outbox_execute(Oid outbox, OutboxStatement statement, int limit,
						   Datum *args, const char *nulls, bool read_only,
						   long tcount);

/*
 * Plan and run what follows with sequential scans, bitmap scans, sorts and
 * JIT off (a few rows found by key, whatever the statistics say); returns the
 * GUC nest level to pass to AtEOXact_GUC(true, level) after it.
 */
extern int	outbox_ordered_scan_settings(void);

/*
 * The columns of a message, in the order outbox_insert() takes them:
 * event_id uuid, event_ingestion_time timestamptz, bus, rule, target_id
 * text, payload jsonb (may be NULL: the message references its event).
 */
#define OUTBOX_NCOLS 6

/* Write n messages to an outbox, as the current user (SPI connected). */
extern void outbox_insert(Oid outbox, int n, Datum *const cols[OUTBOX_NCOLS],
						  const bool *payload_nulls);

/*
 * Write n messages to a queue's outbox with their message group ids and
 * deduplication ids (either may be NULL, per message: nulls arrays, or
 * NULL for none), visible after delay_seconds (< 0: the queue's delay).
 * A message whose deduplication id the queue saw within
 * eventbus.deduplication_window (or earlier in the batch) is not written.
 * Returns how many were written; SPI_tuptable then holds their
 * message_id, deduplication_id.
 */
extern uint64 outbox_insert_fifo(Oid outbox, int n, Datum *const cols[OUTBOX_NCOLS],
								 const bool *payload_nulls,
								 Datum *groups, const bool *group_nulls,
								 Datum *dedups, const bool *dedup_nulls,
								 int delay_seconds);

/*
 * Why messages go to the dead letters.  Fields left NULL / negative / 0
 * take the message's own values: its payload, its receive count as the
 * retry attempts, its first and last attempt times; dead_lettered_at 0 is
 * now().
 */
typedef struct DeadLetterReason
{
	const char *queue;			/* the queue it was received from, or NULL */
	const char *error_code;
	const char *error_message;
	const char *exhausted_condition;	/* or NULL */
	Jsonb	   *payload;		/* instead of the message's own */
	int			retry_attempts; /* < 0: the message's receive_count */
	TimestampTz attempt_at;		/* an attempt that failed just now, or 0 */
	TimestampTz dead_lettered_at;
	/* for a row that lacks them (a damaged outbox), or NULL */
	const char *bus;
	const char *rule;
	const char *target_id;
} DeadLetterReason;

/*
 * Move messages (an int8[] of message ids) of an outbox to
 * eventbus.dead_letters: deleted there, inserted here, in one statement.
 * Returns how many moved.
 */
extern uint64 outbox_dead_letter(Oid outbox, Datum message_ids,
								 const DeadLetterReason *reason);

/*
 * NOTIFY, at commit, the channel "eventbus.<queue>" its consumers listen on,
 * and wake its long-polling receive()s (queue_wait.h).
 */
extern void outbox_notify_queue(const char *queue);

#endif							/* EVENTBUS_OUTBOX_H */
