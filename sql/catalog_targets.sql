-- Targets: put_targets, remove_targets, list_targets_by_rule,
-- list_rule_names_by_target.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT create_event_bus('cat-tgt-bus') ->> 'EventBusArn';
SELECT put_rule('cat-tgt-approved', '{"detail-type": ["APPLICATION_APPROVED"]}') ->> 'RuleArn';
SELECT put_rule('cat-tgt-rejected', '{"detail-type": ["APPLICATION_REJECTED"]}') ->> 'RuleArn';
SELECT put_rule('cat-tgt-other', '{"source": ["cat.shop"]}', 'cat-tgt-bus') ->> 'RuleArn';

-- Queue targets: "queue:<name>" or AWS's SQS ARN; the queue is created with
-- the first target that names it.  The answer is PutTargets'.
SELECT count(*) FROM queues WHERE name LIKE 'cat_tgt%';
SELECT put_targets('cat-tgt-approved', '[
    {"Id": "audit", "Arn": "queue:cat_tgt_audit"},
    {"Id": "marketing", "Arn": "arn:aws:sqs:local:000000000000:cat_tgt_marketing",
     "InputPath": "$.detail"},
    {"Id": "constant", "Arn": "queue:cat_tgt_audit", "Input": "{\"opened\": true}"},
    {"Id": "constant-jsonb", "Arn": "queue:cat_tgt_audit", "Input": {"opened": "jsonb"}},
    {"Id": "transformed", "Arn": "queue:cat_tgt_audit",
     "InputTransformer": {"InputPathsMap": {"name": "$.detail.name"},
                          "InputTemplate": "{\"customer\": <name>}"},
     "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 60},
     "DeadLetterConfig": {"Arn": "queue:cat_tgt_dlq"}}
]');
SELECT name, outbox FROM queues WHERE name LIKE 'cat_tgt%' ORDER BY name;
-- what is stored: kind, destination, the queue's outbox, the owner
SELECT target_id, arn, kind, destination, outbox, input, input_path, input_transformer,
       retry_policy, dead_letter_config, config, owner = current_user AS owner_is_me
  FROM targets WHERE rule = 'cat-tgt-approved' ORDER BY target_id;
SELECT bool_and(t.outbox = q.outbox) AS outbox_is_the_queues
  FROM targets t JOIN queues q ON q.name = t.destination WHERE t.rule = 'cat-tgt-approved';

-- ListTargetsByRule gives them back in PutTargets' shape (Input as JSON text).
SELECT jsonb_pretty(list_targets_by_rule('cat-tgt-approved'));
-- so its answer can be put again unchanged
SELECT put_targets('cat-tgt-approved', list_targets_by_rule('cat-tgt-approved'));
SELECT count(*) FROM targets WHERE rule = 'cat-tgt-approved';

-- Update by Id: the target is replaced; created_at stays, updated_at moves.
CREATE TEMP TABLE cat_before AS
    SELECT target_id, created_at, updated_at FROM targets
     WHERE rule = 'cat-tgt-approved' AND target_id = 'marketing';
SELECT pg_sleep(0.01);
SELECT put_targets('cat-tgt-approved', '{"Targets": [{"Id": "marketing", "Arn": "queue:cat_tgt_marketing2"}]}');
SELECT t.arn, t.destination, t.input_path, t.created_at = b.created_at AS created_at_kept,
       t.updated_at > b.updated_at AS updated_at_moved
  FROM targets t JOIN cat_before b USING (target_id) WHERE t.rule = 'cat-tgt-approved';
-- the old queue stays
SELECT name FROM queues WHERE name LIKE 'cat_tgt_marketing%' ORDER BY name;

-- Targets of a rule on another bus, by bus name or ARN
SELECT put_targets('cat-tgt-other', '[{"Id": "t1", "Arn": "queue:cat_tgt_audit"}]', 'cat-tgt-bus');
SELECT list_targets_by_rule('cat-tgt-other', 'arn:aws:events:local:000000000000:event-bus/cat-tgt-bus');
SELECT list_targets_by_rule('cat-tgt-rejected');

-- ListRuleNamesByTarget: both forms of a queue's ARN designate it.
SELECT list_rule_names_by_target('queue:cat_tgt_audit');
SELECT list_rule_names_by_target('arn:aws:sqs:local:000000000000:cat_tgt_audit');
-- (any region and account: the queue is local)
SELECT list_rule_names_by_target('arn:aws:sqs:us-east-1:123456789012:cat_tgt_audit');
SELECT list_rule_names_by_target('queue:cat_tgt_audit', 'cat-tgt-bus');
SELECT list_rule_names_by_target('queue:cat_tgt_nothing');
SELECT list_rule_names_by_target('something-else');
SELECT put_targets('cat-tgt-rejected', '[{"Id": "audit", "Arn": "arn:aws:sqs:local:000000000000:cat_tgt_audit"}]');
SELECT list_rule_names_by_target('queue:cat_tgt_audit');
SELECT list_rule_names_by_target('queue:cat_tgt_audit', 'cat-no-such-bus');

