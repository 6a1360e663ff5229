-- Objects the fuzz harness (test/fuzz/fuzz.py) and its regression corpus
-- (test/fuzz/corpus/*.sql) work on.  Idempotent: the harness runs it
-- again whenever an input may have removed something (delete_event_bus
-- with force, delete_queue, ...).  Run as a superuser.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS eventbus;
CREATE SCHEMA IF NOT EXISTS fuzz;

-- fuzz.try(id, sql): run one input in a subtransaction and say how it
-- ended, "id|SQLSTATE|message" (00000 for success), on one line.  The
-- harness sends one SELECT fuzz.try(...) per input, so an error never
-- stops the batch and each input's outcome is known; only a crash can
-- end a batch early.
CREATE OR REPLACE FUNCTION fuzz.try(id integer, sql text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    st  text;
    msg text;
BEGIN
    EXECUTE sql;
    RETURN id || '|00000|';
EXCEPTION
    WHEN query_canceled THEN
        RETURN id || '|57014|statement timeout';
    WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
        RETURN id || '|' || st || '|' || translate(left(msg, 300), E'\n\r|', '   ');
END;
$fn$;

-- a function target that accepts anything
CREATE OR REPLACE FUNCTION fuzz.sink(p jsonb) RETURNS void
LANGUAGE sql AS $fn$ SELECT $fn$;

-- objects that adversarial regclass arguments point at
CREATE TABLE IF NOT EXISTS fuzz.victim (a int, b text);
CREATE SEQUENCE IF NOT EXISTS fuzz.seq;
CREATE OR REPLACE VIEW fuzz.view AS SELECT 1 AS message_id;

DO $do$
BEGIN
    IF NOT EXISTS (SELECT FROM eventbus.event_buses WHERE name = 'fz') THEN
        PERFORM eventbus.create_event_bus('fz', 'fuzz');
    END IF;
    IF NOT EXISTS (SELECT FROM eventbus.queues WHERE name = 'fzq') THEN
        PERFORM eventbus.create_queue('fzq');
    END IF;
    IF NOT EXISTS (SELECT FROM eventbus.rules WHERE bus = 'fz' AND name = 'fz-r') THEN
        PERFORM eventbus.put_rule('fz-r', '{"source": [{"prefix": "fz"}]}', 'fz');
        PERFORM eventbus.put_targets('fz-r', '[{"Id": "q", "Arn": "queue:fzq"}]', 'fz');
    END IF;
    -- put_targets fuzzing replaces the targets of this rule
    IF NOT EXISTS (SELECT FROM eventbus.rules WHERE bus = 'fz' AND name = 'fz-t') THEN
        PERFORM eventbus.put_rule('fz-t', '{"source": ["fz.t"]}', 'fz');
    END IF;
    -- adversarial outbox tables get function targets on this rule
    IF NOT EXISTS (SELECT FROM eventbus.rules WHERE bus = 'fz' AND name = 'fz-w') THEN
        PERFORM eventbus.put_rule('fz-w', '{"source": ["fz.w"]}', 'fz');
    END IF;
END
$do$;
RESET client_min_messages;
