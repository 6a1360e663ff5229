-- Inputs at the edges that must keep failing cleanly (or succeeding): deep
-- nesting, huge and tiny numbers, Unicode case mappings that change length,
-- wildcards at the limit, bad CIDR blocks, odd transformer templates.
SET eventbus.max_pattern_size = 10000000;
SELECT eventbus.is_valid_event_pattern((repeat('{"a": ', 5000) || '[1]' || repeat('}', 5000))::jsonb);
SELECT eventbus.is_valid_event_pattern((repeat('{"$or": [', 3000) || '{"a": [1]}' || repeat(']}', 3000))::jsonb);
SELECT ('{"detail": {"a": ' || repeat('[', 5000) || '1' || repeat(']', 5000) || '}}')::jsonb
       OPERATOR(eventbus.=~) '{"detail": {"a": [1]}}';
SELECT '{"detail": {"n": 1e400}}'::jsonb OPERATOR(eventbus.=~) '{"detail": {"n": [{"numeric": [">", 1e308]}]}}';
SELECT '{"detail": {"n": 1e-400}}'::jsonb OPERATOR(eventbus.=~) '{"detail": {"n": [{"numeric": ["=", 0]}]}}';
SELECT eventbus.is_valid_event_pattern('{"detail": {"n": [{"numeric": [">", -1e400, "<", 1e400]}]}}');
SELECT '{"detail": {"s": "İİİİ"}}'::jsonb OPERATOR(eventbus.=~) '{"detail": {"s": [{"equals-ignore-case": "i̇i̇i̇i̇"}]}}';
SELECT '{"detail": {"s": "ẞß"}}'::jsonb OPERATOR(eventbus.=~) '{"detail": {"s": [{"prefix": {"equals-ignore-case": "ßẞß"}}]}}';
SELECT '{"detail": {"s": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"}}'::jsonb
       OPERATOR(eventbus.=~) '{"detail": {"s": [{"wildcard": "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a"}]}}';
SELECT eventbus.is_valid_event_pattern('{"a": [{"wildcard": "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a"}]}');
SELECT eventbus.is_valid_event_pattern('{"a": [{"wildcard": "a\\"}]}');
SELECT eventbus.is_valid_event_pattern('{"a": [{"cidr": "1.2.3.4/33"}, {"cidr": "::ffff:1.2.3.4/129"}]}');
SELECT eventbus.is_valid_event_pattern('{"a": [{"cidr": "1:2:3:4:5:6:7:8:9/64"}]}');
SELECT eventbus.validate_target_input(NULL, NULL,
       '{"InputPathsMap": {"a": "$.detail.a[99999999999999999999]"}, "InputTemplate": "<a> <a> <<a>>"}');
SELECT eventbus.transform_input('{"detail": {"a": [1]}}', NULL, '$.detail.a[-1]', NULL, NULL, NULL);
SELECT eventbus.transform_input('{"detail": {}}', NULL, NULL,
       '{"InputPathsMap": {"a": "$.detail"}, "InputTemplate": "\"<a>\\\"<a>\""}', 'r', NULL);
SELECT eventbus.put_events('[{"Source": "fz", "DetailType": "t", "Detail": "{\"a\": 1e400}", "Time": "+275760-09-13T00:00:00Z"}]');
SELECT eventbus.event_envelope(NULL::eventbus.events);
SELECT eventbus.event_envelope(jsonb_populate_record(NULL::eventbus.events, '{"resources": ["a", null]}'));
