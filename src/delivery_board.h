/*-------------------------------------------------------------------------
 *
 * delivery_board.h
 *	  The shared board of push targets: which have new messages, which
 *	  worker holds which target, and when a target's next retry comes due.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_DELIVERY_BOARD_H
#define EVENTBUS_DELIVERY_BOARD_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/lwlock.h"

typedef struct BoardEntry BoardEntry;

/* Shared memory (worker.c's delivery_shmem_size/startup call these). */
extern Size board_shmem_size(void);
extern void board_shmem_startup(LWLock *lock);

/*
 * Worker side.  board_attach: the entry of a push target (its outbox), made
 * if missing; NULL when the board is full (such a target is then treated
 * as always having new messages).  board_database: the entry that says
 * "some target of this database, maybe not yet on the board, has new
 * messages".  board_forget: drop a database's entries other than keep.
 */
extern BoardEntry *board_attach(Oid dboid, Oid outbox);
extern BoardEntry *board_database(Oid dboid);
extern void board_forget(Oid dboid, const Oid *keep, int nkeep);

/* Take (and clear) the "new messages" flag; set it again. */
extern bool board_take_pending(BoardEntry *entry);
extern void board_set_pending(BoardEntry *entry);
extern bool board_is_pending(BoardEntry *entry);

/* Leases: one worker (slot) at a time delivers to a target. */
extern bool board_try_lease(BoardEntry *entry, int slot);
extern void board_release(BoardEntry *entry, int slot);
extern void board_release_all(int slot);

/*
 * Slow targets: one whose last visit held its worker longer than
 * eventbus.delivery_stall_timeout (a call that runs into its timeout, an
 * endpoint that does not answer) is marked slow until a visit is quick.
 */
extern bool board_is_slow(BoardEntry *entry);
extern void board_set_slow(BoardEntry *entry, bool slow);

/* When the target's earliest not-yet-visible message comes due (0: none). */
extern TimestampTz board_next_due(BoardEntry *entry);
extern void board_set_next_due(BoardEntry *entry, TimestampTz due);

/*
 * Whether this worker is the one to log an error of a target (hash: of the
 * error's code and message): the first of the database's workers to meet
 * it, and then again after interval_ms.  Workers share the target, so the
 * log says it once, not once per worker.
 */
extern bool board_claim_error_log(Oid dboid, Oid outbox, uint32 hash, int interval_ms);

/* Whether this worker is the one to log that the target works again. */
extern bool board_claim_recovery_log(Oid dboid, Oid outbox, bool logged_here);

/*
 * Producer side: routing notes each push target's outbox it enqueued for;
 * at commit their flags are set (board_publish, from the transaction
 * callback), at abort forgotten.
 */
extern void board_note_enqueued(Oid outbox);
extern void board_publish(Oid dboid);
extern void board_forget_noted(void);

#endif							/* EVENTBUS_DELIVERY_BOARD_H */
