/*-------------------------------------------------------------------------
 *
 * schedule_expr.h
 *	  EventBridge schedule expressions: rate(N unit) and cron(minutes hours
 *	  day-of-month month day-of-week year), in UTC.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_SCHEDULE_EXPR_H
#define EVENTBUS_SCHEDULE_EXPR_H

#include "postgres.h"

#include "utils/timestamp.h"

/* A parsed expression (palloc'd in the current memory context). */
typedef struct ScheduleExpr ScheduleExpr;

/*
 * Parse an expression.  Returns NULL for an invalid one and sets *reason
 * (palloc'd, one sentence saying what is wrong, e.g. "the minutes field
 * value 61 is out of range 0-59").
 */
extern ScheduleExpr *schedule_parse(const char *expression, char **reason);

/*
 * The first fire time strictly after `after` (UTC, whole minutes for cron).
 * A rate fires at anchor + k * period (k >= 1): anchor is when the rule got
 * its schedule.  Returns DT_NOEND when the schedule never fires again (a
 * cron whose years are over).
 */
extern TimestampTz schedule_next_fire(const ScheduleExpr *expr,
									  TimestampTz anchor, TimestampTz after);

/*
 * schedule_parse, raising the reason of an invalid expression as SQLSTATE
 * 22023 "Parameter ScheduleExpression is not valid." (the reason is the
 * DETAIL; the HINT shows the two forms).
 */
extern ScheduleExpr *schedule_parse_or_error(const char *expression);

/* Is it a rate (whose fire times depend on its anchor)? */
extern bool schedule_is_rate(const ScheduleExpr *expr);

#endif							/* EVENTBUS_SCHEDULE_EXPR_H */