-- Per-entry failures: each bad entry fails alone, in request order, and
-- the good ones are stored.
-- (Room for more targets than the default limit of 5 here.)
SET eventbus.max_targets_per_rule = 20;
SELECT jsonb_pretty(put_targets('cat-tgt-rejected', $$[
    "not an object",
    {"Arn": "queue:cat_tgt_audit"},
    {"Id": 42, "Arn": "queue:cat_tgt_audit"},
    {"Id": "", "Arn": "queue:cat_tgt_audit"},
    {"Id": "has space", "Arn": "queue:cat_tgt_audit"},
    {"Id": "good-1", "Arn": "queue:cat_tgt_audit"},
    {"Id": "good-1", "Arn": "queue:cat_tgt_audit"},
    {"Id": "no-arn"},
    {"Id": "arn-not-string", "Arn": 1},
    {"Id": "unknown-arn", "Arn": "arn:aws:lambda:local:000000000000:function:f"},
    {"Id": "bad-queue-name", "Arn": "queue:bad.name"},
    {"Id": "unknown-key", "Arn": "queue:cat_tgt_audit", "RoleArn": "arn:aws:iam::0:role/x"},
    {"Id": "good-2", "Arn": "queue:cat_tgt_audit", "Input": "[1, 2]"}
]$$));
SELECT target_id FROM targets WHERE rule = 'cat-tgt-rejected' ORDER BY 1;

-- Push targets (delivered by the background workers) get an outbox of their
-- own; HTTP targets are not delivered yet.
SELECT put_rule('cat-tgt-push', '{"source": ["cat.push"]}');
CREATE FUNCTION public.cat_tgt_handler(event jsonb) RETURNS void LANGUAGE sql AS '';
SELECT jsonb_pretty(put_targets('cat-tgt-push', $$[
    {"Id": "function", "Arn": "function:public.cat_tgt_handler"},
    {"Id": "function-missing", "Arn": "function:public.open_account"},
    {"Id": "function-timeout", "Arn": "function:public.cat_tgt_handler", "Config": {"TimeoutSeconds": 5}},
    {"Id": "function-bad-config", "Arn": "function:public.cat_tgt_handler", "Config": {"Timeout": 5}},
    {"Id": "bus", "Arn": "bus:cat-tgt-bus"},
    {"Id": "bus-arn", "Arn": "arn:aws:events:local:000000000000:event-bus/cat-tgt-bus"},
    {"Id": "bus-missing", "Arn": "bus:no-such-bus"},
    {"Id": "bus-transformed", "Arn": "bus:cat-tgt-bus", "InputPath": "$.detail"},
    {"Id": "notify", "Arn": "notify:accounts"},
    {"Id": "notify-long", "Arn": "notify:a-channel-name-that-is-much-longer-than-sixty-three-characters-in-all"},
    {"Id": "http", "Arn": "http://localhost:8080/hook"},
    {"Id": "https", "Arn": "https://example.com/hook"}
]$$));
-- function destinations are stored qualified, with their signature; each
-- push target has its own outbox table
SELECT target_id, kind, destination,
       (SELECT relname FROM pg_class c WHERE c.oid = outbox) LIKE 'push\_%' AS own_outbox,
       count(*) OVER (PARTITION BY outbox) AS targets_sharing_outbox
  FROM targets WHERE rule = 'cat-tgt-push' ORDER BY target_id;
-- removing a push target drops its outbox (messages left in it would move
-- to the dead letters, see delivery tests)
SELECT outbox AS push_outbox FROM targets WHERE rule = 'cat-tgt-push' AND target_id = 'notify' \gset
SELECT jsonb_path_query(list_targets_by_rule('cat-tgt-push'), '$.Targets[*] ? (@.Id == "function-timeout")') AS with_config;
SELECT remove_targets('cat-tgt-push', ARRAY['function', 'function-timeout', 'bus', 'bus-arn', 'notify']);
SELECT to_regclass(:'push_outbox') IS NULL AS outbox_dropped;
SELECT delete_rule('cat-tgt-push');
DROP FUNCTION public.cat_tgt_handler(jsonb);

