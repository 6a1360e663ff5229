--
-- eventbus.test_event_pattern(event, pattern): EventBridge's
-- TestEventPattern.  Unlike the =~ operator it takes a whole event, which
-- must carry the fields the service requires: id, account, source, time,
-- region and detail-type, of any JSON type.  The service does not require
-- resources (its API reference says it does) and takes fields of other
-- types than the event structure's.
--
SET search_path = public, eventbus;
\set VERBOSITY default

CREATE TEMP TABLE sample (event jsonb);
INSERT INTO sample VALUES ('{
    "id": "e5f6a7b8-1234-4c3d-9e8f-0a1b2c3d4e5f",
    "detail-type": "APPLICATION_APPROVED",
    "source": "com.example.banking",
    "account": "123456789012",
    "time": "2024-03-01T09:30:00Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {"name": "Ada", "applicationId": "app-42", "state": "APPROVED", "approvalType": "AUTO", "score": 712}
}');

-- Matching and non-matching answers.
SELECT label, expected, eventbus.test_event_pattern(event, pattern::jsonb) AS result
FROM sample, (VALUES
    ('detail-type and detail',   '{"detail-type": ["APPLICATION_APPROVED"], "detail": {"state": ["APPROVED"], "approvalType": ["AUTO", "HUMAN"]}}', true),
    ('rejected application',     '{"detail-type": ["APPLICATION_REJECTED"]}',                    false),
    ('state SUBMITTED',          '{"detail": {"state": ["SUBMITTED"]}}',                          false),
    ('source prefix',            '{"source": [{"prefix": "com.example."}]}',                     true),
    ('account and region',       '{"account": ["123456789012"], "region": ["eu-west-1"]}',       true),
    ('other region',             '{"region": ["us-east-1"]}',                                     false),
    ('time prefix',              '{"time": [{"prefix": "2024-03-01T"}]}',                         true),
    ('score range',              '{"detail": {"score": [{"numeric": [">=", 700, "<", 800]}]}}',   true),
    ('score below 700',          '{"detail": {"score": [{"numeric": ["<", 700]}]}}',              false),
    ('no taskToken',             '{"detail": {"taskToken": [{"exists": false}]}}',                true),
    ('taskToken required',       '{"detail": {"taskToken": [{"exists": true}]}}',                 false),
    ('empty resources, exists',  '{"resources": [{"exists": true}]}',                             false),
    ('$or of two detail-types',  '{"$or": [{"detail-type": ["APPLICATION_SUBMITTED"]}, {"detail-type": ["APPLICATION_APPROVED"]}]}', true)
) AS c(label, pattern, expected);

-- With resources present, and a detail that is not an object.
SELECT label, expected, eventbus.test_event_pattern(event::jsonb, pattern::jsonb) AS result
FROM (VALUES
    ('resource listed',
     '{"id": "1", "account": "111122223333", "source": "aws.ec2", "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "detail-type": "EC2 Instance State-change Notification", "resources": ["arn:aws:ec2:us-east-1:111122223333:instance/i-1", "arn:aws:ec2:us-east-1:111122223333:instance/i-2"]}',
     '{"resources": ["arn:aws:ec2:us-east-1:111122223333:instance/i-2"]}', true),
    ('resource not listed',
     '{"id": "1", "account": "111122223333", "source": "aws.ec2", "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "detail-type": "EC2 Instance State-change Notification", "resources": ["arn:aws:ec2:us-east-1:111122223333:instance/i-1"]}',
     '{"resources": ["arn:aws:ec2:us-east-1:111122223333:instance/i-2"]}', false),
    ('no detail at all',
     '{"id": "1", "account": "111122223333", "source": "aws.ec2", "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "detail-type": "Scheduled Event", "resources": []}',
     '{"source": ["aws.ec2"], "detail": {"state": [{"exists": false}]}}', true),
    ('extra top-level fields',
     '{"version": "0", "id": "1", "account": "111122223333", "source": "aws.ec2", "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "detail-type": "x", "resources": [], "replay-name": "r1"}',
     '{"version": ["0"], "replay-name": [{"exists": true}]}', true)
) AS c(label, event, pattern, expected);

-- The same pattern through =~ and test_event_pattern gives the same answer.
SELECT event =~ p AS operator, eventbus.test_event_pattern(event, p) AS test_event_pattern
FROM sample, (VALUES ('{"detail": {"name": [{"equals-ignore-case": "ADA"}]}}'::jsonb),
                     ('{"detail": {"name": [{"anything-but": "Ada"}]}}'::jsonb)) AS v(p);

