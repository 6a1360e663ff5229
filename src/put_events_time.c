/*-------------------------------------------------------------------------
 *
 * put_events_time.c
 *	  The Time of a PutEvents entry.
 *
 * This file owns the forms of Time that put_events accepts and their
 * conversion into a timestamptz: RFC 3339 text, as EventBridge documents
 * it, and a JSON number of seconds since 1970-01-01T00:00:00Z, as the AWS
 * SDKs and CLI send it (their JSON protocol writes timestamps as epoch
 * seconds, with a fraction for milliseconds).  Both are parsed here rather
 * than with the server's date input, which also takes words such as "now"
 * and the session's time zone, and raises errors rather than returning
 * false.
 *
 * Both forms cover the same range: the years RFC 3339 can write, 0001 to
 * 9999 (epoch seconds -62135596800 to 253402300799.999999), so every
 * stored event's "time" can be given back as RFC 3339 text.  Digits past
 * the microsecond are dropped, in either form.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "put_events.h"

/* Epoch seconds of 0001-01-01T00:00:00Z and of 10000-01-01T00:00:00Z. */
#define EPOCH_SECONDS_MIN		INT64CONST(-62135596800)
#define EPOCH_SECONDS_END		INT64CONST(253402300800)

/* n decimal digits at p, as an int; false if any is not a digit */
static bool
read_digits(const char *p, const char *end, int n, int *value)
{
	int			v = 0;

	if (end - p < n)
		return false;
	for (int i = 0; i < n; i++)
	{
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*value = v;
	return true;
}

/*
 * An RFC 3339 date-time: YYYY-MM-DD(T|t| )hh:mm[:ss[.frac]][Z|z|(+|-)hh[:]mm|(+|-)hh].
 * Without an offset the time is UTC.  Parsed here, without the server's
 * date input (which also takes words such as "now" and the session's time
 * zone, and raises errors rather than returning false).
 */
bool
put_events_parse_time(const char *s, int len, TimestampTz *result)
{
	const char *p = s;
	const char *end = s + len;
	struct pg_tm tm;
	fsec_t		fsec = 0;
	int			tz = 0;
	Timestamp	ts;

	memset(&tm, 0, sizeof(tm));
	if (!read_digits(p, end, 4, &tm.tm_year) || tm.tm_year < 1)
		return false;
	p += 4;
	if (p >= end || *p++ != '-' || !read_digits(p, end, 2, &tm.tm_mon))
		return false;
	p += 2;
	if (p >= end || *p++ != '-' || !read_digits(p, end, 2, &tm.tm_mday))
		return false;
	p += 2;
	if (p >= end || (*p != 'T' && *p != 't' && *p != ' '))
		return false;
	p++;
	if (!read_digits(p, end, 2, &tm.tm_hour))
		return false;
	p += 2;
	if (p >= end || *p++ != ':' || !read_digits(p, end, 2, &tm.tm_min))
		return false;
	p += 2;
	if (p < end && *p == ':')
	{
		p++;
		if (!read_digits(p, end, 2, &tm.tm_sec))
			return false;
		p += 2;
		if (p < end && (*p == '.' || *p == ','))
		{
			int			scale = 100000;

			p++;
			if (p >= end || *p < '0' || *p > '9')
				return false;
			for (; p < end && *p >= '0' && *p <= '9'; p++)
			{
				fsec += (*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (p < end)
	{
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-')
		{
			int			sign = (*p == '-') ? -1 : 1;
			int			oh;
			int			om = 0;

			p++;
			if (!read_digits(p, end, 2, &oh) || oh > 23)
				return false;
			p += 2;
			if (p < end && *p == ':')
				p++;
			if (p < end)
			{
				if (!read_digits(p, end, 2, &om) || om > 59)
					return false;
				p += 2;
			}
			/* PostgreSQL counts zone offsets in seconds west of UTC */
			tz = -sign * (oh * SECS_PER_HOUR + om * SECS_PER_MINUTE);
		}
		else
			return false;
	}
	if (p != end)
		return false;

	if (tm.tm_mon < 1 || tm.tm_mon > MONTHS_PER_YEAR ||
		tm.tm_mday < 1 ||
		tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1] ||
		tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;

	if (tm2timestamp(&tm, fsec, &tz, &ts) != 0 || !IS_VALID_TIMESTAMP(ts))
		return false;
	*result = ts;
	return true;
}

static int
numeric_cmp_int64(Numeric n, int64 v)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(n),
											 NumericGetDatum(int64_to_numeric(v))));
}

/*
 * A Time given as a JSON number: seconds since 1970-01-01T00:00:00Z,
 * possibly fractional or negative.  False when outside the range of event
 * times.  (JSON has no NaN or infinities; numeric sorts them past every
 * number, so they would fail the range check too.)
 */
bool
put_events_epoch_time(Numeric seconds, TimestampTz *result)
{
	Numeric		usecs;
	int64		us;

	/* a coarse check first, so that the arithmetic below cannot overflow */
	if (numeric_cmp_int64(seconds, EPOCH_SECONDS_MIN - 1) < 0 ||
		numeric_cmp_int64(seconds, EPOCH_SECONDS_END + 1) > 0)
		return false;

	/* whole microseconds, rounded down as the text form's fraction is */
	usecs = DatumGetNumeric(DirectFunctionCall2(numeric_mul,
												NumericGetDatum(seconds),
												NumericGetDatum(int64_to_numeric(USECS_PER_SEC))));
	usecs = DatumGetNumeric(DirectFunctionCall1(numeric_floor,
												NumericGetDatum(usecs)));
	us = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(usecs)));
	if (us < EPOCH_SECONDS_MIN * USECS_PER_SEC ||
		us >= EPOCH_SECONDS_END * USECS_PER_SEC)
		return false;

	/* PostgreSQL counts from 2000-01-01 */
	*result = us - (TimestampTz) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	return IS_VALID_TIMESTAMP(*result);
}
