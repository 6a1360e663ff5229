--
-- Schedule expressions: EventBridge's rate(value unit) and
-- cron(minutes hours day-of-month month day-of-week year), always in UTC.
-- validate_schedule_expression() accepts or refuses an expression with
-- its reason; schedule_fire_times() lists the times a schedule fires.
--
SET TimeZone = 'UTC';
\set VERBOSITY default
-- tables of cases print one line per row
\pset format unaligned
\pset fieldsep ' | '

-- fires(expression, after, n, anchor): the fire times on one line, with the
-- day of the week (seconds only when not :00)
CREATE FUNCTION public.fires(expression text, after timestamptz, n integer DEFAULT 5,
                             anchor timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE sql
AS $$
    SELECT coalesce(string_agg(to_char(t, 'Dy YYYY-MM-DD HH24:MI')
                               || CASE WHEN extract(second FROM t) <> 0
                                       THEN rtrim(rtrim(to_char(t, ':SS.US'), '0'), '.')
                                       ELSE '' END,
                               ', ' ORDER BY t), 'none')
      FROM eventbus.schedule_fire_times(expression, after, n, anchor) AS t
$$;

-- reason(expression): 'valid', or the SQLSTATE and DETAIL of the refusal
CREATE FUNCTION public.reason(expression text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    detail text;
BEGIN
    PERFORM eventbus.validate_schedule_expression(expression);
    RETURN 'valid';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ' ' || detail;
END
$$;

-- How a refusal looks to a client: message, reason, and the two forms.
SELECT eventbus.validate_schedule_expression('cron(0 12 * * * *)');
SELECT eventbus.validate_schedule_expression('rate(5 minutes)') AS rate_valid,
       eventbus.validate_schedule_expression('cron(0 12 * * ? *)') AS cron_valid,
       eventbus.validate_schedule_expression(NULL) IS NULL AS null_is_null;
-- the fire times of an invalid expression are the same error
SELECT * FROM eventbus.schedule_fire_times('rate(1 minutes)', '2026-12-02');

-- Minutes, hours, months and years: single values, *, lists, ranges and
-- increments (a/b runs from a to the end of the field).
SELECT e AS expression, fires(e, a::timestamptz, n) AS fire_times
  FROM (VALUES
    ('cron(0 12 * * ? *)',            '2026-12-02 06:07:30', 3),
    ('cron(0 12 * * ? *)',            '2026-12-02 12:00:00', 2),
    ('cron(0 12 * * ? *)',            '2026-12-02 11:59:59.999999', 2),
    ('cron(0/15 * * * ? *)',          '2026-12-02 06:07:30', 5),
    ('cron(*/20 9-10 * * ? *)',       '2026-12-02 00:00', 7),
    ('cron(10-40/10 8 * * ? *)',      '2026-12-02 00:00', 5),
    ('cron(1/10 0 1 1 ? 2027)',       '2026-12-02 00:00', 8),
    ('cron(5,35 1,13 * * ? *)',       '2026-12-02 00:00', 5),
    ('cron(0 */6 * * ? *)',           '2026-12-02 06:00', 5),
    ('cron(59 23 * * ? *)',           '2026-12-31 23:58', 2),
    ('cron(* * * * ? *)',             '2026-12-31 23:58:59', 3),
    ('cron(0 0 1 * ? *)',             '2026-12-15 00:00', 3),
    ('cron(0 0 1 JAN,apr,Jul-Sep ? *)', '2026-12-02 00:00', 6),
    ('cron(0 0 1 1,4,7-9 ? *)',       '2026-12-02 00:00', 6),
    ('cron(0 0 1 1/4 ? *)',           '2026-12-02 00:00', 4),
    ('cron(0 0 1 nov-DEC ? *)',       '2026-12-02 00:00', 3),
    ('cron(0 0 1 1 ? 2030,2035-2036,2040/10)', '2026-12-02 00:00', 8),
    ('cron(0 0 1 1 ? 2020-2025)',     '2026-12-02 00:00', 3),
    ('cron(59 23 31 12 ? 2199)',      '2026-12-02 00:00', 3),
    ('cron(0 0 1 1 ? *)',             '2199-06-01 00:00', 3),
    ('cron(0 0 1 1 ? 1970)',          '1969-06-01 00:00', 3),
    ('cron(0  12   *  * ? *)',        '2026-12-02 06:07:30', 2)
  ) AS c(e, a, n);

-- Day-of-month: values, ranges and increments; day 31 skips short months,
-- Feb 29 is only in leap years (not 2100), Feb 30 and Apr 31 never come.
SELECT e AS expression, fires(e, a::timestamptz, n) AS fire_times
  FROM (VALUES
    ('cron(0 0 31 * ? *)',            '2027-01-01 00:00', 7),
    ('cron(0 0 1-31/10 * ? 2027)',    '2027-01-01 00:00', 8),
    ('cron(0 0 5-7,20 * ? *)',        '2027-01-01 00:00', 5),
    ('cron(0 0 29 2 ? *)',            '2026-12-02 00:00', 3),
    ('cron(0 0 29 2 ? 2096-2104)',    '2026-12-02 00:00', 3),
    ('cron(0 0 30 2 ? *)',            '2026-12-02 00:00', 3),
    ('cron(0 0 31 4,6,9,11 ? *)',     '2026-12-02 00:00', 3)
  ) AS c(e, a, n);

-- L in day-of-month: the last day, in 31-, 30-, 29- and 28-day months.
SELECT e AS expression, fires(e, a::timestamptz, n) AS fire_times
  FROM (VALUES
    ('cron(0 0 L * ? *)',             '2027-01-15 00:00', 6),
    ('cron(30 18 l * ? *)',           '2027-04-30 18:29', 2),
    ('cron(0 0 L 2 ? *)',             '2026-12-02 00:00', 4),
    ('cron(0 0 L 2 ? 2100)',          '2026-12-02 00:00', 2),
    ('cron(0 0 L 2 ? 2000)',          '1999-12-02 00:00', 2)
  ) AS c(e, a, n);

-- W in day-of-month: the weekday nearest day n, within the month (1W on a
-- Saturday is Monday the 3rd, 31W on a Sunday is Friday the 29th); LW is the
-- last weekday of the month.  nW in a month shorter than n days: none.
SELECT e AS expression, fires(e, a::timestamptz, n) AS fire_times
  FROM (VALUES
    ('cron(0 0 1W * ? 2027)',         '2026-12-02 00:00', 12),
    ('cron(0 0 15W * ? 2027)',        '2026-12-02 00:00', 12),
    ('cron(0 0 31W * ? 2027)',        '2026-12-02 00:00', 12),
    ('cron(0 0 30W * ? 2027)',        '2026-12-02 00:00', 12),
    ('cron(0 0 LW * ? 2027)',         '2026-12-02 00:00', 12),
    ('cron(0 9 lw 2 ? 2026-2028)',    '2026-01-01 00:00', 3),
    ('cron(0 0 15w 8 ? 2027)',        '2026-12-02 00:00', 1)
  ) AS c(e, a, n);

-- Day-of-week: numbers (1 = SUN) and names, ranges and lists, L alone
-- (Saturday), nL (the last day n of the month), n#k (the k-th day n; a 5th
-- that a month lacks is skipped).
SELECT e AS expression, fires(e, a::timestamptz, n) AS fire_times
  FROM (VALUES
    ('cron(15 10 ? * MON-FRI *)',     '2026-12-04 11:00', 5),
    ('cron(15 10 ? * 2-6 *)',         '2026-12-04 11:00', 5),
    ('cron(0 8 ? * sun,Wed,SAT *)',   '2026-12-02 08:00', 5),
    ('cron(0 8 ? * 1,4,7 *)',         '2026-12-02 08:00', 5),
    ('cron(30 23 ? * * *)',           '2026-12-02 00:00', 3),
    ('cron(0 0 ? * L *)',             '2026-12-02 00:00', 3),
    ('cron(15 10 ? * 6L 2027)',       '2026-12-02 00:00', 12),
    ('cron(15 10 ? * FRIL 2027)',     '2026-12-02 00:00', 3),
    ('cron(0 0 ? * 1L 2027)',         '2026-12-02 00:00', 4),
    ('cron(0 0 ? * 3#2 2027)',        '2026-12-02 00:00', 4),
    ('cron(0 0 ? * 1#1 2027)',        '2026-12-02 00:00', 3),
    ('cron(0 0 ? * FRI#5 2027)',      '2026-12-02 00:00', 6),
    ('cron(0 0 ? * 2#5 2027)',        '2026-12-02 00:00', 6),
    ('cron(0 0 ? * wed#1 2027)',      '2026-12-02 00:00', 3),
    ('cron(0 0 ? * WEDL 2027)',       '2026-12-02 00:00', 3)
  ) AS c(e, a, n);

-- Rates: at anchor + k * period, k >= 1, strictly after `after`; the anchor
-- defaults to after; its microseconds are kept.
SELECT e AS expression, a AS after, an AS anchor,
       fires(e, a::timestamptz, n, an::timestamptz) AS fire_times
  FROM (VALUES
    ('rate(1 minute)',    '2026-12-02 06:00:30', NULL, 3),
    ('rate(5 minutes)',   '2026-12-02 06:12:00', '2026-12-02 06:00:00', 3),
    ('rate(5 minutes)',   '2026-12-02 06:15:00', '2026-12-02 06:00:00', 2),
    ('rate(1 hour)',      '2026-12-02 07:00:00', '2026-12-02 06:00:00', 2),
    ('rate(2 hours)',     '2026-12-01 00:00:00', '2026-12-02 06:00:00', 3),
    ('rate(1 day)',       '2026-12-31 12:00:00', '2026-12-01 00:00:00', 2),
    ('rate(7 days)',      '2027-02-20 00:00:00', '2027-01-01 09:30:00', 2),
    ('rate(1 minute)',    '2026-12-02 06:00:00', '2026-12-02 06:00:00.5', 2),
    ('rate(90 minutes)',  '2036-12-02 00:00:00', '2026-12-02 00:00:00', 2)
  ) AS c(e, a, an, n);
-- the longest rate: one fire near the end of the timestamp range, then none
SELECT t FROM eventbus.schedule_fire_times('rate(100000000 days)', '2026-12-02', 2) AS t;

-- The fire times are UTC whatever TimeZone says (so IMMUTABLE holds).
SET TimeZone = 'America/New_York';
SELECT t, t AT TIME ZONE 'UTC' AS utc
  FROM eventbus.schedule_fire_times('cron(0 12 * * ? *)', '2026-12-02 00:00+00', 2) AS t;
SELECT t, t AT TIME ZONE 'UTC' AS utc
  FROM eventbus.schedule_fire_times('cron(0 0 1 1 ? 1970)', '-infinity') AS t;
RESET TimeZone;
SET TimeZone = 'UTC';

-- count: 1 to 1000; NULL arguments give no rows; an infinite after gives
-- none; a rate's anchor must be finite (a cron has none).
SELECT count(*), min(t), max(t)
  FROM eventbus.schedule_fire_times('cron(* * * * ? *)', '2026-12-02 00:00', 1000) AS t;
SELECT t FROM eventbus.schedule_fire_times('cron(0 12 * * ? *)', '2026-12-02') AS t;
SELECT * FROM eventbus.schedule_fire_times('cron(0 12 * * ? *)', '2026-12-02', 0);
SELECT * FROM eventbus.schedule_fire_times('cron(0 12 * * ? *)', '2026-12-02', 1001);
SELECT (SELECT count(*) FROM eventbus.schedule_fire_times(NULL, '2026-12-02', 3)) AS null_expression,
       (SELECT count(*) FROM eventbus.schedule_fire_times('rate(1 day)', NULL, 3)) AS null_after,
       (SELECT count(*) FROM eventbus.schedule_fire_times('rate(1 day)', '2026-12-02', NULL)) AS null_count,
       (SELECT count(*) FROM eventbus.schedule_fire_times('rate(1 day)', 'infinity', 3,
                                                          '2026-12-02')) AS infinite_after;
SELECT * FROM eventbus.schedule_fire_times('rate(1 day)', '2026-12-02', 1, '-infinity');
SELECT * FROM eventbus.schedule_fire_times('rate(1 day)', '-infinity');
SELECT t FROM eventbus.schedule_fire_times('cron(0 12 * * ? *)', '2026-12-02', 1, 'infinity') AS t;

-- Every way an expression is refused: SQLSTATE and reason (and the last
-- three, which are accepted).
SELECT e AS expression, reason(e) AS reason
  FROM (VALUES
    (''),
    ('every 5 minutes'),
    ('CRON(0 12 * * ? *)'),
    ('cron(0 12 * * ? *'),
    ('cron(0 12 * * ? *))'),
    ('cron(0 12 * * ? *) '),
    ('cron( 0 12 * * ? *)'),
    ('cron(0 12 * * ? * )'),
    (E'cron(0 12 * * ?\t*)'),
    ('cron()'),
    ('cron(0 12 * * ?)'),
    ('cron(0 12 * * ? * *)'),
    ('cron(60 12 * * ? *)'),
    ('cron(0 24 * * ? *)'),
    ('cron(0 0 0 * ? *)'),
    ('cron(0 0 32 * ? *)'),
    ('cron(0 0 1 13 ? *)'),
    ('cron(0 0 ? * 0 *)'),
    ('cron(0 0 ? * 8 *)'),
    ('cron(0 0 1 1 ? 1969)'),
    ('cron(0 0 1 1 ? 2200)'),
    ('cron(0 0 1 1 ? 99999999999)'),
    ('cron(0/0 * * * ? *)'),
    ('cron(0/61 * * * ? *)'),
    ('cron(0/ * * * ? *)'),
    ('cron(0/x * * * ? *)'),
    ('cron(0 0 1 1/13 ? *)'),
    ('cron(0 22-2 * * ? *)'),
    ('cron(0 5- * * ? *)'),
    ('cron(0 -5 * * ? *)'),
    ('cron(0 1,,2 * * ? *)'),
    ('cron(0 1, * * ? *)'),
    ('cron(5x 0 * * ? *)'),
    ('cron(0 0 1 1 ? 2027x)'),
    ('cron(0 MON * * ? *)'),
    ('cron(0 0 1 * ? JAN)'),
    ('cron(0 0 1 FOO ? *)'),
    ('cron(0 0 ? * MONDAY *)'),
    ('cron(0 0 1 ' || repeat('X', 60) || ' ? *)'),
    ('cron(0 0 1 é ? *)'),
    ('cron(0 12 * * * *)'),
    ('cron(0 12 1 * MON *)'),
    ('cron(0 12 ? * ? *)'),
    ('cron(? 12 * * ? *)'),
    ('cron(0 0 1 1 ? ?)'),
    ('cron(0 12 1,? * ? *)'),
    ('cron(0 12 ? * ?,MON *)'),
    ('cron(0 L * * ? *)'),
    ('cron(0 0 1 L ? *)'),
    ('cron(0 0 L-3 * ? *)'),
    ('cron(0 0 1,L * ? *)'),
    ('cron(0 0 L/2 * ? *)'),
    ('cron(0 0 ? * 6L,2 *)'),
    ('cron(0 0 ? * 2-6L *)'),
    ('cron(0 0 ? * 6L2 *)'),
    ('cron(0 0 1 W ? *)'),
    ('cron(0 0 ? * 2W *)'),
    ('cron(0 0 ? * W *)'),
    ('cron(0 0 ? * WE *)'),
    ('cron(0 0 1-5W * ? *)'),
    ('cron(0 0 W * ? *)'),
    ('cron(0 0 32W * ? *)'),
    ('cron(0 0 0W * ? *)'),
    ('cron(0 0 1#2 * ? *)'),
    ('cron(0 # * * ? *)'),
    ('cron(0 0 ? * 3#6 *)'),
    ('cron(0 0 ? * 3#0 *)'),
    ('cron(0 0 ? * 3# *)'),
    ('cron(0 0 ? * 8#1 *)'),
    ('cron(0 0 ? * 3#1,6#3 *)'),
    ('cron(0 0 ? * 3#2x *)'),
    ('cron(0 0 ? * 1/2 *)'),
    ('cron(0 0 ? * */2 *)'),
    ('rate()'),
    ('rate(5)'),
    ('rate(5 minutes now)'),
    ('rate(0 minutes)'),
    ('rate(-5 minutes)'),
    ('rate(1.5 hours)'),
    ('rate(five minutes)'),
    ('rate(1 minutes)'),
    ('rate(1 hours)'),
    ('rate(5 minute)'),
    ('rate(2 day)'),
    ('rate(5 weeks)'),
    ('rate(5 Minutes)'),
    ('rate(100000001 minutes)'),
    ('rate(99999999999 days)'),
    ('cron(5,* 0 ? * MON *)'),
    ('rate(05 minutes)'),
    ('rate(1  hour)')
  ) AS c(e);

DROP FUNCTION public.fires(text, timestamptz, integer, timestamptz);
DROP FUNCTION public.reason(text);
