-- eventbus demo: the banking application's events (see README).
\pset footer off
\set ON_ERROR_STOP 1
CREATE EXTENSION eventbus;
SET search_path = public, eventbus;

-- ------------------------------------------------------------------
-- 1. The event pattern language: event =~ pattern
-- ------------------------------------------------------------------
CREATE TEMP TABLE sample_events (label text, event jsonb);
INSERT INTO sample_events VALUES
 ('submitted',      '{"source": "bank.account-applications", "detail-type": "APPLICATION_SUBMITTED",
                      "detail": {"name": "Ada", "applicationId": "a-1", "state": "SUBMITTED"}}'),
 ('approved-auto',  '{"source": "bank.account-applications", "detail-type": "APPLICATION_APPROVED",
                      "detail": {"name": "Ada", "applicationId": "a-1", "state": "APPROVED", "approvalType": "AUTO"}}'),
 ('approved-human', '{"source": "bank.account-applications", "detail-type": "APPLICATION_APPROVED",
                      "detail": {"name": "Bob", "applicationId": "a-2", "state": "APPROVED", "approvalType": "HUMAN"}}'),
 ('rejected',       '{"source": "bank.account-applications", "detail-type": "APPLICATION_REJECTED",
                      "detail": {"name": "Eve", "applicationId": "a-3", "state": "SUBMITTED"}}'),
 ('flagged',        '{"source": "bank.account-applications", "detail-type": "APPLICATION_FLAGGED_FOR_REVIEW",
                      "detail": {"name": "Eve", "applicationId": "a-3", "taskToken": "tok-42"}}');

-- Which events does each pattern match?
SELECT label,
       event =~ '{"detail-type": ["APPLICATION_APPROVED"], "detail": {"state": ["APPROVED"], "approvalType": ["AUTO", "HUMAN"]}}' AS approved,
       event =~ '{"detail": {"approvalType": [{"anything-but": "AUTO"}]}}' AS approved_not_auto,
       event =~ '{"detail-type": [{"prefix": "APPLICATION_"}], "detail": {"taskToken": [{"exists": true}]}}' AS needs_review,
       event =~ '{"detail-type": [{"wildcard": "APPLICATION_*ED"}]}' AS any_decision,
       event =~ '{"$or": [{"detail": {"state": ["SUBMITTED"]}}, {"detail-type": ["APPLICATION_FLAGGED_FOR_REVIEW"]}]}' AS pending
  FROM sample_events ORDER BY label;

-- TestEventPattern takes a whole envelope, as in EventBridge.
SELECT test_event_pattern(
    '{"id": "7bf73129-1428-4cd3-a780-95db273d1602", "account": "123456789012", "source": "bank.account-applications",
      "time": "2026-11-28T10:00:00Z", "region": "eu-west-1", "resources": [], "detail-type": "APPLICATION_APPROVED",
      "detail": {"state": "APPROVED", "approvalType": "HUMAN"}}',
    '{"detail": {"approvalType": [{"equals-ignore-case": "human"}]}}') AS human_approval;

-- An invalid pattern is refused with EventBridge's reason.
SELECT is_valid_event_pattern('{"detail-type": "APPLICATION_APPROVED"}') AS bare_value_is_valid;
\set ON_ERROR_STOP 0
SELECT validate_event_pattern('{"detail": {"amount": [{"numeric": [">", 100, ">", 5]}]}}');
\set ON_ERROR_STOP 1

-- ------------------------------------------------------------------
-- 2. Routing: a bus, rules, queue targets, put_events
-- ------------------------------------------------------------------
SELECT create_event_bus('banking-demo-events');
SELECT put_rule('application-approved',
                '{"detail-type": ["APPLICATION_APPROVED"], "detail": {"state": ["APPROVED"], "approvalType": ["AUTO", "HUMAN"]}}',
                'banking-demo-events');
SELECT put_rule('application-submitted',
                '{"detail-type": ["APPLICATION_SUBMITTED"]}',
                'banking-demo-events');
SELECT put_rule('human-review',
                '{"detail-type": ["APPLICATION_FLAGGED_FOR_REVIEW"], "detail": {"taskToken": [{"exists": true}]}}',
                'banking-demo-events');