-- Each required field missing in turn: an error naming it ("Parameter Event
-- is not valid.", the service's message).  resources is not required.
SELECT eventbus.test_event_pattern(event - 'id', '{"source": ["com.example.banking"]}') FROM sample;
SELECT eventbus.test_event_pattern(event - 'account', '{"source": ["com.example.banking"]}') FROM sample;
SELECT eventbus.test_event_pattern(event - 'source', '{"source": ["com.example.banking"]}') FROM sample;
SELECT eventbus.test_event_pattern(event - 'time', '{"source": ["com.example.banking"]}') FROM sample;
SELECT eventbus.test_event_pattern(event - 'region', '{"source": ["com.example.banking"]}') FROM sample;
SELECT eventbus.test_event_pattern(event - 'resources', '{"source": ["com.example.banking"]}') AS "no resources" FROM sample;
SELECT eventbus.test_event_pattern(event - 'detail-type', '{"source": ["com.example.banking"]}') FROM sample;

-- A pattern that only asks for absent fields does not excuse a missing one.
SELECT eventbus.test_event_pattern(event - 'region', '{"region": [{"exists": false}]}') FROM sample;

-- The =~ operator takes partial events.
SELECT (event - 'id' - 'region') =~ '{"source": ["com.example.banking"]}' AS partial_event_matches FROM sample;

-- Fields of other types are taken as they are, and matched as they are.
SELECT label, expected, eventbus.test_event_pattern(jsonb_set(event, path::text[], value::jsonb), pattern::jsonb) AS result
FROM sample, (VALUES
    ('id a number',               '{id}',          '42',                     '{"source": ["com.example.banking"]}', true),
    ('account a number',          '{account}',     '123456789012',           '{"account": [123456789012]}',         true),
    ('source null',               '{source}',      'null',                   '{"source": ["com.example.banking"]}', false),
    ('source null, matched',      '{source}',      'null',                   '{"source": [null]}',                  true),
    ('time a number',             '{time}',        '1709285400',             '{"time": [{"numeric": [">", 0]}]}',   true),
    ('region a list',             '{region}',      '["eu-west-1"]',          '{"region": ["eu-west-1"]}',           true),
    ('detail-type an object',     '{detail-type}', '{"name": "x"}',          '{"detail-type": {"name": ["x"]}}',    true),
    ('detail-type a number',      '{detail-type}', '7',                      '{"detail-type": [7]}',                true),
    ('resources a string',        '{resources}',   '"arn:aws:s3:::bucket"',  '{"resources": ["arn:aws:s3:::bucket"]}', true),
    ('resources an object',       '{resources}',   '{"arn": "x"}',           '{"source": ["com.example.banking"]}', true),
    ('resources null',            '{resources}',   'null',                   '{"resources": [{"exists": true}]}',   true)
) AS c(label, path, value, pattern, expected);

-- The event must be an object.
SELECT eventbus.test_event_pattern('[]', '{"source": ["x"]}');
SELECT eventbus.test_event_pattern('"event"', '{"source": ["x"]}');

-- An invalid pattern is refused with the pattern's reason.
SELECT eventbus.test_event_pattern(event, '{"source": "com.example.banking"}') FROM sample;
SELECT eventbus.test_event_pattern(event, '{"detail": {"score": [{"numeric": ["<", 800, ">", 900]}]}}') FROM sample;

-- SQL NULL in, SQL NULL out (the function is strict).
SELECT eventbus.test_event_pattern(NULL, '{"source": ["x"]}') IS NULL AS null_event,
       eventbus.test_event_pattern(event, NULL) IS NULL AS null_pattern
FROM sample;

-- Both kinds of refusal carry SQLSTATE 22023.
\set SHOW_CONTEXT never
DO $$
DECLARE
    e jsonb;
BEGIN
    SELECT event INTO e FROM sample;
    BEGIN
        PERFORM eventbus.test_event_pattern(e - 'time', '{"source": ["x"]}');
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'missing time: SQLSTATE %', SQLSTATE;
    END;
    BEGIN
        PERFORM eventbus.test_event_pattern(e - 'detail-type', '{"source": ["x"]}');
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'missing detail-type: SQLSTATE %', SQLSTATE;
    END;
    BEGIN
        PERFORM eventbus.test_event_pattern(e, '{"source": []}');
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'invalid pattern: SQLSTATE %', SQLSTATE;
    END;
END
$$;
\set SHOW_CONTEXT errors
