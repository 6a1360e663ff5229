--
-- cidr: IPv4 and IPv6 address strings inside a CIDR block.  Anything that
-- is not an address of the block's family never matches.
--
SET search_path = public, eventbus;
\set VERBOSITY default

-- The example of eb-event-patterns-content-based-filtering: a /24.
WITH p(pattern) AS (VALUES ('{"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}}'::jsonb))
SELECT label, expected, event::jsonb =~ pattern AS matches
FROM p, (VALUES
    ('first address',            '{"detail": {"sourceIPAddress": "10.0.0.0"}}',     true),
    ('an address inside',        '{"detail": {"sourceIPAddress": "10.0.0.42"}}',    true),
    ('last address',             '{"detail": {"sourceIPAddress": "10.0.0.255"}}',   true),
    ('next block',               '{"detail": {"sourceIPAddress": "10.0.1.0"}}',     false),
    ('previous block',           '{"detail": {"sourceIPAddress": "9.255.255.255"}}', false),
    ('not an address',           '{"detail": {"sourceIPAddress": "hello"}}',        false),
    ('three octets',             '{"detail": {"sourceIPAddress": "10.0.0"}}',       false),
    ('octet over 255',           '{"detail": {"sourceIPAddress": "10.0.0.256"}}',   false),
    ('address with a mask',      '{"detail": {"sourceIPAddress": "10.0.0.1/32"}}',  false),
    ('leading space',            '{"detail": {"sourceIPAddress": " 10.0.0.1"}}',    false),
    ('empty string',             '{"detail": {"sourceIPAddress": ""}}',             false),
    ('a number',                 '{"detail": {"sourceIPAddress": 10}}',             false),
    ('an IPv6 address',          '{"detail": {"sourceIPAddress": "2001:db8::1"}}',  false),
    ('IPv4-mapped IPv6',         '{"detail": {"sourceIPAddress": "::ffff:10.0.0.1"}}', false),
    ('array, one inside',        '{"detail": {"sourceIPAddress": ["8.8.8.8", "10.0.0.3"]}}', true),
    ('array, none inside',       '{"detail": {"sourceIPAddress": ["8.8.8.8", "10.0.2.3"]}}', false),
    ('field missing',            '{"detail": {}}',                                  false)
) AS c(label, event, expected);

-- Other IPv4 prefix lengths: /0, /8, /12 (not on an octet), /31, /32.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('/0 vs 0.0.0.0',            '{"ip": "0.0.0.0"}',         '{"ip": [{"cidr": "0.0.0.0/0"}]}',        true),
    ('/0 vs 255.255.255.255',    '{"ip": "255.255.255.255"}', '{"ip": [{"cidr": "0.0.0.0/0"}]}',        true),
    ('/0 vs an IPv6 address',    '{"ip": "::1"}',             '{"ip": [{"cidr": "0.0.0.0/0"}]}',        false),
    ('/0 vs not an address',     '{"ip": "localhost"}',       '{"ip": [{"cidr": "0.0.0.0/0"}]}',        false),
    ('/8 vs 10.255.1.2',         '{"ip": "10.255.1.2"}',      '{"ip": [{"cidr": "10.0.0.0/8"}]}',       true),
    ('/8 vs 11.0.0.1',           '{"ip": "11.0.0.1"}',        '{"ip": [{"cidr": "10.0.0.0/8"}]}',       false),
    ('/12 vs 172.16.0.0',        '{"ip": "172.16.0.0"}',      '{"ip": [{"cidr": "172.16.0.0/12"}]}',    true),
    ('/12 vs 172.31.255.255',    '{"ip": "172.31.255.255"}',  '{"ip": [{"cidr": "172.16.0.0/12"}]}',    true),
    ('/12 vs 172.32.0.0',        '{"ip": "172.32.0.0"}',      '{"ip": [{"cidr": "172.16.0.0/12"}]}',    false),
    ('/12 vs 172.15.255.255',    '{"ip": "172.15.255.255"}',  '{"ip": [{"cidr": "172.16.0.0/12"}]}',    false),
    ('/31 vs .4',                '{"ip": "192.168.1.4"}',     '{"ip": [{"cidr": "192.168.1.4/31"}]}',   true),
    ('/31 vs .5',                '{"ip": "192.168.1.5"}',     '{"ip": [{"cidr": "192.168.1.4/31"}]}',   true),
    ('/31 vs .6',                '{"ip": "192.168.1.6"}',     '{"ip": [{"cidr": "192.168.1.4/31"}]}',   false),
    ('/32 vs the address',       '{"ip": "192.168.1.5"}',     '{"ip": [{"cidr": "192.168.1.5/32"}]}',   true),
    ('/32 vs the next one',      '{"ip": "192.168.1.6"}',     '{"ip": [{"cidr": "192.168.1.5/32"}]}',   false)
) AS c(label, event, pattern, expected);

