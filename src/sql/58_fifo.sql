-- FIFO queues, deduplication and sending single messages (SQS's
-- SendMessage).
--
-- A FIFO queue (create_queue(..., fifo => true)) keeps the order of the
-- messages of each message group: its receive (src/outbox.c,
-- OUTBOX_RECEIVE_FIFO) hands out a group's messages only from the group's
-- oldest message on, and none while an older message of the group is
-- hidden (received and not acknowledged).  Every message of a FIFO queue
-- has a message group id and a deduplication id; a message whose
-- deduplication id was enqueued in the same queue less than
-- eventbus.deduplication_window seconds ago (and committed) is not enqueued
-- again.  The ids of the window live in eventbus.deduplication, one row per
-- (outbox, id), which the enqueueing statement writes with
-- INSERT .. ON CONFLICT: a concurrent producer of the same id waits for the
-- first one's commit (then enqueues nothing) or abort (then enqueues).

-- A FIFO queue (order kept per message group, deduplication) and SQS's
-- DelaySeconds: every message of the queue becomes visible this long after
-- it is enqueued.
ALTER TABLE eventbus.queues
    ADD COLUMN fifo boolean NOT NULL DEFAULT false,
    ADD COLUMN delay_seconds integer NOT NULL DEFAULT 0,
    ADD CONSTRAINT queues_delay_seconds_valid CHECK (delay_seconds BETWEEN 0 AND 900);
COMMENT ON COLUMN eventbus.queues.fifo IS
'An SQS FIFO queue: messages are received in order within each message group, one group''s messages by one consumer at a time, and duplicates within eventbus.deduplication_window are dropped.';
COMMENT ON COLUMN eventbus.queues.delay_seconds IS
'SQS''s DelaySeconds (0-900): messages become visible this many seconds after they are enqueued.';

-- A target's SqsParameters: {"MessageGroupId": ..., "MessageDeduplicationId": ...}
ALTER TABLE eventbus.targets ADD COLUMN sqs_parameters jsonb;
COMMENT ON COLUMN eventbus.targets.sqs_parameters IS
'A FIFO queue target''s SqsParameters: MessageGroupId (static, or a JSON path "$...." into the event) and MessageDeduplicationId (a JSON path; default: the event id). NULL for other targets.';

-- The deduplication ids of the window.  Not dumped: a restored database
-- starts a new window (the OIDs of the outboxes change too).
CREATE TABLE eventbus.deduplication (
    outbox           oid NOT NULL,
    deduplication_id text NOT NULL,
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (outbox, deduplication_id)
) WITH (fillfactor = 80);
CREATE INDEX deduplication_expires_at ON eventbus.deduplication (expires_at);
COMMENT ON TABLE eventbus.deduplication IS
'Deduplication ids of FIFO queues'' messages enqueued within eventbus.deduplication_window; an expired row is reused by the next message with its id and deleted now and then by the enqueueing backends.';

