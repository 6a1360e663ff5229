#!/usr/bin/env python3
"""Consume an eventbus queue with psycopg 3: receive a batch, handle each
message in a transaction that also records its event id and acks it, and
wait for the queue's NOTIFY only when a receive found nothing and no
notification came in meanwhile.

Connects with the libpq environment (PGHOST, PGDATABASE, ...).
EB_QUEUE names the queue; EB_MAX_MESSAGES and EB_RUN_SECONDS (0: no limit)
bound the run; EB_WAIT_SECONDS is the longest wait for a notification.
"""
import os
import select
import time

import psycopg
from psycopg import sql

QUEUE = os.environ.get("EB_QUEUE", "orders")
MAX_MESSAGES = int(os.environ.get("EB_MAX_MESSAGES", "0"))
RUN_SECONDS = float(os.environ.get("EB_RUN_SECONDS", "0"))
WAIT_SECONDS = float(os.environ.get("EB_WAIT_SECONDS", "10"))
BATCH = 10        # messages per receive
VISIBILITY = 30   # seconds a received message stays hidden from other consumers


def handle(conn, message_id, event_id, event):
    """One message, in one transaction: the work, the event id, the ack.

    Delivery is at least once: a message comes back when its visibility
    timeout passes before it is acked (say the consumer that had it died
    after its work), and one event can reach a queue twice.  The event id
    recorded with the work makes the second delivery a no-op.
    """
    with conn.transaction():
        first = conn.execute(
            "INSERT INTO app.processed_events (queue, event_id) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING",
            (QUEUE, event_id)).rowcount == 1
        if first:
            # the work: here, a row of the application's own
            conn.execute(
                "INSERT INTO app.order_log (queue, event_id, order_id, total)"
                " VALUES (%s, %s, %s, %s)",
                (QUEUE, event_id, event["detail"]["id"], event["detail"]["total"]))
        conn.execute("SELECT eventbus.ack(%s, ARRAY[%s]::bigint[])", (QUEUE, message_id))
    return first


def main():
    deadline = time.monotonic() + RUN_SECONDS if RUN_SECONDS > 0 else None
    handled = processed = 0
    notified = False

    def on_notify(_notify):
        nonlocal notified
        notified = True

    with psycopg.connect(autocommit=True) as conn:
        conn.add_notify_handler(on_notify)
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier("eventbus." + QUEUE)))
        while not (MAX_MESSAGES and handled >= MAX_MESSAGES):
            if deadline and time.monotonic() >= deadline:
                break
            # A notification from now on means: receive again.  psycopg
            # passes notifications that arrive during any statement to
            # on_notify, so none is lost while we receive.
            notified = False
            rows = conn.execute(
                "SELECT message_id, event_id, payload FROM eventbus.receive(%s, %s, %s)",
                (QUEUE, BATCH, VISIBILITY)).fetchall()
            for message_id, event_id, event in rows:
                try:
                    processed += handle(conn, message_id, event_id, event)
                    handled += 1
                except (psycopg.DatabaseError, KeyError, TypeError) as err:
                    if conn.broken:
                        raise
                    # rolled back: the message comes back after VISIBILITY
                    # seconds, and goes to the dead letters after the
                    # queue's max_receive_count receives
                    print(f"message {message_id}: {err!r}")
            if rows or notified:
                continue  # more may be waiting: receive again before waiting
            # Nothing visible: wait for a notification, with a timeout (a
            # message whose visibility timeout passes sends none).
            timeout = WAIT_SECONDS
            if deadline:
                timeout = max(0.0, min(timeout, deadline - time.monotonic()))
            if select.select([conn.fileno()], [], [], timeout)[0]:
                conn.execute("SELECT 1")  # reads what arrived; on_notify sees it
    print(f"consumer.py: handled {handled} messages, {processed} processed,"
          f" {handled - processed} already processed (skipped)")


if __name__ == "__main__":
    main()
