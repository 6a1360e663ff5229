--
-- prefix, suffix, their {"equals-ignore-case": ...} forms, and
-- equals-ignore-case itself.  All of them match strings only.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- prefix: events of one day by the prefix of their time
WITH p(pattern) AS (VALUES ('{"time": [{"prefix": "2024-03-01"}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('starts with the prefix',   '{"time": "2024-03-01T09:15:00Z"}', true),
    ('equals the prefix',        '{"time": "2024-03-01"}',           true),
    ('other day',                '{"time": "2024-03-02T09:15:00Z"}', false),
    ('shorter than the prefix',  '{"time": "2024-03-0"}',            false),
    ('prefix in the middle',     '{"time": "x2024-03-01"}',          false),
    ('array, one element',       '{"time": ["2023-01-01", "2024-03-01T00:00:00Z"]}', true),
    ('array, no element',        '{"time": ["2023-01-01", "2025-03-01"]}', false),
    ('field missing',            '{}',                               false)
) AS c(label, event, expected);

SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('prefix is case-sensitive', '{"source": "aws.ec2"}', '{"source": [{"prefix": "AWS."}]}', false),
    ('prefix on a number',       '{"n": 12345}',          '{"n": [{"prefix": "12"}]}',        false),
    ('prefix on true',           '{"n": true}',           '{"n": [{"prefix": "t"}]}',         false),
    ('prefix on null',           '{"n": null}',           '{"n": [{"prefix": "n"}]}',         false),
    ('prefix on an object',      '{"n": {"a": "abc"}}',   '{"n": [{"prefix": "a"}]}',         false),
    ('multibyte prefix',         '{"s": "école"}',        '{"s": [{"prefix": "éc"}]}',        true),
    ('unaccented prefix',        '{"s": "école"}',        '{"s": [{"prefix": "ec"}]}',        false),
    ('empty prefix, a string',   '{"s": "abc"}',          '{"s": [{"prefix": ""}]}',          true),
    ('empty prefix, ""',         '{"s": ""}',             '{"s": [{"prefix": ""}]}',          true),
    ('empty prefix, a number',   '{"s": 1}',              '{"s": [{"prefix": ""}]}',          false),
    ('two prefixes (OR)',        '{"region": "eu-west-1"}', '{"region": [{"prefix": "us-"}, {"prefix": "eu-"}]}', true),
    ('prefix or exact value',    '{"region": "cn-north-1"}', '{"region": [{"prefix": "us-"}, "cn-north-1"]}', true)
) AS c(label, event, pattern, expected);

-- suffix
WITH p(pattern) AS (VALUES ('{"FileName": [{"suffix": ".png"}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('ends with the suffix',     '{"FileName": "photo.png"}',     true),
    ('equals the suffix',        '{"FileName": ".png"}',          true),
    ('other case',               '{"FileName": "photo.PNG"}',     false),
    ('shorter than the suffix',  '{"FileName": "png"}',           false),
    ('suffix in the middle',     '{"FileName": "photo.png.txt"}', false),
    ('array, one element',       '{"FileName": ["a.jpg", "b.png"]}', true),
    ('a number',                 '{"FileName": 5}',               false),
    ('field missing',            '{"File": "photo.png"}',         false)
) AS c(label, event, expected);

SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('multibyte suffix',         '{"s": "voilà"}',  '{"s": [{"suffix": "là"}]}', true),
    ('suffix on a number',       '{"n": 12345}',    '{"n": [{"suffix": "45"}]}', false)
) AS c(label, event, pattern, expected);

