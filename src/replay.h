/*-------------------------------------------------------------------------
 *
 * replay.h
 *	  Running replays (StartReplay) in the background, and what routing
 *	  needs to know of one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_REPLAY_H
#define EVENTBUS_REPLAY_H

#include "postgres.h"

extern int	eventbus_replay_batch_size;

extern void replay_define_settings(void);

/*
 * In the first delivery worker of a database, outside a transaction: run
 * one batch of the oldest active replay (its own transactions).  True when
 * there is more to do at once (the caller loops again without sleeping).
 */
extern bool replay_step(void);

/*
 * Routing: whether the events of the replay named replay_name go only to
 * some rules (Destination.FilterArns), and if so, their ARNs (*narns of
 * them in *arns, allocated in the current memory context).  False (every
 * rule) when the replay has no filter or does not exist.  The caller must
 * be connected to SPI.
 */
extern bool replay_filter_rules(text *replay_name, int *narns, char ***arns);

#endif							/* EVENTBUS_REPLAY_H */
