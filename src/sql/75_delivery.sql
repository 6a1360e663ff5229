-- Delivery to push targets: the workers' status, waking them, and
-- redriving dead letters.  The workers themselves are C (src/worker.c,
-- src/delivery.c, src/target_*.c).

CREATE FUNCTION eventbus._wake_launcher()
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_wake_launcher'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._wake_launcher() IS
'Internal: asks the delivery launcher to start this database''s workers (CREATE EXTENSION calls it). false when eventbus is not preloaded.';

CREATE FUNCTION eventbus._wake_delivery()
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_wake_delivery'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._wake_delivery() IS
'Internal: wakes this database''s delivery workers when the current transaction commits.';

CREATE FUNCTION eventbus._delivery_workers(
    OUT database_oid oid, OUT worker integer, OUT state text, OUT pid integer,
    OUT started_at timestamptz, OUT last_wake timestamptz,
    OUT delivered bigint, OUT failed bigint, OUT state_since timestamptz,
    OUT activity text, OUT target text, OUT activity_since timestamptz,
    OUT last_progress timestamptz, OUT heartbeat timestamptz, OUT on_demand boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'eventbus_delivery_workers_status'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._delivery_workers() IS
'Internal: the delivery worker slots of every database (shared memory).';

-- The backlog column of delivery_workers, for admins only (it counts the
-- messages of every push target): an API function, as the view's
-- functions run as its reader.
CREATE FUNCTION eventbus._push_backlog()
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus._push_backlog() IS
'Internal: messages waiting in the outboxes of this database''s push targets; NULL unless the caller is an eventbus_admin.';

CREATE FUNCTION eventbus.__push_backlog_impl()
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    outbox regclass;
    n bigint;
    total bigint := 0;
BEGIN
    IF NOT eventbus._is_admin(eventbus._caller()) THEN
        RETURN NULL;
    END IF;
    FOR outbox IN SELECT DISTINCT t.outbox FROM eventbus.targets t
                   WHERE t.kind <> 'queue'
                     AND EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t.outbox) LOOP
        EXECUTE format('SELECT count(*) FROM %s', outbox) INTO n;
        total := total + n;
    END LOOP;
    RETURN total;
END;
$fn$;

COMMENT ON FUNCTION eventbus.__push_backlog_impl() IS
'Internal: implementation of _push_backlog.';
REVOKE ALL ON FUNCTION eventbus.__push_backlog_impl() FROM PUBLIC;

CREATE VIEW eventbus.delivery_workers AS
SELECT d.datname AS database,
       w.worker,
       w.state,
       w.pid,
       w.started_at,
       w.last_wake,
       w.delivered,
       w.failed,
       CASE WHEN w.database_oid = (SELECT oid FROM pg_catalog.pg_database
                                    WHERE datname = pg_catalog.current_database())
            THEN eventbus._push_backlog() END AS backlog,
       w.activity,
       w.target,
       w.activity_since,
       w.last_progress,
       w.heartbeat,
       w.on_demand
  FROM eventbus._delivery_workers() w
  JOIN pg_catalog.pg_database d ON d.oid = w.database_oid;

GRANT SELECT ON eventbus.delivery_workers TO PUBLIC;

COMMENT ON VIEW eventbus.delivery_workers IS
'Delivery workers of every database: state (starting, running, absent = no extension there, stopping), pid, last wake-up, messages delivered and failed since start; backlog (messages waiting for push targets) for the current database, shown to eventbus_admin only (NULL for others); activity (idle, delivering, invoking, or stalled: no sign of life for longer than an idle worker sleeps, or inside one invocation well past its timeout), since when, the target it works on (eventbus_admin only), when a visit of a target last ended (last_progress), the last sign of life (heartbeat), and whether the launcher started it on demand.';

CREATE FUNCTION eventbus.redrive_dead_letters(dead_letter_ids bigint[] DEFAULT NULL,
                                              bus text DEFAULT NULL,
                                              rule text DEFAULT NULL,
                                              target_id text DEFAULT NULL)
RETURNS integer
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.redrive_dead_letters(bigint[], text, text, text) IS
'Moves dead letters back into their target''s outbox (or their queue) for another delivery, all of them or those selected by ids, bus, rule and target; returns how many. Only the dead letters of rules the caller owns, or of buses it owns (all for eventbus_admin), are selected; others are left alone. Dead letters whose target is gone stay, with a NOTICE.';

CREATE FUNCTION eventbus._redrive_dead_letters_impl(dead_letter_ids bigint[], bus text, rule text, target_id text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
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
    caller regrole := eventbus._caller();
BEGIN
    FOR d IN
        SELECT * FROM eventbus.dead_letters x
         WHERE (dead_letter_ids IS NULL OR x.dead_letter_id = ANY (dead_letter_ids))
           AND (_redrive_dead_letters_impl.bus IS NULL OR x.bus = _redrive_dead_letters_impl.bus)
           AND (_redrive_dead_letters_impl.rule IS NULL OR x.rule = _redrive_dead_letters_impl.rule)
           AND (_redrive_dead_letters_impl.target_id IS NULL OR x.target_id = _redrive_dead_letters_impl.target_id)
           -- the dead letters of the caller's rules (and buses) only
           AND eventbus._may_manage_rule(x.bus, (SELECT r.owner FROM eventbus.rules r
                                                   WHERE r.bus = x.bus AND r.name = x.rule), caller)
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

COMMENT ON FUNCTION eventbus._redrive_dead_letters_impl(bigint[], text, text, text) IS
'Internal: implementation of redrive_dead_letters.';
REVOKE ALL ON FUNCTION eventbus._redrive_dead_letters_impl(bigint[], text, text, text) FROM PUBLIC;