-- prefix with equals-ignore-case
WITH p(pattern) AS (VALUES ('{"detail": {"bucket": [{"prefix": {"equals-ignore-case": "Audit-"}}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('lower case',               '{"detail": {"bucket": "audit-2024"}}',  true),
    ('upper case',               '{"detail": {"bucket": "AUDIT-2024"}}',  true),
    ('mixed case',               '{"detail": {"bucket": "aUdIt-logs"}}',  true),
    ('exactly the prefix',       '{"detail": {"bucket": "audit-"}}',      true),
    ('shorter than the prefix',  '{"detail": {"bucket": "Audit"}}',       false),
    ('prefix not at the start',  '{"detail": {"bucket": "xaudit-"}}',     false),
    ('a number',                 '{"detail": {"bucket": 1}}',             false),
    ('field missing',            '{"detail": {}}',                        false)
) AS c(label, event, expected);

-- suffix with equals-ignore-case
WITH p(pattern) AS (VALUES ('{"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('same case',                '{"detail": {"FileName": "a.png"}}',  true),
    ('upper case',               '{"detail": {"FileName": "A.PNG"}}',  true),
    ('mixed case',               '{"detail": {"FileName": "a.Png"}}',  true),
    ('other extension',          '{"detail": {"FileName": "a.jpg"}}',  false),
    ('shorter than the suffix',  '{"detail": {"FileName": "PNG"}}',    false),
    ('suffix not at the end',    '{"detail": {"FileName": "a.PNG.gz"}}', false)
) AS c(label, event, expected);

-- equals-ignore-case
WITH p(pattern) AS (VALUES ('{"source": [{"equals-ignore-case": "EC2"}]}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('lower case',               '{"source": "ec2"}',        true),
    ('same case',                '{"source": "EC2"}',        true),
    ('mixed case',               '{"source": "eC2"}',        true),
    ('longer',                   '{"source": "ec2 "}',       false),
    ('shorter',                  '{"source": "ec"}',         false),
    ('array, one element',       '{"source": ["s3", "Ec2"]}', true),
    ('a number',                 '{"source": 2}',            false),
    ('field missing',            '{}',                       false)
) AS c(label, event, expected);

-- Non-ASCII letters fold too.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('ÉCOLE vs école',           '{"s": "école"}',  '{"s": [{"equals-ignore-case": "ÉCOLE"}]}', true),
    ('école vs ÉCOLE',           '{"s": "ÉCOLE"}',  '{"s": [{"equals-ignore-case": "école"}]}', true),
    ('ÉCOLE vs ÉcOlE',           '{"s": "ÉcOlE"}',  '{"s": [{"equals-ignore-case": "ÉCOLE"}]}', true),
    ('ÉCOLE vs ecole',           '{"s": "ecole"}',  '{"s": [{"equals-ignore-case": "ÉCOLE"}]}', false),
    ('ECOLE vs école',           '{"s": "école"}',  '{"s": [{"equals-ignore-case": "ECOLE"}]}', false),
    ('ÉCOLE vs écoles',          '{"s": "écoles"}', '{"s": [{"equals-ignore-case": "ÉCOLE"}]}', false),
    ('Greek ΑΘΗΝΑ vs αθηνα',     '{"s": "αθηνα"}',  '{"s": [{"equals-ignore-case": "ΑΘΗΝΑ"}]}', true),
    ('prefix ÉC vs école',       '{"s": "école"}',  '{"s": [{"prefix": {"equals-ignore-case": "ÉC"}}]}', true),
    ('prefix éc vs ÉCOLE',       '{"s": "ÉCOLE"}',  '{"s": [{"prefix": {"equals-ignore-case": "éc"}}]}', true),
    ('prefix ÉC vs ecole',       '{"s": "ecole"}',  '{"s": [{"prefix": {"equals-ignore-case": "ÉC"}}]}', false),
    ('suffix ÇA vs voilà ça',    '{"s": "voilà ça"}', '{"s": [{"suffix": {"equals-ignore-case": "ÇA"}}]}', true),
    ('suffix LÀ vs VOILÀ',       '{"s": "VOILÀ"}',  '{"s": [{"suffix": {"equals-ignore-case": "là"}}]}', true),
    ('suffix LÀ vs voila',       '{"s": "voila"}',  '{"s": [{"suffix": {"equals-ignore-case": "LÀ"}}]}', false)
) AS c(label, event, pattern, expected);
