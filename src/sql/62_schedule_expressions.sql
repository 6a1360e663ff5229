-- Schedule expressions: EventBridge's rate(value unit) and cron(minutes
-- hours day-of-month month day-of-week year), in UTC (src/schedule_expr.c).
-- Pure computations, so executable by PUBLIC; IMMUTABLE because they
-- compute in UTC whatever TimeZone says.

CREATE FUNCTION eventbus.validate_schedule_expression(expression text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_validate_schedule_expression'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.validate_schedule_expression(text) IS
'Returns true for a valid EventBridge schedule expression, rate(value unit) or cron(minutes hours day-of-month month day-of-week year); raises "Parameter ScheduleExpression is not valid." (SQLSTATE 22023) with the reason as DETAIL otherwise.';

CREATE FUNCTION eventbus.schedule_fire_times(expression text, after timestamptz,
                                             count integer DEFAULT 1,
                                             anchor timestamptz DEFAULT NULL)
RETURNS SETOF timestamptz
AS 'MODULE_PATHNAME', 'eventbus_schedule_fire_times'
LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 10;

COMMENT ON FUNCTION eventbus.schedule_fire_times(text, timestamptz, integer, timestamptz) IS
'The next count (1-1000) times, strictly after after, at which the schedule expression fires, computed in UTC: a cron on whole minutes up to 2199, a rate at anchor + k * period (k >= 1; anchor defaults to after). Fewer rows when the schedule ends; none when expression, after or count is NULL. An invalid expression or count raises SQLSTATE 22023.';