-- Input, InputPath, InputTransformer: validated by validate_target_input.
SELECT jsonb_pretty(put_targets('cat-tgt-rejected', $$[
    {"Id": "input-not-json", "Arn": "queue:cat_tgt_audit", "Input": "{not json"},
    {"Id": "input-path-not-string", "Arn": "queue:cat_tgt_audit", "InputPath": 1},
    {"Id": "input-path-bad", "Arn": "queue:cat_tgt_audit", "InputPath": "detail"},
    {"Id": "two-inputs", "Arn": "queue:cat_tgt_audit", "Input": "1", "InputPath": "$.detail"},
    {"Id": "no-template", "Arn": "queue:cat_tgt_audit",
     "InputTransformer": {"InputPathsMap": {"a": "$.detail"}}},
    {"Id": "null-input", "Arn": "queue:cat_tgt_audit", "Input": null, "InputPath": null,
     "InputTransformer": null, "RetryPolicy": null, "DeadLetterConfig": null}
]$$));
SELECT target_id, input, input_path, input_transformer, retry_policy, dead_letter_config
  FROM targets WHERE rule = 'cat-tgt-rejected' AND target_id = 'null-input';

-- RetryPolicy: MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86400.
SELECT jsonb_pretty(put_targets('cat-tgt-rejected', $$[
    {"Id": "rp-not-object", "Arn": "queue:cat_tgt_audit", "RetryPolicy": 3},
    {"Id": "rp-unknown-key", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"Retries": 3}},
    {"Id": "rp-attempts-high", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"MaximumRetryAttempts": 186}},
    {"Id": "rp-attempts-neg", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"MaximumRetryAttempts": -1}},
    {"Id": "rp-attempts-frac", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"MaximumRetryAttempts": 1.5}},
    {"Id": "rp-attempts-str", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"MaximumRetryAttempts": "3"}},
    {"Id": "rp-age-low", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"MaximumEventAgeInSeconds": 59}},
    {"Id": "rp-age-high", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"MaximumEventAgeInSeconds": 86401}},
    {"Id": "rp-min", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}},
    {"Id": "rp-max", "Arn": "queue:cat_tgt_audit", "RetryPolicy": {"MaximumRetryAttempts": 185.0, "MaximumEventAgeInSeconds": 86400}}
]$$));
SELECT target_id, retry_policy FROM targets
 WHERE rule = 'cat-tgt-rejected' AND target_id LIKE 'rp-%' ORDER BY 1;

-- DeadLetterConfig: {"Arn": <a queue>}; the queue is created if needed.
SELECT jsonb_pretty(put_targets('cat-tgt-rejected', $$[
    {"Id": "dlc-not-object", "Arn": "queue:cat_tgt_audit", "DeadLetterConfig": "queue:x"},
    {"Id": "dlc-no-arn", "Arn": "queue:cat_tgt_audit", "DeadLetterConfig": {}},
    {"Id": "dlc-extra-key", "Arn": "queue:cat_tgt_audit", "DeadLetterConfig": {"Arn": "queue:cat_tgt_dlq", "X": 1}},
    {"Id": "dlc-not-queue", "Arn": "queue:cat_tgt_audit", "DeadLetterConfig": {"Arn": "notify:x"}},
    {"Id": "dlc-bad-queue", "Arn": "queue:cat_tgt_audit", "DeadLetterConfig": {"Arn": "queue:bad.name"}},
    {"Id": "dlc-sqs", "Arn": "queue:cat_tgt_audit", "DeadLetterConfig": {"Arn": "arn:aws:sqs:local:000000000000:cat_tgt_dlq2"}}
]$$));
SELECT target_id, dead_letter_config FROM targets
 WHERE rule = 'cat-tgt-rejected' AND target_id LIKE 'dlc-%' ORDER BY 1;
SELECT name FROM queues WHERE name LIKE 'cat_tgt_dlq%' ORDER BY 1;

-- A failed entry leaves nothing behind: no target, no queue.
SELECT put_targets('cat-tgt-rejected', $$[{"Id": "leaves-nothing", "Arn": "queue:cat_tgt_never",
    "RetryPolicy": {"MaximumRetryAttempts": 1000}, "DeadLetterConfig": {"Arn": "queue:cat_tgt_never_dlq"}}]$$);
SELECT count(*) FROM queues WHERE name LIKE 'cat_tgt_never%';

