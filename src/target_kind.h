/*-------------------------------------------------------------------------
 *
 * target_kind.h
 *	  The kinds of targets, behind one interface: each kind (queue,
 *	  function, bus, notify, api_destination) is a static const table of
 *	  callbacks, found by name (eventbus.targets.kind) or by Arn.
 *
 * delivery.c owns claiming, retries, dead letters and isolation, and knows
 * no kind's details: it asks the kind to prepare a target once, when the
 * worker (re)loads the targets, and to deliver batches of messages, each
 * message getting a DeliveryResult.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_TARGET_KIND_H
#define EVENTBUS_TARGET_KIND_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

/* A push target as the delivery worker sees it (eventbus.targets and its rule). */
typedef struct PushTarget
{
	int64		rule_id;
	char	   *bus;
	char	   *rule;
	char	   *target_id;
	const struct TargetKind *kind;
	char	   *destination;	/* regprocedure, bus name, channel, API destination */
	Oid			outbox;
	Oid			owner;			/* role the target acts as */
	int			max_retry_attempts;
	int			max_event_age;	/* seconds */
	int			timeout_ms;		/* Config.TimeoutSeconds, or 0 for the kind's default */
	Jsonb	   *config;			/* eventbus.targets.config */
	Jsonb	   *http_parameters;	/* eventbus.targets.http_parameters, or NULL */
	Oid			dlq_outbox;		/* DeadLetterConfig queue's outbox, or 0 */
	char	   *dlq_queue;
	bool		shared_outbox;	/* its outbox is also a queue's or another target's */
	void	   *state;			/* what kind->prepare returned */
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

typedef enum DeliveryStatus
{
	DELIVERY_NOT_TRIED = 0,		/* left as it was: the worker stops, or the
								 * target's time budget is spent */
	DELIVERY_OK,
	DELIVERY_RETRY,				/* failed: retried as the retry policy says */
	DELIVERY_PERMANENT			/* failed so that retrying cannot help: dead
								 * letter at once */
} DeliveryStatus;

typedef struct DeliveryResult
{
	DeliveryStatus status;
	/* for a failure: the dead letter's error_code (a SQLSTATE, "HTTP 503", "Timeout", ...) */
	char		error_code[64];
	char	   *error_message;	/* palloc'd in the batch's context, or NULL */
	int64		retry_after_ms; /* > 0: retry no sooner (HTTP Retry-After) */
} DeliveryResult;

typedef struct DeliveryBatch
{
	PushTarget *target;
	int			nmessages;
	DeliveryMessage **messages;
	DeliveryResult *results;	/* nmessages of them, all NOT_TRIED at first */
	TimestampTz deadline;		/* start no invocation after it (time budget) */
	TimestampTz not_before;		/* set by the kind: what was not tried cannot
								 * start before then (a rate limit) */
} DeliveryBatch;

typedef struct TargetKind
{
	const char *name;			/* eventbus.targets.kind */
	bool		pushed;			/* delivered by the workers (a queue is pulled) */

	/*
	 * The destination an Arn designates, palloc'd, if the Arn is of this
	 * kind; NULL otherwise.
	 */
	char	   *(*parse_arn) (const char *arn);

	/*
	 * Per-target state, built when the worker (re)loads the targets, in a
	 * transaction with SPI connected, allocated in cxt (lives until the next
	 * reload).  May raise an ERROR: the target is then skipped until the
	 * next reload, and the error logged.  NULL: no state.
	 */
	void	   *(*prepare) (PushTarget *target, MemoryContext cxt);

	/*
	 * Deliver one message, raising an ERROR when it fails; delivery.c runs
	 * each call in a subtransaction and asks classify_error what the error
	 * means.  For kinds that deliver one message at a time inside the
	 * database (function, bus, notify).
	 */
	void		(*invoke) (const PushTarget *target, const DeliveryMessage *msg);
	DeliveryStatus (*classify_error) (const ErrorData *edata);

	/*
	 * Or deliver a whole batch at once (api_destination: many requests in
	 * flight), setting every result; in the target's transaction.  When
	 * set, invoke and classify_error are not used.
	 */
	void		(*invoke_batch) (DeliveryBatch *batch);
} TargetKind;

/* The kind named name (eventbus.targets.kind), or NULL. */
extern const TargetKind *target_kind_by_name(const char *name);

/* The kind an Arn is of, and its destination; NULL when no kind's. */
extern const TargetKind *target_kind_for_arn(const char *arn, char **destination);

/* The kinds, in the table's order (for listings and checks). */
extern int	target_kind_count(void);
extern const TargetKind *target_kind_at(int i);

/*
 * The part of "arn:aws[-partition]:<service>:<region>:<account>:<resource>"
 * after the account, or NULL when arn is not an ARN of that service.
 */
extern const char *target_arn_resource(const char *arn, const char *service);

/* The kinds' tables (target_*.c). */
extern const TargetKind target_kind_queue;
extern const TargetKind target_kind_function;
extern const TargetKind target_kind_bus;
extern const TargetKind target_kind_notify;
extern const TargetKind target_kind_api_destination;

/* The SQL kinds' classification: a missing object or privilege, a limit: permanent. */
extern DeliveryStatus target_classify_sql_error(const ErrorData *edata);

#endif							/* EVENTBUS_TARGET_KIND_H */