-- The account-opening service gets a small message; auditing gets every event whole.
SELECT put_targets('application-approved', '[
    {"Id": "open-account", "Arn": "queue:account-opening",
     "InputTransformer": {"InputPathsMap": {"name": "$.detail.name", "app": "$.detail.applicationId", "how": "$.detail.approvalType"},
                          "InputTemplate": "{\"open_account_for\": <name>, \"application\": <app>, \"approval\": <how>}"}},
    {"Id": "audit", "Arn": "queue:audit"}]', 'banking-demo-events');
SELECT put_targets('application-submitted', '[{"Id": "audit", "Arn": "queue:audit"}]', 'banking-demo-events');
SELECT put_targets('human-review', '[{"Id": "reviewers", "Arn": "queue:human-review", "InputPath": "$.detail"}]', 'banking-demo-events');

SELECT name, state, event_bus_name FROM list_rules('banking-demo-events');

LISTEN "eventbus.account-opening";

-- One PutEvents request: the application's five stages, plus one bad entry
-- that fails alone.
SELECT jsonb_pretty(put_events('{"Entries": [
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_SUBMITTED",
   "Detail": "{\"name\": \"Ada\", \"applicationId\": \"a-1\", \"state\": \"SUBMITTED\"}"},
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_APPROVED",
   "Detail": "{\"name\": \"Ada\", \"applicationId\": \"a-1\", \"state\": \"APPROVED\", \"approvalType\": \"AUTO\"}"},
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_FLAGGED_FOR_REVIEW",
   "Detail": "{\"name\": \"Eve\", \"applicationId\": \"a-3\", \"taskToken\": \"tok-42\"}"},
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_APPROVED",
   "Detail": "{\"name\": \"Bob\", \"applicationId\": \"a-2\", \"state\": \"APPROVED\", \"approvalType\": \"HUMAN\"}"},
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_REJECTED",
   "Detail": "{\"name\": \"Eve\", \"applicationId\": \"a-3\", \"state\": \"SUBMITTED\"}"},
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_APPROVED",
   "Detail": "not json"}
]}')) AS put_events_response;

-- The application's own transaction: an event and a business row commit or
-- roll back together.  This one rolls back, so nothing is delivered.
BEGIN;
SELECT put_event('bank.account-applications', 'APPLICATION_APPROVED',
                 '{"name": "Mallory", "applicationId": "a-9", "state": "APPROVED", "approvalType": "AUTO"}',
                 'banking-demo-events') IS NOT NULL AS put_in_transaction;
ROLLBACK;

-- ------------------------------------------------------------------
-- 3. Consumers: receive, then acknowledge
-- ------------------------------------------------------------------
SELECT message_id, payload FROM receive('account-opening', 10, 30) ORDER BY message_id;
SELECT ack('account-opening', array_agg(message_id)) AS acknowledged
  FROM eventbus_outbox."queue_account-opening";

SELECT payload FROM receive('human-review', 10, 30);

SELECT payload->>'detail-type' AS audited, payload->'detail'->>'applicationId' AS application
  FROM receive('audit', 10, 30) ORDER BY message_id;

