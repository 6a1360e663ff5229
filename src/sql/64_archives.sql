-- Archives: EventBridge's CreateArchive, DescribeArchive, UpdateArchive,
-- DeleteArchive and ListArchives, and archive_events() to read one.
--
-- An archive is a view over eventbus.events, not a copy: events stay in
-- their daily partitions for as long as partition retention keeps them,
-- and an archive names which of them it holds.  An event is in archive A
-- when
--   e.bus = A.bus                         (the archive's source bus)
--   e.ingestion_time >= A.created_at      (put after the archive was made)
--   e.replay_name IS NULL                 (replayed events are never archived)
--   NOT (e.source = 'aws.events' AND e.detail_type = 'Scheduled Event')
--                                         (scheduled rules' ticks are not archived)
--   A.retention_days = 0 OR e.ingestion_time >= now() - A.retention_days days
--   A.event_pattern IS NULL
--     OR eventbus.event_envelope(e) OPERATOR(eventbus.=~) A.event_pattern
-- The pattern test is written in exactly that form wherever membership is
-- asked (describe_archive, list_archives, archive_events, the replay
-- worker in src/replay.c), so that an index path for it serves them all.
--
-- Costs and consequences of the view design (unlike EventBridge, which
-- copies events into the archive as they arrive):
--   * UpdateArchive's new pattern applies to past events too: membership
--     is computed when asked, so events the old pattern excluded may be in
--     the archive afterwards, and the other way round.
--   * EventCount and SizeBytes (describe_archive, list_archives) are
--     computed from the rows: each costs a scan of the bus's events since
--     the archive was made.  SizeBytes is the stored size of those rows
--     (pg_column_size).
--   * An archive holds nothing that partition retention has dropped:
--     retention_days shorter than the partitions' retention shortens the
--     archive, a longer one cannot lengthen it.
--
-- Rights: creating an archive needs manage_rules on the bus (the caller
-- becomes its owner); updating and deleting one needs being its owner,
-- the bus's owner or an eventbus_admin (as for rules); describing,
-- listing and reading an archive needs read_events on its bus.
--
-- ARNs: arn:aws:events:<region>:<account>:archive/<name>.  Functions that
-- take an archive take its name or its ARN.

CREATE TABLE eventbus.archives (
    name           text PRIMARY KEY,
    bus            text NOT NULL REFERENCES eventbus.event_buses (name),
    event_pattern  eventbus.event_pattern,
    -- 0: kept for as long as the events are
    retention_days integer NOT NULL DEFAULT 0,
    description    text,
    state          text NOT NULL DEFAULT 'ENABLED',
    owner          regrole NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT archives_name_valid CHECK (name ~ '^[.\-_A-Za-z0-9]{1,48}$'),
    CONSTRAINT archives_retention_valid CHECK (retention_days >= 0),
    CONSTRAINT archives_state_valid CHECK (state IN ('ENABLED', 'DISABLED'))
);
COMMENT ON TABLE eventbus.archives IS
'Archives (CreateArchive): which events of a bus, put since the archive was made, an archive holds (a view over eventbus.events, see archive_events).';
SELECT pg_catalog.pg_extension_config_dump('eventbus.archives', '');
REVOKE ALL ON TABLE eventbus.archives FROM PUBLIC;
GRANT SELECT ON TABLE eventbus.archives TO eventbus_admin;

-- ---------------------------------------------------------------------
-- ARNs and names
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.archive_arn(archive_name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT format('arn:aws:events:%s:%s:archive/%s', eventbus.current_region(),
                  eventbus.current_account(), archive_name)
$fn$;

COMMENT ON FUNCTION eventbus.archive_arn(text) IS
'The ARN of an archive: arn:aws:events:<region>:<account>:archive/<name> (eventbus.region, eventbus.account). Does not check that the archive exists.';

CREATE FUNCTION eventbus._archive_name(archive text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF archive IS NULL OR archive = '' THEN
        PERFORM eventbus._raise('22023',
            'archive name must not be empty',
            'An archive is named by its name or its ARN.',
            'Pass a name such as ''orders-archive''.');
    END IF;
    IF starts_with(archive, 'arn:') THEN
        IF archive !~ '^arn:aws[a-z-]*:events:[^:]*:[^:]*:archive/[.\-_A-Za-z0-9]{1,48}$' THEN
            PERFORM eventbus._raise('22023',
                format('Parameter EventSourceArn is not valid. Reason: Provided Arn is not in correct format: %s', archive),
                'An archive ARN is arn:aws:events:<region>:<account>:archive/<name>.',
                format('Use a name, or an ARN such as %s.', eventbus.archive_arn('orders-archive')));
        END IF;
        RETURN substring(archive FROM ':archive/(.*)$');
    END IF;
    RETURN archive;
END;
$fn$;

COMMENT ON FUNCTION eventbus._archive_name(text) IS
'Internal: the archive name in an argument that is a name or an archive ARN; raises 22023 for an empty one or a malformed ARN.';

CREATE FUNCTION eventbus._archive_not_found(archive text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus._raise('42704',
        format('Archive %s does not exist.', archive),
        'No archive of that name exists in this database.',
        'list_archives() shows the archives; create_archive() creates one.');
END;
$fn$;

COMMENT ON FUNCTION eventbus._archive_not_found(text) IS
'Internal: raises 42704 "Archive ... does not exist." (EventBridge''s ResourceNotFoundException).';

CREATE FUNCTION eventbus._check_archive_pattern(event_pattern jsonb, archive text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    PERFORM eventbus.validate_event_pattern(event_pattern);
    IF length(event_pattern::text) > current_setting('eventbus.max_pattern_size')::integer THEN
        PERFORM eventbus._raise('54000',
            format('event pattern of archive %L is %s characters long, over the limit of %s',
                   archive, length(event_pattern::text), current_setting('eventbus.max_pattern_size')),
            'eventbus.max_pattern_size bounds event patterns, counted in characters of the pattern as jsonb prints it.',
            'Shorten the pattern, or raise eventbus.max_pattern_size.');
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_archive_pattern(jsonb, text) IS
'Internal: raises the reason of an invalid archive event pattern (22023), or 54000 for one over eventbus.max_pattern_size.';

CREATE FUNCTION eventbus._check_retention_days(retention_days integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF retention_days < 0 THEN
        PERFORM eventbus._raise('22023',
            format('Parameter RetentionDays is not valid. Reason: %s is less than 0.', retention_days),
            'RetentionDays is how many days an archive keeps events; 0 keeps them for as long as the events are kept.',
            'Pass 0 or a positive number of days.');
    END IF;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_retention_days(integer) IS
'Internal: raises 22023 for a negative RetentionDays.';

-- Changing an archive: its owner, the bus's owner or an admin.
CREATE FUNCTION eventbus._require_archive_owner(a eventbus.archives)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
BEGIN
    IF eventbus._may_manage_rule(a.bus, a.owner, caller) THEN
        RETURN;
    END IF;
    IF NOT eventbus.has_event_bus_privilege(a.bus, 'read_events', caller)
       AND NOT eventbus.has_event_bus_privilege(a.bus, 'manage_rules', caller) THEN
        PERFORM eventbus._require_privilege('bus', a.bus, 'manage_rules');
    END IF;
    PERFORM eventbus._raise('42501',
        format('must be owner of archive %s', pg_catalog.quote_ident(a.name)),
        format('Archive %s of event bus %s belongs to %s; role %s is neither its owner, the owner of the bus, nor an eventbus_admin.',
               pg_catalog.quote_ident(a.name), pg_catalog.quote_ident(a.bus), a.owner, caller),
        'Ask its owner, the owner of the bus, or an eventbus_admin.');
END;
$fn$;

COMMENT ON FUNCTION eventbus._require_archive_owner(eventbus.archives) IS
'Internal: raises 42501 unless the caller of the current API function may change the archive (its owner, the bus''s owner, an eventbus_admin).';

-- ---------------------------------------------------------------------
-- CreateArchive, DescribeArchive, UpdateArchive, DeleteArchive, ListArchives
-- ---------------------------------------------------------------------

CREATE FUNCTION eventbus.create_archive(archive_name text, event_source_arn text,
                                        event_pattern jsonb DEFAULT NULL,
                                        retention_days integer DEFAULT 0,
                                        description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.create_archive(text, text, jsonb, integer, text) IS
'EventBridge''s CreateArchive: an archive of the events put on a bus (event_source_arn: its name or ARN) from now on, those matching event_pattern if one is given, kept retention_days days (0: as long as the events are); returns {"ArchiveArn", "State", "CreationTime"}. Needs manage_rules on the bus (42501); the caller owns the archive. Names: 1 to 48 letters, digits, ".", "_", "-". 42710 when the archive exists, 42704 when the bus does not, 22023 for an invalid pattern or retention.';

CREATE FUNCTION eventbus._create_archive_impl(archive_name text, event_source_arn text,
                                              event_pattern jsonb, retention_days integer,
                                              description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := _create_archive_impl.archive_name;
    v_bus text;
    v_created timestamptz;
BEGIN
    IF v_name IS NULL OR v_name !~ '^[.\-_A-Za-z0-9]{1,48}$' THEN
        PERFORM eventbus._raise('22023',
            format('invalid archive name %L', v_name),
            'An archive name has 1 to 48 characters: letters, digits, ".", "_" and "-".',
            'Choose a name such as "orders-archive".');
    END IF;
    IF _create_archive_impl.event_source_arn IS NULL THEN
        PERFORM eventbus._raise('22023',
            format('archive %L has no event source', v_name),
            'EventSourceArn names the event bus whose events the archive holds (a name or an event bus ARN).',
            format('Pass event_source_arn => %L.', eventbus.event_bus_arn('default')));
    END IF;
    v_bus := eventbus._bus_name(_create_archive_impl.event_source_arn);
    IF _create_archive_impl.event_pattern IS NOT NULL THEN
        PERFORM eventbus._check_archive_pattern(_create_archive_impl.event_pattern, v_name);
    END IF;
    PERFORM eventbus._check_retention_days(_create_archive_impl.retention_days);
    PERFORM eventbus._check_description(_create_archive_impl.description, format('archive %L', v_name));
    PERFORM eventbus._lock_bus(v_bus);
    PERFORM eventbus._require_privilege('bus', v_bus, 'manage_rules');
    INSERT INTO eventbus.archives AS a (name, bus, event_pattern, retention_days, description, owner)
    VALUES (v_name, v_bus, _create_archive_impl.event_pattern,
            coalesce(_create_archive_impl.retention_days, 0),
            _create_archive_impl.description, eventbus._caller())
    ON CONFLICT ON CONSTRAINT archives_pkey DO NOTHING
    RETURNING a.created_at INTO v_created;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42710',
            format('Archive %s already exists.', v_name),
            'Archive names are unique in the database.',
            'Choose another name, or delete the archive first with delete_archive().');
    END IF;
    RETURN jsonb_build_object(
        'ArchiveArn', eventbus.archive_arn(v_name),
        'State', 'ENABLED',
        'CreationTime', v_created);
END;
$fn$;

COMMENT ON FUNCTION eventbus._create_archive_impl(text, text, jsonb, integer, text) IS
'Internal: implementation of create_archive.';
REVOKE ALL ON FUNCTION eventbus._create_archive_impl(text, text, jsonb, integer, text) FROM PUBLIC;

-- EventCount and SizeBytes of an archive (a scan: see the header).
CREATE FUNCTION eventbus._archive_counts(a eventbus.archives, OUT event_count bigint, OUT size_bytes bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT count(*), coalesce(sum(pg_catalog.pg_column_size(e.*)), 0)
      FROM eventbus.events e
     WHERE e.bus = a.bus
       AND e.ingestion_time >= a.created_at
       AND (a.retention_days = 0
            OR e.ingestion_time >= now() - make_interval(days => a.retention_days))
       AND e.replay_name IS NULL
       AND NOT (e.source = 'aws.events' AND e.detail_type = 'Scheduled Event')
       AND (a.event_pattern IS NULL
            OR eventbus.event_envelope(e) OPERATOR(eventbus.=~) a.event_pattern::jsonb)
$fn$;

COMMENT ON FUNCTION eventbus._archive_counts(eventbus.archives) IS
'Internal: the number of events in an archive and their stored size in bytes, counted from eventbus.events (a scan of the bus''s events since the archive was made).';

CREATE FUNCTION eventbus.describe_archive(archive_name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.describe_archive(text) IS
'EventBridge''s DescribeArchive: {"ArchiveArn", "ArchiveName", "EventSourceArn", "Description", "EventPattern" (JSON text), "State", "RetentionDays", "SizeBytes", "EventCount", "CreationTime"} of an archive (by name or ARN); Description and EventPattern are omitted when there is none. EventCount and SizeBytes are counted from the events (a scan of the bus''s events since the archive was made). Needs read_events on the archive''s bus (42501); 42704 when it does not exist.';

CREATE FUNCTION eventbus._describe_archive_impl(archive_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._archive_name(_describe_archive_impl.archive_name);
    a eventbus.archives;
    c record;
BEGIN
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_name;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_name);
    END IF;
    PERFORM eventbus._require_privilege('bus', a.bus, 'read_events');
    c := eventbus._archive_counts(a);
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'ArchiveArn', eventbus.archive_arn(a.name),
        'ArchiveName', a.name,
        'EventSourceArn', eventbus.event_bus_arn(a.bus),
        'Description', a.description,
        'EventPattern', a.event_pattern::text,
        'State', a.state,
        'RetentionDays', a.retention_days,
        'SizeBytes', c.size_bytes,
        'EventCount', c.event_count,
        'CreationTime', a.created_at));
END;
$fn$;

COMMENT ON FUNCTION eventbus._describe_archive_impl(text) IS
'Internal: implementation of describe_archive.';
REVOKE ALL ON FUNCTION eventbus._describe_archive_impl(text) FROM PUBLIC;

CREATE FUNCTION eventbus.update_archive(archive_name text, event_pattern jsonb DEFAULT NULL,
                                        retention_days integer DEFAULT NULL,
                                        description text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.update_archive(text, jsonb, integer, text) IS
'EventBridge''s UpdateArchive: changes what is given of an archive''s event pattern, retention and description (NULL: unchanged; event_pattern => ''null''::jsonb removes the pattern, description => '''' the description) and returns {"ArchiveArn", "State", "CreationTime"}. The archive is a view over the stored events, so a new pattern applies to past events too. For the archive''s owner, the bus''s owner and eventbus_admin (42501); 42704 when it does not exist.';

CREATE FUNCTION eventbus._update_archive_impl(archive_name text, event_pattern jsonb,
                                              retention_days integer, description text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._archive_name(_update_archive_impl.archive_name);
    a eventbus.archives;
    clear_pattern boolean := jsonb_typeof(_update_archive_impl.event_pattern) = 'null';
BEGIN
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_name FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_name);
    END IF;
    PERFORM eventbus._require_archive_owner(a);
    IF _update_archive_impl.event_pattern IS NOT NULL AND NOT clear_pattern THEN
        PERFORM eventbus._check_archive_pattern(_update_archive_impl.event_pattern, v_name);
    END IF;
    PERFORM eventbus._check_retention_days(_update_archive_impl.retention_days);
    PERFORM eventbus._check_description(_update_archive_impl.description, format('archive %L', v_name));
    UPDATE eventbus.archives x
       SET event_pattern = CASE WHEN clear_pattern THEN NULL
                                ELSE coalesce(_update_archive_impl.event_pattern, x.event_pattern::jsonb) END,
           retention_days = coalesce(_update_archive_impl.retention_days, x.retention_days),
           description = CASE WHEN _update_archive_impl.description IS NULL THEN x.description
                              ELSE nullif(_update_archive_impl.description, '') END,
           updated_at = now()
     WHERE x.name = v_name;
    RETURN jsonb_build_object(
        'ArchiveArn', eventbus.archive_arn(a.name),
        'State', a.state,
        'CreationTime', a.created_at);
END;
$fn$;

COMMENT ON FUNCTION eventbus._update_archive_impl(text, jsonb, integer, text) IS
'Internal: implementation of update_archive.';
REVOKE ALL ON FUNCTION eventbus._update_archive_impl(text, jsonb, integer, text) FROM PUBLIC;

CREATE FUNCTION eventbus.delete_archive(archive_name text)
RETURNS void
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C;

COMMENT ON FUNCTION eventbus.delete_archive(text) IS
'EventBridge''s DeleteArchive: deletes an archive (its events stay in eventbus.events: an archive is a view). For the archive''s owner, the bus''s owner and eventbus_admin (42501); 42704 when it does not exist; 55006 while a replay from it is STARTING, RUNNING or CANCELLING.';

CREATE FUNCTION eventbus._delete_archive_impl(archive_name text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._archive_name(_delete_archive_impl.archive_name);
    a eventbus.archives;
    v_replay text;
BEGIN
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_name FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_name);
    END IF;
    PERFORM eventbus._require_archive_owner(a);
    SELECT r.name INTO v_replay FROM eventbus.replays r
     WHERE r.archive = v_name AND r.state IN ('STARTING', 'RUNNING', 'CANCELLING')
     ORDER BY r.name LIMIT 1;
    IF FOUND THEN
        PERFORM eventbus._raise('55006',
            format('archive %L is in use by replay %L', v_name, v_replay),
            'An archive cannot be deleted while one of its replays is starting, running or cancelling.',
            format('Wait for the replay to end, or cancel it: SELECT eventbus.cancel_replay(%L).', v_replay));
    END IF;
    DELETE FROM eventbus.archives x WHERE x.name = v_name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._delete_archive_impl(text) IS
'Internal: implementation of delete_archive.';
REVOKE ALL ON FUNCTION eventbus._delete_archive_impl(text) FROM PUBLIC;

CREATE FUNCTION eventbus.list_archives(name_prefix text DEFAULT NULL,
                                       event_source_arn text DEFAULT NULL,
                                       state text DEFAULT NULL)
RETURNS TABLE (archive_name text, event_source_arn text, state text, state_reason text,
               retention_days integer, size_bytes bigint, event_count bigint,
               creation_time timestamptz)
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.list_archives(text, text, text) IS
'EventBridge''s ListArchives: the archives of the buses the caller holds read_events on, by name; at most one filter (as in EventBridge, the filters are exclusive): a name prefix, the source bus (name or ARN), or a state. Each row counts its archive''s events (a scan per archive).';

-- (The arguments are named apart from the result columns, which PL/pgSQL
-- requires.)
CREATE FUNCTION eventbus._list_archives_impl(prefix_arg text, source_arg text, state_arg text)
RETURNS TABLE (archive_name text, event_source_arn text, state text, state_reason text,
               retention_days integer, size_bytes bigint, event_count bigint,
               creation_time timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    caller regrole := eventbus._caller();
    v_bus text;
BEGIN
    IF num_nonnulls(prefix_arg, source_arg, state_arg) > 1 THEN
        PERFORM eventbus._raise('22023',
            'at most one of name_prefix, event_source_arn and state may be given',
            'ListArchives'' filter parameters are exclusive.',
            'Pass one filter, and filter the rows further in SQL.');
    END IF;
    IF state_arg IS NOT NULL
       AND state_arg NOT IN ('ENABLED', 'DISABLED', 'CREATING', 'UPDATING', 'CREATE_FAILED', 'UPDATE_FAILED') THEN
        PERFORM eventbus._raise('22023',
            format('invalid archive state %L', state_arg),
            'An archive''s state is ENABLED, DISABLED, CREATING, UPDATING, CREATE_FAILED or UPDATE_FAILED.',
            'Archives here are always ENABLED.');
    END IF;
    IF source_arg IS NOT NULL THEN
        v_bus := eventbus._bus_name(source_arg);
    END IF;
    RETURN QUERY
    SELECT a.name, eventbus.event_bus_arn(a.bus), a.state, NULL::text, a.retention_days,
           c.size_bytes, c.event_count, a.created_at
      FROM eventbus.archives a
     CROSS JOIN LATERAL eventbus._archive_counts(a) c
     WHERE (prefix_arg IS NULL OR starts_with(a.name, prefix_arg))
       AND (v_bus IS NULL OR a.bus = v_bus)
       AND (state_arg IS NULL OR a.state = state_arg)
       AND eventbus.has_event_bus_privilege(a.bus, 'read_events', caller)
     ORDER BY a.name;
END;
$fn$;

COMMENT ON FUNCTION eventbus._list_archives_impl(text, text, text) IS
'Internal: implementation of list_archives.';
REVOKE ALL ON FUNCTION eventbus._list_archives_impl(text, text, text) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- Reading an archive
-- ---------------------------------------------------------------------

-- What archive_events needs of an archive, for a caller (eventbus._caller())
-- that holds read_events on its bus.
CREATE FUNCTION eventbus._archive_scope(archive_name text,
    OUT bus text, OUT event_pattern jsonb, OUT retention_days integer, OUT created_at timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_name text := eventbus._archive_name(_archive_scope.archive_name);
    a eventbus.archives;
BEGIN
    SELECT * INTO a FROM eventbus.archives x WHERE x.name = v_name;
    IF NOT FOUND THEN
        PERFORM eventbus._archive_not_found(v_name);
    END IF;
    PERFORM eventbus._require_privilege('bus', a.bus, 'read_events');
    bus := a.bus;
    event_pattern := a.event_pattern;
    retention_days := a.retention_days;
    created_at := a.created_at;
END;
$fn$;

COMMENT ON FUNCTION eventbus._archive_scope(text) IS
'Internal: the bus, event pattern, retention and creation time of an archive, for archive_events; its caller must hold read_events on the archive''s bus (42501); 42704 when it does not exist.';
REVOKE ALL ON FUNCTION eventbus._archive_scope(text) FROM PUBLIC;

-- archive_events runs its query as the extension's owner, with the
-- archive's pattern written into it: a pattern archive's events are then
-- found through the indexes its exact values allow (src/pattern_support.c),
-- which a reader's own query under row-level security cannot use.  The
-- reader's right is the one that policy asks for: read_events on the bus.
CREATE FUNCTION eventbus.archive_events(archive_name text,
                                        start_time timestamptz DEFAULT '-infinity',
                                        end_time timestamptz DEFAULT 'infinity')
RETURNS SETOF eventbus.events
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C STABLE;

COMMENT ON FUNCTION eventbus.archive_events(text, timestamptz, timestamptz) IS
'The events in an archive (by name or ARN) whose ingestion_time is in [start_time, end_time), in archive order (ingestion_time, id): the events put on its bus since it was made, within its retention, matching its pattern (through the indexes its exact values allow), without replayed events and scheduled-rule ticks. Needs read_events on the archive''s bus (42501).';

CREATE FUNCTION eventbus._archive_events_impl(archive_name text, start_time timestamptz,
                                              end_time timestamptz)
RETURNS SETOF eventbus.events
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    s record;
BEGIN
    s := eventbus._archive_scope(_archive_events_impl.archive_name);
    IF start_time IS NULL OR end_time IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format($q$
        SELECT e.*
          FROM eventbus.events e
         WHERE e.bus = %L
           AND e.ingestion_time >= %L::timestamptz
           AND e.ingestion_time >= %L::timestamptz
           AND e.ingestion_time < %L::timestamptz
           AND e.replay_name IS NULL
           AND NOT (e.source = 'aws.events' AND e.detail_type = 'Scheduled Event')
           %s
         ORDER BY e.ingestion_time, e.id$q$,
        s.bus,
        CASE WHEN s.retention_days = 0 THEN s.created_at
             ELSE greatest(s.created_at, now() - make_interval(days => s.retention_days)) END,
        start_time, end_time,
        CASE WHEN s.event_pattern IS NULL THEN ''
             ELSE format('AND eventbus.event_envelope(e) OPERATOR(eventbus.=~) %L::jsonb',
                         s.event_pattern::text) END);
END;
$fn$;

COMMENT ON FUNCTION eventbus._archive_events_impl(text, timestamptz, timestamptz) IS
'Internal: implementation of archive_events.';
REVOKE ALL ON FUNCTION eventbus._archive_events_impl(text, timestamptz, timestamptz) FROM PUBLIC;
