-- The SSRF guard of HTTP targets (src/http_guard.c): which addresses a
-- delivery worker's request may connect to, by default and under
-- eventbus.http_allowed_networks.  eventbus._http_guard_check(address,
-- host, networks) makes the check the workers make on every connection:
-- NULL when allowed, else the class of address refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- every class refused by default, public addresses allowed
SELECT a AS address, coalesce(eventbus._http_guard_check(a, 'example.com', ''), 'allowed') AS verdict
  FROM unnest(ARRAY[
    '127.0.0.1', '127.255.255.254', '::1',
    '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    'fc00::1', 'fdff:ffff::1',
    '169.254.0.1', '169.254.169.254', 'fe80::1', 'febf::1', 'fd00:ec2::254',
    '0.0.0.0', '0.1.2.3', '::',
    '::ffff:127.0.0.1', '::ffff:10.1.2.3', '::ffff:169.254.169.254', '::ffff:192.168.0.1',
    -- just outside the ranges: public
    '172.15.255.255', '172.32.0.0', '192.169.0.1', '169.253.255.255', '11.0.0.1',
    '126.255.255.255', '128.0.0.1', 'fe00::1', 'fec0::1', 'fb00::1',
    '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) AS a;

-- CIDRs, single addresses, and IPv4 entries matching IPv4-mapped addresses
SELECT a AS address, n AS allowed_networks,
       coalesce(eventbus._http_guard_check(a, 'h', n), 'allowed') AS verdict
  FROM (VALUES
    ('127.0.0.1', '127.0.0.0/8'),
    ('127.0.0.1', '127.0.0.1'),
    ('127.0.0.2', '127.0.0.1'),
    ('127.0.0.2', '127.0.0.1/31'),
    ('127.0.0.2', '127.0.0.0/31'),
    ('10.1.2.3', '10.1.0.0/16'),
    ('10.2.0.1', '10.1.0.0/16'),
    ('172.20.1.1', '172.16.0.0/13'),
    ('172.24.1.1', '172.16.0.0/13'),
    ('192.168.7.9', ' 10.0.0.0/8 , 192.168.7.0/24 '),
    ('169.254.169.254', '169.254.0.0/16'),
    ('169.254.169.254', '0.0.0.0/0'),
    ('::1', '::1/128'),
    ('::1', '127.0.0.0/8'),
    ('::ffff:127.0.0.1', '127.0.0.0/8'),
    ('127.0.0.1', '::ffff:127.0.0.0/104'),
    ('fd12::5', 'fd00::/8'),
    ('fe80::1', 'fe80::/10'),
    ('fd00:ec2::254', 'fd00:ec2::254'),
    ('fd00:ec2::255', 'fd00:ec2::254/127'),
    ('fd00:ec2::256', 'fd00:ec2::254/127')) AS t(a, n);

-- a host name entry allows whatever that name resolves to, for requests to that name only
SELECT h AS host, n AS allowed_networks,
       coalesce(eventbus._http_guard_check('127.0.0.1', h, n), 'allowed') AS verdict
  FROM (VALUES ('localhost', 'localhost'), ('LocalHost', 'localhost'),
               ('other.test', 'localhost'), (NULL, 'localhost'),
               ('svc.internal', '10.0.0.0/8, svc.internal')) AS t(h, n);

-- bad arguments
SELECT eventbus._http_guard_check('localhost', NULL, '');
SELECT eventbus._http_guard_check('127.0.0.1', NULL, '10.0.0.0/33');
SELECT eventbus._http_guard_check('127.0.0.1', NULL, '::1/129');
SELECT eventbus._http_guard_check('127.0.0.1', NULL, 'bad host/8');
SELECT eventbus._http_guard_check('127.0.0.1', NULL, '10.0.0.0/');

-- the setting refuses what the guard cannot read
-- (a server-wide setting, read by the workers: ALTER SYSTEM checks it)
ALTER SYSTEM SET eventbus.http_allowed_networks = '10.0.0.0/8, example.internal, ::1';
ALTER SYSTEM SET eventbus.http_allowed_networks = '10.0.0.0/99';
ALTER SYSTEM SET eventbus.http_allowed_networks = 'a b';
ALTER SYSTEM RESET eventbus.http_allowed_networks;

-- not for PUBLIC
CREATE ROLE http_guard_public;
SET ROLE http_guard_public;
SELECT eventbus._http_guard_check('8.8.8.8', NULL, '');
RESET ROLE;
DROP ROLE http_guard_public;
-- NULL arguments (as the fuzzer passes them): no address, nothing checked
SELECT eventbus._http_guard_check(NULL, NULL, NULL) IS NULL AS no_address;