-- ------------------------------------------------------------------
-- 4. Delivery: a SQL function target, as EventBridge would invoke a Lambda
-- ------------------------------------------------------------------
CREATE SCHEMA bank;
CREATE TABLE bank.accounts (application text PRIMARY KEY, holder text, opened_by text,
                            opened_at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION bank.open_account(event jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO bank.accounts (application, holder, opened_by)
    VALUES (event->'detail'->>'applicationId', event->'detail'->>'name', current_user)
$$;
-- The credit bureau is down: its target fails and retries, then gives up.
CREATE FUNCTION bank.notify_bureau(event jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit bureau unavailable' USING ERRCODE = '08006';
END $$;
SELECT put_targets('application-approved', '[
    {"Id": "open-bank-account", "Arn": "function:bank.open_account"},
    {"Id": "credit-bureau", "Arn": "function:bank.notify_bureau",
     "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}}]', 'banking-demo-events');

SELECT put_events('[
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_APPROVED",
   "Detail": {"name": "Carol", "applicationId": "a-4", "state": "APPROVED", "approvalType": "AUTO"}},
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_APPROVED",
   "Detail": {"name": "Dan", "applicationId": "a-5", "state": "APPROVED", "approvalType": "HUMAN"}}
]') ->> 'FailedEntryCount' AS failed_entries;

-- The delivery worker was woken by the commit; wait (at most 10 s) for it
-- to open the accounts and to give up on the bureau.
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN (SELECT count(*) FROM bank.accounts) = 2
              AND (SELECT count(*) FROM dead_letters WHERE target_id = 'credit-bureau') = 2;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT application, holder, opened_by FROM bank.accounts ORDER BY application;
SELECT target_id, error_code, error_message, exhausted_condition, retry_attempts
  FROM dead_letters WHERE target_id = 'credit-bureau' ORDER BY dead_letter_id;

-- The bureau is back: redrive its dead letters.
CREATE TABLE bank.bureau_reports (application text);
CREATE OR REPLACE FUNCTION bank.notify_bureau(event jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO bank.bureau_reports VALUES (event->'detail'->>'applicationId')
$$;
SELECT redrive_dead_letters(target_id => 'credit-bureau') AS redriven;
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN (SELECT count(*) FROM bank.bureau_reports) = 2;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT application FROM bank.bureau_reports ORDER BY 1;

SELECT database, state, delivered, failed, backlog FROM delivery_workers;

-- ------------------------------------------------------------------
-- 5. Webhooks: the partner is told of every rejection over HTTP
-- ------------------------------------------------------------------
-- A connection holds how to authorize (here an API key, never shown
-- again), an API destination where to send; the delivery workers make the
-- requests (never the application's session), with the event id in
-- X-Eventbus-Event-Id, retries and dead letters as for every push target.
SELECT create_connection('partner', 'API_KEY',
         '{"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}}')
       ->> 'ConnectionState' AS connection_state;
SELECT describe_connection('partner') -> 'AuthParameters' AS shown_parameters;
SELECT create_api_destination('partner-rejections', 'partner', :'webhook_url' || '/ok/rejections/*',
         'POST', 10) ->> 'ApiDestinationState' AS destination_state;
SELECT put_rule('notify-partner', '{"detail-type": ["APPLICATION_REJECTED"]}',
         event_bus_name => 'banking-demo-events') IS NOT NULL AS rule_put;
SELECT put_targets('notify-partner', '[{"Id": "partner", "Arn": "api-destination:partner-rejections",
         "HttpParameters": {"PathParameterValues": ["$.detail.applicationId"],
                            "HeaderParameters": {"X-Reason": "$.detail.reason"}}}]',
         event_bus_name => 'banking-demo-events') ->> 'FailedEntryCount' AS failed_targets;
SELECT put_events('[
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_REJECTED",
   "Detail": {"name": "Eve", "applicationId": "a-3", "reason": "identity not verified"}},
  {"EventBusName": "banking-demo-events", "Source": "bank.account-applications", "DetailType": "APPLICATION_REJECTED",
   "Detail": {"name": "Mallory", "applicationId": "a-6", "reason": "fraud suspected"}}
]') ->> 'FailedEntryCount' AS failed_entries;
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        EXIT WHEN (SELECT responses_2xx FROM api_destination_metrics
                    WHERE api_destination = 'partner-rejections') = 2;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
SELECT api_destination, requests, responses_2xx, responses_4xx, responses_5xx, in_flight
  FROM api_destination_metrics;

-- ------------------------------------------------------------------
-- 6. Metrics
-- ------------------------------------------------------------------
SELECT bus, rule, matched_events, triggered_rules FROM rule_stats
 WHERE bus = 'banking-demo-events' ORDER BY rule;
SELECT queue, enqueued, received, acked, backlog FROM queue_stats ORDER BY queue;
SELECT rule, target_id, kind, enqueued, invocations, failed_invocations, retry_invocation_attempts,
       dead_lettered, latency_p50_ms IS NOT NULL AS has_latency
  FROM target_stats WHERE bus = 'banking-demo-events' ORDER BY rule, target_id;
