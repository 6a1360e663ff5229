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
-- 4. Metrics
-- ------------------------------------------------------------------
SELECT bus, rule, matched_events, triggered_rules FROM rule_stats
 WHERE bus = 'banking-demo-events' ORDER BY rule;
SELECT queue, enqueued, received, acked, backlog FROM queue_stats ORDER BY queue;