-- SqsParameters of a target entry of put_targets, checked against the
-- queue it names: the normalised object, or NULL for none.
CREATE FUNCTION eventbus._check_sqs_parameters(params jsonb, target_id text,
                                               kind text, queue text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    what text := format('SqsParameters of target %L', target_id);
    fifo boolean;
    k text;
    v text;
BEGIN
    params := nullif(params, 'null');
    IF kind = 'queue' THEN
        SELECT q.fifo INTO fifo FROM eventbus.queues q WHERE q.name = queue;
    END IF;
    IF params IS NULL THEN
        IF fifo THEN
            PERFORM eventbus._raise('22023',
                format('target %L names FIFO queue %L without SqsParameters.MessageGroupId', target_id, queue),
                'Messages of a FIFO queue belong to a message group, as in EventBridge.',
                'Add "SqsParameters": {"MessageGroupId": "<group>"} or {"MessageGroupId": "$.detail.<field>"}.');
        END IF;
        RETURN NULL;
    END IF;
    IF NOT coalesce(fifo, false) THEN
        PERFORM eventbus._raise('22023',
            format('target %L cannot take SqsParameters', target_id),
            CASE WHEN kind = 'queue'
                 THEN format('Queue %L is a standard queue; SqsParameters are for FIFO queues only, as in EventBridge.', queue)
                 ELSE format('Target %L is a %s target; SqsParameters are for FIFO queue targets only.', target_id, kind) END,
            'Remove SqsParameters, or name a queue created with fifo => true.');
    END IF;
    IF jsonb_typeof(params) <> 'object' THEN
        PERFORM eventbus._raise('22023',
            format('%s must be a JSON object', what),
            format('It is a JSON %s.', jsonb_typeof(params)),
            'Pass {"MessageGroupId": "<group>"}.');
    END IF;
    FOR k IN SELECT jsonb_object_keys(params) LOOP
        IF k NOT IN ('MessageGroupId', 'MessageDeduplicationId') THEN
            PERFORM eventbus._raise('22023',
                format('%s has an unknown key %L', what, left(k, 100)),
                'SqsParameters has the keys MessageGroupId and MessageDeduplicationId.',
                'Remove the key.');
        END IF;
    END LOOP;
    params := jsonb_strip_nulls(params);
    FOREACH k IN ARRAY ARRAY['MessageGroupId', 'MessageDeduplicationId'] LOOP
        CONTINUE WHEN NOT params ? k;
        IF jsonb_typeof(params -> k) <> 'string' THEN
            PERFORM eventbus._raise('22023',
                format('%s: %s must be a string', what, k),
                format('It is a JSON %s.', jsonb_typeof(params -> k)),
                'Pass a string, or a JSON path such as "$.detail.customer".');
        END IF;
        v := params ->> k;
        IF v LIKE '$.%' OR v = '$' THEN
            -- the same paths as InputPath
            BEGIN
                PERFORM eventbus.validate_target_input(NULL, v, NULL);
            EXCEPTION WHEN invalid_parameter_value THEN
                PERFORM eventbus._raise('22023',
                    format('%s: %s %L is not a valid JSON path', what, k, left(v, 100)),
                    replace(SQLERRM, 'InputPath', 'The path'),
                    'Use a path such as "$.detail.customer", as in InputPath.');
            END;
        ELSIF k = 'MessageDeduplicationId' THEN
            PERFORM eventbus._raise('22023',
                format('%s: MessageDeduplicationId must be a JSON path', what),
                format('It is %L; a static id would make every message after the first a duplicate.', left(v, 100)),
                'Pass a path such as "$.detail.order_id", or leave it out to deduplicate by event id.');
        ELSIF length(v) NOT BETWEEN 1 AND 128 THEN
            PERFORM eventbus._raise('22023',
                format('%s: MessageGroupId must have 1 to 128 characters', what),
                format('It has %s.', length(v)),
                'Use a shorter group id, as in SQS.');
        END IF;
    END LOOP;
    IF NOT params ? 'MessageGroupId' THEN
        PERFORM eventbus._raise('22023',
            format('target %L names FIFO queue %L without SqsParameters.MessageGroupId', target_id, queue),
            'Messages of a FIFO queue belong to a message group, as in EventBridge.',
            'Add "MessageGroupId": "<group>" or "MessageGroupId": "$.detail.<field>".');
    END IF;
    RETURN params;
END;
$fn$;

COMMENT ON FUNCTION eventbus._check_sqs_parameters(jsonb, text, text, text) IS
'Internal: checks a target''s SqsParameters against the queue it names (required with a MessageGroupId for a FIFO queue, refused otherwise) and returns them without null members.';
REVOKE ALL ON FUNCTION eventbus._check_sqs_parameters(jsonb, text, text, text) FROM PUBLIC;

-- The one statement that writes a sent message (src/outbox.c, OUTBOX_SEND).
CREATE FUNCTION eventbus._send(outbox regclass, queue text, payload jsonb, message_group_id text,
                               deduplication_id text, delay_seconds integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_send'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus._send(regclass, text, jsonb, text, text, integer) IS
'Internal: writes one message with its own payload to a queue''s outbox, visible after delay_seconds, counts it and notifies the queue''s consumers at commit; returns its message id, or NULL when deduplication_id was enqueued within eventbus.deduplication_window.';
REVOKE ALL ON FUNCTION eventbus._send(regclass, text, jsonb, text, text, integer) FROM PUBLIC;

CREATE FUNCTION eventbus.send_message(queue text, message_body jsonb,
                                      delay_seconds integer DEFAULT NULL,
                                      message_group_id text DEFAULT NULL,
                                      message_deduplication_id text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'eventbus_api_call'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION eventbus.send_message(text, jsonb, integer, text, text) IS
'Sends one message to a queue, as SQS''s SendMessage: receive() returns message_body as the payload, with a new event_id and empty rule and target_id. delay_seconds (0-900; default: the queue''s) delays it, on standard queues only (FIFO queues have only the queue''s delay, as in SQS). A FIFO queue needs message_group_id (1-128 characters); its message_deduplication_id defaults to the SHA-256 of the body (SQS''s content-based deduplication). Returns the message id, or NULL when a message with the same deduplication id was enqueued in the queue within eventbus.deduplication_window. Standard queues take neither id (22023). Needs send on the queue (42501).';

CREATE FUNCTION eventbus._send_message_impl(queue text, message_body jsonb, delay_seconds integer,
                                            message_group_id text, message_deduplication_id text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    q eventbus.queues;
BEGIN
    IF queue IS NULL THEN
        PERFORM eventbus._raise('22023',
            'queue name must not be NULL',
            'send_message takes the name of a queue made by create_queue or by a target.',
            'Pass a queue name; SELECT name FROM eventbus.queues shows the queues.');
    END IF;
    SELECT * INTO q FROM eventbus.queues qq WHERE qq.name = _send_message_impl.queue;
    IF NOT FOUND THEN
        PERFORM eventbus._raise('42704',
            format('queue %L does not exist', queue),
            'No queue of that name exists in this database.',
            'create_queue() makes a queue; SELECT name FROM eventbus.queues shows the queues.');
    END IF;
    PERFORM eventbus._require_privilege('queue', q.name, 'send');
    IF message_body IS NULL THEN
        PERFORM eventbus._raise('22023',
            'message_body must not be NULL',
            'A message has a JSON body, which receive() returns as its payload.',
            'Pass a jsonb value, such as ''{"order": 1}''.');
    END IF;
    IF delay_seconds IS NOT NULL AND delay_seconds NOT BETWEEN 0 AND 900 THEN
        PERFORM eventbus._raise('22023',
            format('invalid delay_seconds %s', delay_seconds),
            'delay_seconds is a number of seconds from 0 to 900 (15 minutes), as SQS''s DelaySeconds.',
            'Pass a delay_seconds from 0 to 900, or NULL for the queue''s.');
    END IF;
    IF q.fifo THEN
        IF message_group_id IS NULL OR length(message_group_id) NOT BETWEEN 1 AND 128 THEN
            PERFORM eventbus._raise('22023',
                format('invalid message_group_id %s for FIFO queue %L',
                       coalesce(quote_literal(left(message_group_id, 100)), 'NULL'), q.name),
                'Every message of a FIFO queue belongs to a message group of 1 to 128 characters, as in SQS.',
                'Pass a message_group_id, such as a customer id.');
        END IF;
        IF delay_seconds IS NOT NULL THEN
            PERFORM eventbus._raise('22023',
                format('FIFO queue %L takes no per-message delay_seconds', q.name),
                'A FIFO queue delays messages only by its own delay_seconds, as in SQS.',
                'Leave delay_seconds NULL, or create the queue with a delay_seconds.');
        END IF;
        IF message_deduplication_id IS NOT NULL AND length(message_deduplication_id) NOT BETWEEN 1 AND 128 THEN
            PERFORM eventbus._raise('22023',
                format('invalid message_deduplication_id for FIFO queue %L', q.name),
                format('A deduplication id has 1 to 128 characters, as in SQS; this one has %s.', length(message_deduplication_id)),
                'Pass a shorter id, or NULL for the SHA-256 of the body.');
        END IF;
        message_deduplication_id := coalesce(message_deduplication_id,
            encode(sha256(convert_to(message_body::text, 'UTF8')), 'hex'));
    ELSIF message_group_id IS NOT NULL OR message_deduplication_id IS NOT NULL THEN
        PERFORM eventbus._raise('22023',
            format('queue %L is a standard queue', q.name),
            'message_group_id and message_deduplication_id apply to FIFO queues only, as in SQS.',
            'Leave them NULL, or send to a queue created with fifo => true.');
    END IF;
    RETURN eventbus._send(q.outbox, q.name, message_body, message_group_id, message_deduplication_id,
                          coalesce(delay_seconds, q.delay_seconds));
END;
$fn$;

COMMENT ON FUNCTION eventbus._send_message_impl(text, jsonb, integer, text, text) IS
'Internal: implementation of send_message.';
REVOKE ALL ON FUNCTION eventbus._send_message_impl(text, jsonb, integer, text, text) FROM PUBLIC;
