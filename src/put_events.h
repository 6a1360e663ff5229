/*-------------------------------------------------------------------------
 *
 * put_events.h
 *	  Declarations shared by the files of eventbus's PutEvents:
 *	  put_events.c (the SQL functions and the validation of an entry),
 *	  put_events_time.c (an entry's Time), put_events_detail.c (a Detail
 *	  given as JSON text) and put_events_store.c (storing the entries).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_PUT_EVENTS_H
#define EVENTBUS_PUT_EVENTS_H

#include "postgres.h"

#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* EventBridge's error codes for one entry. */
#define EC_INVALID_ARGUMENT		"InvalidArgument"
#define EC_MALFORMED_DETAIL		"MalformedDetail"
#define EC_BUS_NOT_FOUND		"ResourceNotFoundException"
#define EC_ACCESS_DENIED		"AccessDeniedException"

/*
 * Why an entry was refused: EventBridge's ErrorCode and ErrorMessage (the
 * answer of put_events), and the SQLSTATE, detail and hint put_event raises.
 */
typedef struct EntryError
{
	const char *code;
	char	   *message;
	int			sqlstate;
	char	   *detail;
	char	   *hint;
} EntryError;

/* One entry of a request, as stored or as refused. */
typedef struct PutEntry
{
	bool		ok;
	/* when ok: the row to store (in the function's memory context) */
	char	   *bus;
	TimestampTz time;
	text	   *source;
	text	   *detail_type;
	text	   *resources;		/* text[] literal */
	Jsonb	   *detail;
	pg_uuid_t	id;
	/* when refused */
	const char *error_code;
	char	   *error_message;
} PutEntry;

/* put_events.c */
extern void put_events_set_malformed_detail(EntryError *err, const char *why);
extern int64 put_events_event_size(text *source, text *detail_type,
								   ArrayType *resources, Jsonb *detail);

/* put_events_time.c */
extern bool put_events_parse_time(const char *s, int len, TimestampTz *result);
extern bool put_events_epoch_time(Numeric seconds, TimestampTz *result);

/* put_events_detail.c */
extern Jsonb *put_events_detail_from_text(const char *s, int len,
										  EntryError *err);

/* put_events_store.c */
extern void put_events_store(PutEntry *entries, int n, MemoryContext outcxt);
extern bool put_events_inserting(void);

#endif							/* EVENTBUS_PUT_EVENTS_H */
