-- eventbus 0.1.0 -> 0.2.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Schema eventbus becomes a member of the extension.
--
-- 0.1.0 named it in the control file ("schema = eventbus"), so CREATE
-- EXTENSION made it outside the extension and DROP EXTENSION left it behind.
-- 0.2.0 records pg_catalog as the extension's schema (as a fresh install
-- does) and adopts schema eventbus, which PostgreSQL allows only once the
-- extension no longer lives in it.
UPDATE pg_catalog.pg_extension
   SET extnamespace = 'pg_catalog'::pg_catalog.regnamespace
 WHERE extname = 'eventbus';
-- pg_catalog is pinned: a fresh install records no dependency on it.
DELETE FROM pg_catalog.pg_depend
 WHERE classid = 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND objid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'eventbus')
   AND refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
   AND deptype = 'n';
ALTER EXTENSION eventbus ADD SCHEMA eventbus;
COMMENT ON SCHEMA eventbus IS 'eventbus: event buses, rules, targets, queues and events.';

-- ---------------------------------------------------------------------------
-- One home for logic that existed twice: EventBusName parsing and bus and
-- rule ARNs in C (src/arn.c); writing messages, moving them to the dead
-- letters and the queue channel in C (src/outbox.c), called from SQL.

CREATE OR REPLACE FUNCTION eventbus._bus_name(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_name(text) IS
'Internal: the bus name in an EventBusName argument (a name or an event-bus ARN); NULL means "default". Raises 22023 for an empty name or an ARN that is not an event bus ARN.';

CREATE OR REPLACE FUNCTION eventbus._bus_arn_name(arn text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_bus_arn_name'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus._bus_arn_name(text) IS
'Internal: the bus name in an event bus ARN; NULL when arn is not a well-formed event bus ARN.';

CREATE OR REPLACE FUNCTION eventbus._parse_target_arn(arn text, OUT kind text, OUT destination text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF arn ~ '^queue:.' THEN
        kind := 'queue';
        destination := substr(arn, 7);
    ELSIF arn ~ '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:[^:/]+$' THEN
        kind := 'queue';
        destination := substring(arn FROM '^arn:aws[a-z-]*:sqs:[^:]*:[^:]*:([^:/]+)$');
    ELSIF arn ~ '^function:.' THEN
        kind := 'function';
        destination := substr(arn, 10);
    ELSIF arn ~ '^bus:.' THEN
        kind := 'bus';
        destination := substr(arn, 5);
    ELSIF eventbus._bus_arn_name(arn) IS NOT NULL THEN
        kind := 'bus';
        destination := eventbus._bus_arn_name(arn);
    ELSIF arn ~ '^notify:.' THEN
        kind := 'notify';
        destination := substr(arn, 8);
    ELSIF arn ~* '^https?://.' THEN
        kind := 'http';
        destination := arn;
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._parse_target_arn(text) IS
'Internal: the kind (queue, function, bus, notify, http) and destination a target Arn designates; NULLs for an unrecognised Arn.';

CREATE OR REPLACE FUNCTION eventbus.event_bus_arn(event_bus_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_event_bus_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.event_bus_arn(text) IS
'The ARN of an event bus: arn:aws:events:<region>:<account>:event-bus/<name> (eventbus.region, eventbus.account). Does not check that the bus exists.';

CREATE OR REPLACE FUNCTION eventbus.rule_arn(rule text, event_bus_name text DEFAULT 'default')
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_rule_arn'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.rule_arn(text, text) IS
'The ARN of a rule, as EventBridge forms it: arn:aws:events:<region>:<account>:rule/<name> on the default bus, .../rule/<bus>/<name> on other buses. Does not check that the rule exists.';

CREATE OR REPLACE FUNCTION eventbus._enqueue(outbox regclass, event_id uuid,
                                  event_ingestion_time timestamptz, bus text,
                                  rule text, target_id text, payload jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_enqueue'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._enqueue(regclass, uuid, timestamptz, text, text, text, jsonb) IS
'Internal: writes one message to an outbox table; a NULL payload references the event.';

CREATE OR REPLACE FUNCTION eventbus._dead_letter(outbox regclass, message_ids bigint[],
                                      error_code text, error_message text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_dead_letter'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._dead_letter(regclass, bigint[], text, text) IS
'Internal: moves messages of an outbox table to eventbus.dead_letters with that error; returns how many.';

CREATE OR REPLACE FUNCTION eventbus._notify_queue(queue text)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_notify_queue'
LANGUAGE C VOLATILE STRICT;

COMMENT ON FUNCTION eventbus._notify_queue(text) IS
'Internal: notifies the consumers of a queue (channel eventbus.<queue>) when the transaction commits.';

CREATE OR REPLACE FUNCTION eventbus._outbox_plans(OUT outbox oid, OUT statement text, OUT "limit" integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_outbox_plans'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._outbox_plans() IS
'Internal: the statements this session keeps prepared for outbox tables, with the LIMIT of those that have one.';

CREATE OR REPLACE FUNCTION eventbus._target_removed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ids bigint[];
    n bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.outbox = OLD.outbox THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT FROM eventbus.queues q WHERE q.outbox = OLD.outbox)
       OR EXISTS (SELECT FROM eventbus.targets t WHERE t.outbox = OLD.outbox)
       OR NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = OLD.outbox) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT ARRAY(SELECT o.message_id FROM %s o)', OLD.outbox) INTO ids;
    n := eventbus._dead_letter(OLD.outbox, ids, 'TargetRemoved',
                               'The target was removed before the message was delivered.');
    IF n > 0 THEN
        RAISE NOTICE '% undelivered message(s) of target % moved to eventbus.dead_letters', n, OLD.target_id;
    END IF;
    EXECUTE format('DROP TABLE %s', OLD.outbox);
    RETURN NULL;
END;
$fn$;

COMMENT ON FUNCTION eventbus._target_removed() IS
'Internal: trigger on eventbus.targets that retires a push target''s outbox when the target goes, moving undelivered messages to the dead letters.';

CREATE OR REPLACE FUNCTION eventbus.redrive_dead_letters(dead_letter_ids bigint[] DEFAULT NULL,
                                              bus text DEFAULT NULL,
                                              rule text DEFAULT NULL,
                                              target_id text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    d eventbus.dead_letters;
    t eventbus.targets;
    q eventbus.queues;
    dest regclass;
    payload jsonb;
    redriven integer := 0;
    skipped integer := 0;
    push boolean := false;
BEGIN
    FOR d IN
        SELECT * FROM eventbus.dead_letters x
         WHERE (dead_letter_ids IS NULL OR x.dead_letter_id = ANY (dead_letter_ids))
           AND (redrive_dead_letters.bus IS NULL OR x.bus = redrive_dead_letters.bus)
           AND (redrive_dead_letters.rule IS NULL OR x.rule = redrive_dead_letters.rule)
           AND (redrive_dead_letters.target_id IS NULL OR x.target_id = redrive_dead_letters.target_id)
         ORDER BY x.dead_letter_id
           FOR UPDATE
    LOOP
        dest := NULL;
        payload := d.payload;
        IF d.queue IS NOT NULL THEN
            SELECT * INTO q FROM eventbus.queues WHERE name = d.queue;
            IF FOUND THEN
                dest := q.outbox;
            END IF;
        ELSE
            SELECT * INTO t FROM eventbus.targets x
             WHERE x.bus = d.bus AND x.rule = d.rule AND x.target_id = d.target_id;
            IF FOUND THEN
                dest := t.outbox;
                IF t.kind <> 'queue' THEN
                    push := true;
                END IF;
                -- an untransformed event is referenced again, not copied
                IF t.input IS NULL AND t.input_path IS NULL AND t.input_transformer IS NULL
                   AND EXISTS (SELECT FROM eventbus.events e
                                WHERE e.id = d.event_id AND e.ingestion_time = d.event_ingestion_time) THEN
                    payload := NULL;
                END IF;
                IF t.kind = 'queue' THEN
                    PERFORM eventbus._notify_queue(t.destination);
                END IF;
            END IF;
        END IF;
        IF dest IS NULL THEN
            skipped := skipped + 1;
            CONTINUE;
        END IF;
        PERFORM eventbus._enqueue(dest, d.event_id, d.event_ingestion_time,
                                  d.bus, d.rule, d.target_id, payload);
        IF d.queue IS NOT NULL THEN
            PERFORM eventbus._notify_queue(d.queue);
        END IF;
        DELETE FROM eventbus.dead_letters WHERE dead_letter_id = d.dead_letter_id;
        redriven := redriven + 1;
    END LOOP;
    IF push THEN
        PERFORM eventbus._wake_delivery();
    END IF;
    IF skipped > 0 THEN
        RAISE NOTICE '% dead letter(s) not redriven: their target or queue no longer exists', skipped;
    END IF;
    RETURN redriven;
END;
$fn$;

COMMENT ON FUNCTION eventbus.redrive_dead_letters(bigint[], text, text, text) IS
'Moves dead letters back into their target''s outbox (or their queue) for another delivery, all of them or those selected by ids, bus, rule and target; returns how many. Dead letters whose target is gone stay, with a NOTICE.';