-- Host bits set in the block's address are ignored: 10.0.0.77/24 is the
-- block 10.0.0.0/24.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('host bits, below them',    '{"ip": "10.0.0.1"}',        '{"ip": [{"cidr": "10.0.0.77/24"}]}',     true),
    ('host bits, the address',   '{"ip": "10.0.0.77"}',       '{"ip": [{"cidr": "10.0.0.77/24"}]}',     true),
    ('host bits, next block',    '{"ip": "10.0.1.1"}',        '{"ip": [{"cidr": "10.0.0.77/24"}]}',     false),
    ('host bits in IPv6',        '{"ip": "2001:db8::1"}',     '{"ip": [{"cidr": "2001:db8::ff/64"}]}',  true)
) AS c(label, event, pattern, expected);

-- IPv6 blocks: /0, /10, /32, /64, /128; addresses in any textual form.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('::/0 vs ::1',              '{"ip": "::1"}',             '{"ip": [{"cidr": "::/0"}]}',             true),
    ('::/0 vs fe80::1',          '{"ip": "fe80::1"}',         '{"ip": [{"cidr": "::/0"}]}',             true),
    ('::/0 vs an IPv4 address',  '{"ip": "10.0.0.1"}',        '{"ip": [{"cidr": "::/0"}]}',             false),
    ('/10 vs fe80::1',           '{"ip": "fe80::1"}',         '{"ip": [{"cidr": "fe80::/10"}]}',        true),
    ('/10 vs febf::1',           '{"ip": "febf::1"}',         '{"ip": [{"cidr": "fe80::/10"}]}',        true),
    ('/10 vs fec0::1',           '{"ip": "fec0::1"}',         '{"ip": [{"cidr": "fe80::/10"}]}',        false),
    ('/32 vs 2001:db8::1',       '{"ip": "2001:db8::1"}',     '{"ip": [{"cidr": "2001:db8::/32"}]}',    true),
    ('/32, long form',           '{"ip": "2001:0db8:0000:0000:0000:0000:0000:ffff"}', '{"ip": [{"cidr": "2001:db8::/32"}]}', true),
    ('/32, upper-case hex',      '{"ip": "2001:DB8::ABCD"}',  '{"ip": [{"cidr": "2001:db8::/32"}]}',    true),
    ('/32 vs 2001:db9::1',       '{"ip": "2001:db9::1"}',     '{"ip": [{"cidr": "2001:db8::/32"}]}',    false),
    ('/64 vs same /64',          '{"ip": "2001:db8:0:1::5"}', '{"ip": [{"cidr": "2001:db8:0:1::/64"}]}', true),
    ('/64 vs next /64',          '{"ip": "2001:db8:0:2::5"}', '{"ip": [{"cidr": "2001:db8:0:1::/64"}]}', false),
    ('/128 vs the address',      '{"ip": "2001:db8::1"}',     '{"ip": [{"cidr": "2001:db8::1/128"}]}',  true),
    ('/128, long form',          '{"ip": "2001:db8:0:0:0:0:0:1"}', '{"ip": [{"cidr": "2001:db8::1/128"}]}', true),
    ('/128 vs the next one',     '{"ip": "2001:db8::2"}',     '{"ip": [{"cidr": "2001:db8::1/128"}]}',  false),
    ('IPv6 block vs garbage',    '{"ip": "2001:db8::g"}',     '{"ip": [{"cidr": "2001:db8::/32"}]}',    false)
) AS c(label, event, pattern, expected);

-- cidr conditions are alternatives like any other value of a list.
SELECT label, expected, event::jsonb =~ pattern::jsonb AS matches
FROM (VALUES
    ('IPv4 or IPv6 block, v4',   '{"ip": "10.1.2.3"}',  '{"ip": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}]}', true),
    ('IPv4 or IPv6 block, v6',   '{"ip": "2001:db8::9"}', '{"ip": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}]}', true),
    ('IPv4 or IPv6 block, none', '{"ip": "192.0.2.1"}', '{"ip": [{"cidr": "10.0.0.0/8"}, {"cidr": "2001:db8::/32"}]}', false),
    ('block or exact string',    '{"ip": "unknown"}',   '{"ip": [{"cidr": "10.0.0.0/8"}, "unknown"]}', true)
) AS c(label, event, pattern, expected);