-- The targets-per-rule limit (eventbus.max_targets_per_rule): entries that
-- would exceed it fail with LimitExceededException; updates of existing
-- targets still go through.
SELECT put_rule('cat-tgt-limit', '{"source": ["cat.limit"]}') ->> 'RuleArn';
SET eventbus.max_targets_per_rule = 3;
SELECT put_targets('cat-tgt-limit', '[{"Id": "a", "Arn": "queue:cat_tgt_audit"}, {"Id": "b", "Arn": "queue:cat_tgt_audit"}]');
SELECT jsonb_pretty(put_targets('cat-tgt-limit', $$[
    {"Id": "c", "Arn": "queue:cat_tgt_audit"},
    {"Id": "d", "Arn": "queue:cat_tgt_limit_q"},
    {"Id": "a", "Arn": "queue:cat_tgt_audit", "Input": "\"updated\""},
    {"Id": "e", "Arn": "queue:cat_tgt_audit"}
]$$));
SELECT target_id, input FROM targets WHERE rule = 'cat-tgt-limit' ORDER BY 1;
SELECT count(*) FROM queues WHERE name = 'cat_tgt_limit_q';
-- after a removal there is room again
SELECT remove_targets('cat-tgt-limit', ARRAY['c']);
SELECT put_targets('cat-tgt-limit', '[{"Id": "d", "Arn": "queue:cat_tgt_audit"}]');
RESET eventbus.max_targets_per_rule;
SHOW eventbus.max_targets_per_rule;
SELECT jsonb_pretty(put_targets('cat-tgt-limit', $$[
    {"Id": "e", "Arn": "queue:cat_tgt_audit"},
    {"Id": "f", "Arn": "queue:cat_tgt_audit"},
    {"Id": "g", "Arn": "queue:cat_tgt_audit"}
]$$));
SELECT count(*) FROM targets WHERE rule = 'cat-tgt-limit';

-- Errors of the whole call: nothing is stored.
SELECT put_targets('cat-tgt-missing', '[{"Id": "t", "Arn": "queue:cat_tgt_audit"}]');
SELECT put_targets('cat-tgt-approved', '[{"Id": "t", "Arn": "queue:cat_tgt_audit"}]', 'cat-no-such-bus');
SELECT put_targets('cat-tgt-approved', NULL);
SELECT put_targets('cat-tgt-approved', '"queue:cat_tgt_audit"');
SELECT put_targets('cat-tgt-approved', '{"Id": "t", "Arn": "queue:cat_tgt_audit"}');
SELECT put_targets('cat-tgt-approved', '{"Targets": {"Id": "t"}}');
SELECT put_targets('cat-tgt-approved', '[]');
SELECT count(*) FROM targets WHERE target_id = 't';

-- RemoveTargets: unknown Ids are per-entry failures; a repeated Id is
-- removed once; queues stay.
SELECT remove_targets('cat-tgt-approved', ARRAY['constant', 'constant-jsonb', 'nope', 'constant', NULL]);
SELECT target_id FROM targets WHERE rule = 'cat-tgt-approved' ORDER BY 1;
SELECT remove_targets('cat-tgt-other', ARRAY['t1'], 'arn:aws:events:local:000000000000:event-bus/cat-tgt-bus');
SELECT list_targets_by_rule('cat-tgt-other', 'cat-tgt-bus');
SELECT name FROM queues WHERE name = 'cat_tgt_audit';
SELECT remove_targets('cat-tgt-approved', ARRAY[]::text[]);
SELECT remove_targets('cat-tgt-approved', NULL);
SELECT remove_targets('cat-tgt-missing', ARRAY['audit']);
SELECT remove_targets('cat-tgt-approved', ARRAY['audit'], 'cat-no-such-bus');

-- ListTargetsByRule errors
SELECT list_targets_by_rule('cat-tgt-missing');
SELECT list_targets_by_rule('cat-tgt-approved', 'cat-no-such-bus');

-- SQLSTATEs
DO $$
DECLARE
    stmt text;
BEGIN
    FOREACH stmt IN ARRAY ARRAY[
        $s$SELECT eventbus.put_targets('cat-tgt-missing', '[{"Id": "t", "Arn": "queue:q"}]')$s$,
        $s$SELECT eventbus.put_targets('cat-tgt-approved', '[]')$s$,
        $s$SELECT eventbus.put_targets('cat-tgt-approved', '[{"Id": "t"}]', 'cat-no-such-bus')$s$,
        $s$SELECT eventbus.remove_targets('cat-tgt-missing', ARRAY['t'])$s$,
        $s$SELECT eventbus.remove_targets('cat-tgt-approved', ARRAY[]::text[])$s$,
        $s$SELECT eventbus.list_targets_by_rule('cat-tgt-missing')$s$,
        $s$SELECT eventbus.list_rule_names_by_target('queue:q', 'cat-no-such-bus')$s$]
    LOOP
        BEGIN
            EXECUTE stmt;
            RAISE NOTICE '% -> no error', stmt;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '% -> %', stmt, SQLSTATE;
        END;
    END LOOP;
END;
$$;

-- Clean up: rules (with their targets), the bus, then the queues.
SELECT delete_rule(name, force => true) FROM list_rules(name_prefix => 'cat-tgt-');
SELECT delete_event_bus('cat-tgt-bus', force => true);
SELECT delete_queue(name) FROM queues WHERE name LIKE 'cat_tgt%';
SELECT count(*) FROM targets WHERE rule LIKE 'cat-tgt%';
SELECT count(*) FROM queues WHERE name LIKE 'cat_tgt%';
