/*-------------------------------------------------------------------------
 *
 * delivery_events.h
 *	  The events of claimed push messages that reference theirs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_DELIVERY_EVENTS_H
#define EVENTBUS_DELIVERY_EVENTS_H

#include "target_kind.h"

/*
 * Give each message without a payload of its own (payload_is_event) its
 * event's envelope and hops, read by key (SPI connected).  A message whose
 * event is gone keeps payload NULL.
 */
extern void delivery_read_events(DeliveryMessage **messages, int n);

#endif							/* EVENTBUS_DELIVERY_EVENTS_H */
