-- Target input transformation: Input, InputPath and InputTransformer
-- (EventBridge's page eb-transform-target-input), through
-- validate_target_input and transform_input.
SET search_path = public, eventbus;
\set SHOW_CONTEXT never

-- The example EC2 event of EventBridge's page.
CREATE TEMP TABLE doc_event AS SELECT '{
  "version": "0",
  "id": "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2015-11-11T21:29:54Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  "detail": {"instance-id": "i-0123456789", "state": "RUNNING"}
}'::jsonb AS event;

-- An event whose detail holds every kind of JSON value.
CREATE TEMP TABLE kinds_event AS SELECT '{
  "version": "0",
  "id": "0d079340-135a-c8c6-95c2-41fb8f496c53",
  "detail-type": "Kinds",
  "source": "test.kinds",
  "account": "123456789012",
  "time": "2024-01-02T03:04:05Z",
  "region": "local",
  "resources": ["r1", "r2"],
  "detail": {
    "str": "text",
    "quoted": "say \"hi\" \\ back",
    "json_text": "{\"a\": 1}",
    "int": 42,
    "dec": 1.50,
    "neg": -3e2,
    "yes": true,
    "no": false,
    "nothing": null,
    "obj": {"k": "v", "n": [1, 2]},
    "arr": [1, "two", {"three": 3}],
    "empty_obj": {},
    "empty_arr": [],
    "empty_str": "",
    "a/b": "slash",
    "ünï": "unicode key",
    "list": [{"name": "first"}, {"name": "second"}]
  }
}'::jsonb AS event;

-- transform_input with the page's InputPathsMap, rule name and rule ARN.
CREATE FUNCTION pg_temp.doc(template text,
    paths jsonb DEFAULT '{"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}')
RETURNS jsonb LANGUAGE sql AS $$
    SELECT eventbus.transform_input(
        (SELECT event FROM doc_event),
        input_transformer => jsonb_build_object('InputPathsMap', paths, 'InputTemplate', template),
        rule_name => 'example',
        rule_arn => 'arn:aws:events:us-east-2:123456789012:rule/example')
$$;

-- transform_input on kinds_event, with one variable per kind of value.
CREATE FUNCTION pg_temp.kinds(template text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT eventbus.transform_input(
        (SELECT event FROM kinds_event),
        input_transformer => jsonb_build_object(
            'InputPathsMap', '{"str": "$.detail.str", "quoted": "$.detail.quoted",
                               "json_text": "$.detail.json_text", "int": "$.detail.int",
                               "dec": "$.detail.dec", "neg": "$.detail.neg",
                               "yes": "$.detail.yes", "no": "$.detail.no",
                               "nothing": "$.detail.nothing", "obj": "$.detail.obj",
                               "arr": "$.detail.arr", "empty_obj": "$.detail.empty_obj",
                               "empty_arr": "$.detail.empty_arr", "empty_str": "$.detail.empty_str",
                               "missing": "$.detail.missing", "deep_missing": "$.nope.nope.nope"}'::jsonb,
            'InputTemplate', template))
$$;

-- validate_target_input on a transformer built from paths and template.
CREATE FUNCTION pg_temp.check(template text, paths jsonb DEFAULT NULL) RETURNS boolean
LANGUAGE sql AS $$
    SELECT eventbus.validate_target_input(NULL, NULL,
        CASE WHEN paths IS NULL THEN jsonb_build_object('InputTemplate', template)
             ELSE jsonb_build_object('InputPathsMap', paths, 'InputTemplate', template) END)
$$;

--
-- The page's examples: each template, what we produce, and whether it is
-- the documented output (compared as JSON, so key order and spacing do not
-- matter).
--
SELECT description, pg_temp.doc(template) AS output,
       pg_temp.doc(template) = documented::jsonb AS as_documented
FROM (VALUES
    ('Simple string',
     $t$"instance <instance> is in <state>"$t$,
     $o$"instance i-0123456789 is in RUNNING"$o$),
    ('String with escaped quotes',
     $t$"instance \"<instance>\" is in <state>"$t$,
     $o$"instance \"i-0123456789\" is in RUNNING"$o$),
    ('Simple JSON',
     $t${
  "instance" : <instance>,
  "state": <state>
}$t$,
     $o${
  "instance" : "i-0123456789",
  "state": "RUNNING"
}$o$),
    ('JSON with strings and variables',
     $t${
 "instance" : <instance>,
 "state": "<state>",
 "instanceStatus": "instance \"<instance>\" is in <state>"
}$t$,
     $o${
 "instance" : "i-0123456789",
 "state": "RUNNING",
 "instanceStatus": "instance \"i-0123456789\" is in RUNNING"
}$o$),
    ('JSON with a mix of variables and static information',
     $t${
  "instance" : <instance>,
  "state": [ 9, <state>, true ],
  "Transformed" : "Yes"
}$t$,
     $o${
  "instance" : "i-0123456789",
  "state": [
    9,
    "RUNNING",
    true
  ],
  "Transformed" : "Yes"
}$o$),
    ('Including reserved variables in a string',
     $t$"<aws.events.rule-name> triggered"$t$,
     $o$"example triggered"$o$)
) AS examples(description, template, documented);

