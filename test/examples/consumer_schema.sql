-- What the example consumers (consumer.py, consumer.js) write: the ids of
-- the events they have processed, and their work, in one transaction.
CREATE SCHEMA IF NOT EXISTS app;
CREATE TABLE app.processed_events (
    queue        text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (queue, event_id)
);
CREATE TABLE app.order_log (
    queue    text NOT NULL,
    event_id uuid NOT NULL,
    order_id integer NOT NULL,
    total    numeric NOT NULL
);
