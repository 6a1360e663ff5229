-- Crash (issue 8): a push target whose outbox is a table with a NULL
-- event_id.  The delivery worker copied the claimed row's event_id through a
-- NULL pointer and segfaulted on every cycle, resetting the cluster each
-- time.  Expected: the message fails (dead letter or error), the worker
-- keeps running.
-- wait: 3
CREATE TABLE fuzz.fz_w_null_event_id (
    message_id bigint, event_id uuid, event_ingestion_time timestamptz,
    bus text, rule text, target_id text, payload jsonb,
    enqueued_at timestamptz, visible_at timestamptz, receive_count integer,
    first_attempt_at timestamptz, last_attempt_at timestamptz,
    last_error_code text, last_error_message text);
INSERT INTO fuzz.fz_w_null_event_id VALUES (1, NULL, now(), 'fz', 'fz-w', 'w', '{}',
    now(), now() - interval '1 hour', 0, NULL, NULL, NULL, NULL);
SELECT eventbus.put_targets('fz-w', '[{"Id": "w", "Arn": "function:fuzz.sink"}]', 'fz');
UPDATE eventbus.targets SET outbox = 'fuzz.fz_w_null_event_id'
 WHERE bus = 'fz' AND rule = 'fz-w' AND target_id = 'w';
SELECT eventbus._wake_delivery();
