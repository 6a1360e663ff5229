/*-------------------------------------------------------------------------
 *
 * outbox.h
 *	  Prepared statements on outbox tables, kept per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_OUTBOX_H
#define EVENTBUS_OUTBOX_H

#include "postgres.h"

#include "executor/spi.h"

typedef enum OutboxStatement
{
	OUTBOX_INSERT,				/* routing: unnest($1..$6) into the outbox */
	OUTBOX_RECEIVE,				/* one pass of receive(): up to limit messages */
	OUTBOX_DELETE,				/* ack(), delivery: message_id = ANY ($1) */
	OUTBOX_CLAIM,				/* delivery: lock up to limit due messages */
	OUTBOX_NEXT_DUE				/* delivery: the earliest visible_at */
} OutboxStatement;

/*
 * The statement prepared for this outbox (SPI must be connected).  limit is
 * the LIMIT of OUTBOX_RECEIVE and OUTBOX_CLAIM (0 for the others): written
 * into the statement, so that the generic plan knows it reads a few rows
 * in message_id order rather than the whole table.
 */
extern SPIPlanPtr outbox_plan(Oid outbox, OutboxStatement statement, int limit);

#endif							/* EVENTBUS_OUTBOX_H */