-- Including reserved variables in JSON: the page elides "originalEvent";
-- <aws.events.event> is the original event without its detail field.
SELECT pg_temp.doc($t${
  "instance" : <instance>,
  "state": <state>,
  "ruleArn" : <aws.events.rule-arn>,
  "ruleName" : <aws.events.rule-name>,
  "originalEvent" : <aws.events.event>
}$t$) AS output;
SELECT pg_temp.doc($t${"originalEvent" : <aws.events.event>}$t$)
       = jsonb_build_object('originalEvent', (SELECT event - 'detail' FROM doc_event)) AS as_documented;

-- Amazon CloudWatch log group: the page shows the text a log group records
-- ({"timestamp" : 2015-11-11T21:29:54Z, "message": "instance "i-0123456789"
-- is in RUNNING"), which is not JSON; here the output stays valid JSON:
-- strings are quoted and their quotes escaped.
SELECT pg_temp.doc($t${
  "timestamp" : <timestamp>,
  "message": "instance \"<instance>\" is in <state>"
}$t$) AS output;

-- The API reference's InputTransformer examples, on an event that has the
-- paths they map.
SELECT transform_input('{"detail": {"instance": "i-1", "status": "stopped"}}',
    input_transformer => jsonb_build_object(
        'InputPathsMap', '{"instance": "$.detail.instance", "status": "$.detail.status"}'::jsonb,
        'InputTemplate', template)) AS output
FROM (VALUES ($t$"<instance> is in state \"<status>\""$t$),
             ($t${"myInstance": <instance>,"myStatus": "<instance> is in state \"<status>\""}$t$)) AS t(template);
-- ... and on the page's event, which lacks them: unquoted they are null,
-- inside strings they are empty.
SELECT pg_temp.doc($t${"myInstance": <instance>,"myStatus": "<instance> is in state \"<status>\""}$t$,
                   '{"instance": "$.detail.instance", "status": "$.detail.status"}') AS output;
-- Its first example is bare text, not JSON: refused (enclose it in quotes).
SELECT pg_temp.check('<instance> is in state <status>',
                     '{"instance": "$.detail.instance", "status": "$.detail.status"}');

--
-- Values of every kind, as JSON values (unquoted) and inside strings.
--
SELECT pg_temp.kinds($t${"str": <str>, "quoted": <quoted>, "json_text": <json_text>,
                         "int": <int>, "dec": <dec>, "neg": <neg>, "yes": <yes>, "no": <no>,
                         "nothing": <nothing>, "obj": <obj>, "arr": <arr>,
                         "empty_obj": <empty_obj>, "empty_arr": <empty_arr>,
                         "empty_str": <empty_str>, "missing": <missing>,
                         "deep_missing": <deep_missing>}$t$) AS unquoted;
SELECT key, value FROM jsonb_each(pg_temp.kinds($t${
    "str": "<str>", "quoted": "<quoted>", "json_text": "<json_text>",
    "int": "<int>", "dec": "<dec>", "neg": "<neg>", "yes": "<yes>", "no": "<no>",
    "nothing": "<nothing>", "obj": "<obj>", "arr": "<arr>",
    "empty_obj": "<empty_obj>", "empty_arr": "<empty_arr>",
    "empty_str": "<empty_str>", "missing": "<missing>",
    "deep_missing": "<deep_missing>"}$t$)) ORDER BY key;
-- in arrays, nested, and next to literal text
SELECT pg_temp.kinds($t$[<str>, <int>, <missing>, [<obj>, {"in": <arr>}], "<str>:<int>:<missing>:<yes>"]$t$) AS arrays;
SELECT pg_temp.kinds($t$"[<quoted>] [<obj>]"$t$) AS escaped_text;
-- the escaped text is the value's own text: extracting it gives it back
SELECT pg_temp.kinds($t$"<quoted>"$t$) #>> '{}' AS quoted_text;
-- a template that is one placeholder is that value itself
SELECT template, pg_temp.kinds(template) AS output
FROM (VALUES ('<obj>'), ('<arr>'), ('<str>'), ('<int>'), ('<dec>'), ('<yes>'),
             ('<nothing>'), ('<missing>'), ('  <obj>  ')) AS t(template);
-- templates without placeholders are constants
SELECT template, pg_temp.kinds(template) AS output
FROM (VALUES ('42'), ('-1.5e3'), ('true'), ('false'), ('null'), ('"plain"'), ('""'),
             ('[]'), ('{}'), ('{"a": {"b": [1, {"c": null}]}}'),
             ($t$"\u00e9\u0041 \ud83d\ude00 tab:\t nl:\n \/ \\ \""$t$),
             ('{"dup": 1, "dup": 2}')) AS t(template);
-- "<" that does not start a placeholder is text, inside strings
SELECT pg_temp.kinds($t$"a < b > c, <> and </str>: <str>"$t$) AS angle_brackets;
-- whitespace inside strings is kept
SELECT pg_temp.kinds($t$"  <str>  and  <int>  "$t$) AS spaces;
-- a variable can be used many times, and unused variables do no harm
SELECT pg_temp.kinds($t$[<int>, <int>, "<int><int>"]$t$) AS repeated;

--
-- Paths: names with "-", "/" and non-ASCII letters, array indexes, and
-- paths that lead nowhere.
--
SELECT path, transform_input((SELECT event FROM kinds_event), input_path => path) AS output
FROM (VALUES ('$.detail.str'), ('$.detail.a/b'), ('$.detail.ünï'), ('$.detail-type'),
             ('$.resources'), ('$.resources[0]'), ('$.resources[1]'), ('$.resources[2]'),
             ('$.detail.arr[2].three'), ('$.detail.list[1].name'),
             ('$.detail.obj.n[0]'), ('$.detail.missing'), ('$.detail.str.x'),
             ('$.detail.arr.x'), ('$.detail.obj[0]'), ('$.detail.list.name'),
             ('$.detail.nothing'), ('$.detail.nothing.x')) AS t(path);
SELECT transform_input((SELECT event FROM kinds_event), input_path => '$')
       = (SELECT event FROM kinds_event) AS whole_event;
-- InputPathsMap paths work the same way
SELECT pg_temp.doc('{"first": <r0>, "second": <r1>, "type": <t>}',
                   '{"r0": "$.resources[0]", "r1": "$.resources[1]", "t": "$.detail-type"}') AS output;
-- variable names may hold letters, digits, "_", "-" and "."
SELECT pg_temp.doc('[<a.b>, <c-d>, <E_9>]',
                   '{"a.b": "$.detail.state", "c-d": "$.source", "E_9": "$.region"}') AS output;

--
-- Predefined variables
--
SELECT pg_temp.doc($t${"arn": <aws.events.rule-arn>, "name": <aws.events.rule-name>,
                       "ingested": <aws.events.event.ingestion-time>,
                       "text": "<aws.events.rule-name> at <aws.events.event.ingestion-time> (<aws.events.rule-arn>)"}$t$) AS output;
-- the whole event, with its detail
SELECT pg_temp.doc('{"event": <aws.events.event.json>}')
       = jsonb_build_object('event', (SELECT event FROM doc_event)) AS event_json;
SELECT pg_temp.doc('<aws.events.event.json>') = (SELECT event FROM doc_event) AS event_json_alone;
-- the event without its detail
SELECT pg_temp.doc('<aws.events.event>') = (SELECT event - 'detail' FROM doc_event) AS event_alone;
-- no InputPathsMap is needed for them
SELECT transform_input((SELECT event FROM doc_event),
    input_transformer => '{"InputTemplate": "\"<aws.events.rule-name>\""}', rule_name => 'r1') AS output;
SELECT transform_input((SELECT event FROM doc_event),
    input_transformer => '{"InputPathsMap": {}, "InputTemplate": "<aws.events.rule-name>"}', rule_name => 'r1') AS output;
SELECT transform_input((SELECT event FROM doc_event),
    input_transformer => '{"InputPathsMap": null, "InputTemplate": "[<aws.events.rule-arn>]"}', rule_arn => 'arn:x') AS output;
-- without a rule name or ARN (transform_input's defaults) they are missing:
-- null as values, nothing inside strings
SELECT transform_input((SELECT event FROM doc_event),
    input_transformer => jsonb_build_object('InputTemplate',
        '{"name": <aws.events.rule-name>, "arn": <aws.events.rule-arn>, "text": "[<aws.events.rule-name>]"}')) AS output;
-- the ingestion time is the event's "time" here; an event without one has none
SELECT transform_input('{"detail": {}}',
    input_transformer => jsonb_build_object('InputTemplate',
        '[<aws.events.event.ingestion-time>, "<aws.events.event.ingestion-time>"]')) AS output;
-- on an event without detail, <aws.events.event> is the event
SELECT transform_input('{"source": "s", "time": "t"}',
    input_transformer => '{"InputTemplate": "<aws.events.event>"}') AS output;

--
-- Input: a constant sent instead of the event
--
SELECT input, transform_input((SELECT event FROM doc_event), input => input) AS output
FROM (VALUES ('{"constant": true, "n": [1, 2]}'::jsonb), ('"text"'), ('7'), ('null'), ('[]')) AS t(input);

-- No setting: the event itself
SELECT transform_input((SELECT event FROM doc_event)) = (SELECT event FROM doc_event) AS unchanged;
-- No event: NULL
SELECT transform_input(NULL, input_path => '$.detail') IS NULL AS null_event;
-- ... but the settings are still checked
SELECT transform_input(NULL, input_path => 'detail');

-- Many rows, with the same and with different settings
SELECT n, transform_input(jsonb_build_object('detail', jsonb_build_object('n', n)),
                          input_transformer => '{"InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": "{\"n\": <n>, \"s\": \"n=<n>\"}"}') AS output
FROM generate_series(1, 3) AS n;
SELECT n, transform_input(jsonb_build_object('detail', jsonb_build_object('n', n)),
                          input_path => CASE WHEN n % 2 = 0 THEN '$.detail' ELSE '$.detail.n' END) AS output
FROM generate_series(1, 4) AS n;

--
-- Validation
--
SELECT validate_target_input(NULL, NULL, NULL) AS nothing_set;
SELECT validate_target_input('{"a": 1}', NULL, NULL) AS input,
       validate_target_input(NULL, '$.detail', NULL) AS input_path,
       validate_target_input(NULL, NULL, '{"InputTemplate": "<aws.events.event>"}') AS input_transformer;
-- at most one setting
SELECT validate_target_input('1', '$', NULL);
SELECT validate_target_input('1', NULL, '{"InputTemplate": "1"}');
SELECT validate_target_input(NULL, '$', '{"InputTemplate": "1"}');
SELECT validate_target_input('1', '$', '{"InputTemplate": "1"}');
SELECT transform_input('{}', input => '1', input_path => '$');
-- Input is at most 8192 characters of JSON
SELECT validate_target_input(to_jsonb(repeat('x', 8190)), NULL, NULL) AS input_8192_chars;
SELECT validate_target_input(to_jsonb(repeat('x', 8191)), NULL, NULL);
-- InputPath
SELECT validate_target_input(NULL, '', NULL);
SELECT validate_target_input(NULL, 'detail', NULL);
SELECT validate_target_input(NULL, '$detail', NULL);
SELECT validate_target_input(NULL, '$.', NULL);
SELECT validate_target_input(NULL, '$.detail.', NULL);
SELECT validate_target_input(NULL, '$..detail', NULL);
SELECT validate_target_input(NULL, '$.detail.*', NULL);
SELECT validate_target_input(NULL, '$.*', NULL);
SELECT validate_target_input(NULL, '$.resources[*]', NULL);
SELECT validate_target_input(NULL, '$.resources[-1]', NULL);
SELECT validate_target_input(NULL, '$.resources[]', NULL);
SELECT validate_target_input(NULL, '$.resources[0', NULL);
SELECT validate_target_input(NULL, '$.resources[99999999999]', NULL);
SELECT validate_target_input(NULL, $$$['detail']$$, NULL);
SELECT validate_target_input(NULL, '$.detail[?(@.x)]', NULL);
SELECT validate_target_input(NULL, '$.detail state', NULL);
SELECT validate_target_input(NULL, '$.' || repeat('a', 254), NULL) AS path_256_chars;
SELECT validate_target_input(NULL, '$.' || repeat('a', 255), NULL);
-- InputTransformer's shape
SELECT validate_target_input(NULL, NULL, '[]');
SELECT validate_target_input(NULL, NULL, '"<a>"');
SELECT validate_target_input(NULL, NULL, '{}');
SELECT validate_target_input(NULL, NULL, '{"InputTemplate": null}');
SELECT validate_target_input(NULL, NULL, '{"InputTemplate": {"a": 1}}');
SELECT validate_target_input(NULL, NULL, '{"InputTemplate": ""}');
SELECT validate_target_input(NULL, NULL, '{"InputTemplate": "1", "Extra": 1}');
SELECT validate_target_input(NULL, NULL, '{"InputTemplate": "1", "inputPathsMap": {}}');
SELECT validate_target_input(NULL, NULL, '{"InputTemplate": "1", "InputPathsMap": []}');
SELECT validate_target_input(NULL, NULL, '{"InputTemplate": "1", "InputPathsMap": "$.a"}');
SELECT pg_temp.check('"' || repeat('x', 8190) || '"') AS template_8192_chars;
SELECT pg_temp.check('"' || repeat('x', 8191) || '"');
-- InputPathsMap: at most 100 variables, names, paths
SELECT pg_temp.check('1', (SELECT jsonb_object_agg('v' || i, '$.detail') FROM generate_series(1, 100) AS i)) AS vars_100;
SELECT pg_temp.check('1', (SELECT jsonb_object_agg('v' || i, '$.detail') FROM generate_series(1, 101) AS i));
SELECT pg_temp.check('1', '{"": "$.a"}');
SELECT pg_temp.check('1', '{"a b": "$.a"}');
SELECT pg_temp.check('1', '{"a<b": "$.a"}');
SELECT pg_temp.check('1', jsonb_build_object(repeat('v', 257), '$.a'));
SELECT pg_temp.check('1', jsonb_build_object(repeat('v', 256), '$.a')) AS name_256_chars;
SELECT pg_temp.check('1', '{"aws.events.rule-name": "$.a"}');
SELECT pg_temp.check('1', '{"aws.events.event": "$.detail"}');
SELECT pg_temp.check('1', '{"AWS.mine": "$.a"}');
SELECT pg_temp.check('<awsome>', '{"awsome": "$.a"}') AS aws_without_dot;
SELECT pg_temp.check('1', '{"a": 1}');
SELECT pg_temp.check('1', '{"a": null}');
SELECT pg_temp.check('1', '{"a": "detail.state"}');
SELECT pg_temp.check('1', '{"a": "$.detail.*"}');
SELECT pg_temp.check('1', '{"a": ""}');
-- placeholders
SELECT pg_temp.check('<a>');
SELECT pg_temp.check('"x <a> y"', '{"b": "$.b"}');
SELECT pg_temp.check('"<aws.events.rule>"');
SELECT pg_temp.check('{<a>: 1}', '{"a": "$.a"}');
SELECT pg_temp.check('{"<a>": 1}', '{"a": "$.a"}');
SELECT pg_temp.check('{"k<a>": 1}', '{"a": "$.a"}');
SELECT pg_temp.check('"<aws.events.event>"');
SELECT pg_temp.check('{"e": "event: <aws.events.event.json>"}');
SELECT pg_temp.check('{"a": <a><a>}', '{"a": "$.a"}');
SELECT pg_temp.check('{"a": <a> <a>}', '{"a": "$.a"}');
SELECT pg_temp.check('{"a": x<a>}', '{"a": "$.a"}');
SELECT pg_temp.check('{"a": < a >}', '{"a": "$.a"}');
SELECT pg_temp.check('{"a": <>}');
-- not JSON once placeholders stand for values
SELECT pg_temp.check('<a> is in state <b>', '{"a": "$.a", "b": "$.b"}');
SELECT pg_temp.check('instance is running');
SELECT pg_temp.check('"unterminated');
SELECT pg_temp.check('"bad \x escape"');
SELECT pg_temp.check('"bad \u12 escape"');
SELECT pg_temp.check('"nul \u0000"');
SELECT pg_temp.check('"lone \ud83d surrogate"');
SELECT pg_temp.check('"lone \ude00 surrogate"');
SELECT pg_temp.check(E'"tab\tinside"');
SELECT pg_temp.check('{"a": 1,}');
SELECT pg_temp.check('[1, 2,]');
SELECT pg_temp.check('[1 2]');
SELECT pg_temp.check('{"a" 1}');
SELECT pg_temp.check('{a: 1}');
SELECT pg_temp.check('{"a": }');
SELECT pg_temp.check('{"a": 1');
SELECT pg_temp.check('[');
SELECT pg_temp.check('   ');
SELECT pg_temp.check('tru');
SELECT pg_temp.check('True');
SELECT pg_temp.check('01');
SELECT pg_temp.check('1.');
SELECT pg_temp.check('-');
SELECT pg_temp.check('1e');
SELECT pg_temp.check('+1');
SELECT pg_temp.check('{"a": 1} {"b": 2}');
SELECT pg_temp.check('"a" "b"');
-- a long template is shown around the error
SELECT pg_temp.check('[' || repeat('1, ', 100) || 'x' || repeat(', 2', 100) || ']');
-- errors carry SQLSTATE 22023
DO $$
BEGIN
    PERFORM eventbus.validate_target_input(NULL, 'x', NULL);
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END;
$$;
