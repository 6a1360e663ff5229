-- search_events: pattern search over stored events through the indexes,
-- for any role holding read_events on the bus (its own query would not
-- reach them: row-level security keeps jsonb's @@ out of index scans).
-- Test events are in the default partition (ingested in March 2003, a
-- month without daily partitions), which has the GIN index on detail.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';

SELECT eventbus.create_event_bus('se_bus') ->> 'EventBusArn' AS arn;
INSERT INTO eventbus.events (bus, source, detail_type, detail, ingestion_time)
SELECT CASE WHEN i % 10 = 0 THEN 'se_bus' ELSE 'default' END, 'se.test', 'Order',
       jsonb_build_object('order', 'o-' || i, 'kind', i % 2, 'tags', jsonb_build_array('t' || (i % 7))),
       timestamptz '2003-03-01 00:00:00+00' + i * interval '1 second'
  FROM generate_series(1, 3000) i;
VACUUM ANALYZE eventbus.events_default;

-- one order, a list of orders, an $or, a numeric (no index condition)
SELECT detail ->> 'order' AS found FROM eventbus.search_events('{"detail": {"order": ["o-7"]}}');
SELECT detail ->> 'order' AS found FROM eventbus.search_events('{"detail": {"order": ["o-9", "o-11", "o-20"]}}');
SELECT detail ->> 'order' AS found
  FROM eventbus.search_events('{"$or": [{"detail": {"order": ["o-13"]}}, {"detail": {"tags": ["t3"], "order": ["o-17"]}}]}');
SELECT count(*) FROM eventbus.search_events('{"source": ["se.test"], "detail": {"kind": [{"numeric": ["=", 1]}]}}', max_events => 1000000);
-- the other bus, a window, max_events
SELECT detail ->> 'order' AS found FROM eventbus.search_events('{"detail": {"order": ["o-20", "o-7"]}}', 'se_bus');
SELECT count(*) FROM eventbus.search_events('{"source": ["se.test"]}', 'default',
                                            '2003-03-01 00:01:00+00', '2003-03-01 00:02:00+00');
SELECT count(*) FROM eventbus.search_events('{"source": ["se.test"]}', max_events => 5);

-- the query it runs uses the index for a selective pattern
CREATE FUNCTION pg_temp.plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        IF l ~ 'Index|Seq Scan' THEN RETURN NEXT regexp_replace(trim(l), '  +', ' ', 'g'); END IF;
    END LOOP;
END $$;
SELECT * FROM pg_temp.plan(eventbus._search_events_sql('default', '{"detail": {"order": ["o-7"]}}',
                                                       '2003-03-01', '2003-03-02', 1000));

-- rights: read_events on the bus; the same rows as the role's own (slow) query
CREATE ROLE se_reader;
CREATE ROLE se_nobody;
SELECT eventbus.grant_event_bus_privilege('default', 'read_events', 'se_reader');
SET ROLE se_reader;
SELECT detail ->> 'order' AS found FROM eventbus.search_events('{"detail": {"order": ["o-7", "o-20"]}}');
SELECT detail ->> 'order' AS own_query FROM eventbus.events e
 WHERE e.ingestion_time >= '2003-03-01' AND e.ingestion_time < '2003-03-02'
   AND eventbus.event_envelope(e) OPERATOR(eventbus.=~) '{"detail": {"order": ["o-7", "o-20"]}}' ORDER BY 1;
SELECT count(*) FROM eventbus.search_events('{"source": ["se.test"]}', 'se_bus');
RESET ROLE;
SET ROLE se_nobody;
SELECT count(*) FROM eventbus.search_events('{"source": ["se.test"]}');
RESET ROLE;

-- bad input
SELECT count(*) FROM eventbus.search_events(NULL);
SELECT count(*) FROM eventbus.search_events('{"detail": {"order": "o-7"}}');
SELECT count(*) FROM eventbus.search_events('{"source": ["se.test"]}', max_events => 0);
SELECT count(*) FROM eventbus.search_events('{"source": ["se.test"]}', 'no_such_bus');
SELECT count(*) FROM eventbus.search_events('{"source": ["se.test"]}', start_time => NULL);

-- clean up
SELECT eventbus.revoke_event_bus_privilege('default', 'read_events', 'se_reader');
DROP ROLE se_reader;
DROP ROLE se_nobody;
DELETE FROM eventbus.events WHERE source = 'se.test';
SELECT eventbus.delete_event_bus('se_bus');
