/*-------------------------------------------------------------------------
 *
 * put_events_time.c
 *	  The Time of a PutEvents entry.
 *
 * This file owns the forms of Time that put_events accepts and their
 * parsing into a timestamptz, done here rather than with the server's date
 * input (which also takes words such as "now" and the session's time zone,
 * and raises errors rather than returning false).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "put_events.h"

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
