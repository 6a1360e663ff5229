/*-------------------------------------------------------------------------
 *
 * schedule_expr.c
 *	  EventBridge schedule expressions: parsing rate(value unit) and
 *	  cron(minutes hours day-of-month month day-of-week year), the next
 *	  fire time of a parsed expression (UTC), and the SQL functions
 *	  validate_schedule_expression and schedule_fire_times.
 *
 * A rate fires at anchor + k * period (k >= 1), to the microsecond of its
 * anchor.  A cron fires on whole minutes, in UTC, from 1970 up to the end
 * of 2199 (the range of its year field).
 *
 * The grammar is EventBridge's.  Where its documentation is silent this
 * file decides, mostly for the stricter reading:
 *	- fields are separated by runs of spaces; no space may come before the
 *	  first field or after the last, and no other white space is allowed;
 *	- "rate" and "cron" and the rate units are lower case; month and day
 *	  names and the letters L and W are case-insensitive; a day name may
 *	  take L or # like a number (FRIL, FRI#2);
 *	- ranges run forwards (22-2 is refused, not wrapped around);
 *	- an increment lies between 1 and the number of the field's values;
 *	- L, LW and nW stand alone in day-of-month (no L-n offsets, no lists);
 *	  L, nL and n#k stand alone in day-of-week, and k lies in 1-5;
 *	- nW in a month shorter than n days does not fire in that month, as
 *	  day n does not;
 *	- * may appear in a list (it then covers the field);
 *	- a rate's value is at most 100000000 (leading zeros are allowed).
 *
 * The next fire time steps field by field (year, month, day, hour,
 * minute) over bit sets, so it never walks minute by minute: at most one
 * look at each month up to 2199.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "schedule_expr.h"

PG_FUNCTION_INFO_V1(eventbus_validate_schedule_expression);
PG_FUNCTION_INFO_V1(eventbus_schedule_fire_times);

#define CRON_FIRST_YEAR 1970
#define CRON_LAST_YEAR 2199
#define CRON_YEARS (CRON_LAST_YEAR - CRON_FIRST_YEAR + 1)

#define RATE_MAX_VALUE 100000000

/* The longest piece of the input quoted in a reason, in bytes. */
#define QUOTE_MAX 40

#define FIRE_TIMES_MAX 1000

typedef enum ScheduleKind
{
	SCHEDULE_RATE,
	SCHEDULE_CRON
} ScheduleKind;

/* What the day-of-month field says; DOM_ANY is '?'. */
typedef enum DomMode
{
	DOM_ANY,
	DOM_SET,					/* the days in dom_days */
	DOM_LAST,					/* L */
	DOM_LAST_WEEKDAY,			/* LW */
	DOM_NEAREST_WEEKDAY			/* nW, n in dom_n */
} DomMode;

/* What the day-of-week field says; DOW_ANY is '?'. */
typedef enum DowMode
{
	DOW_ANY,
	DOW_SET,					/* the days in dows (L alone is 7) */
	DOW_LAST,					/* nL: the last day n of the month */
	DOW_NTH						/* n#k: the k-th day n of the month */
} DowMode;

struct ScheduleExpr
{
	ScheduleKind kind;

	/* rate */
	int64		period;			/* microseconds */

	/* cron: bit v set when value v is in the field */
	uint64		minutes;		/* bits 0-59 */
	uint32		hours;			/* bits 0-23 */
	uint32		months;			/* bits 1-12 */
	DomMode		dom_mode;
	uint32		dom_days;		/* bits 1-31, for DOM_SET */
	int			dom_n;			/* for DOM_NEAREST_WEEKDAY */
	DowMode		dow_mode;
	uint32		dows;			/* bits 1-7 (1 = Sunday), for DOW_SET */
	int			dow_n;			/* the day (1-7) of DOW_LAST and DOW_NTH */
	int			dow_k;			/* the occurrence (1-5) of DOW_NTH */
	bool		years[CRON_YEARS];
};

/* The fields of a cron expression, in order. */
typedef enum CronField
{
	F_MINUTES,
	F_HOURS,
	F_DOM,
	F_MONTH,
	F_DOW,
	F_YEAR,
	CRON_NFIELDS
} CronField;

static const char *const month_names[] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL
};

static const char *const day_names[] = {
	"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL
};

typedef struct FieldSpec
{
	const char *name;
	int			min;
	int			max;
	const char *const *names;	/* names of min, min + 1, ...; or NULL */
	const char *names_are;		/* "a month name (JAN-DEC)" */
} FieldSpec;

static const FieldSpec field_specs[CRON_NFIELDS] = {
	{"minutes", 0, 59, NULL, NULL},
	{"hours", 0, 23, NULL, NULL},
	{"day-of-month", 1, 31, NULL, NULL},
	{"month", 1, 12, month_names, "a month name (JAN-DEC)"},
	{"day-of-week", 1, 7, day_names, "a day name (SUN-SAT)"},
	{"year", CRON_FIRST_YEAR, CRON_LAST_YEAR, NULL, NULL},
};

/* A piece of the input: start and length (not terminated). */
typedef struct Span
{
	const char *s;
	int			len;
} Span;

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline char
ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* The span in double quotes, cut (on a character boundary) when long. */
static char *
quoted(const char *s, int len)
{
	int			cut = len;

	if (len > QUOTE_MAX)
		cut = pg_mbcliplen(s, len, QUOTE_MAX);
	return psprintf("\"%.*s%s\"", cut, s, cut < len ? "..." : "");
}

/* The span as it is (a number), cut when long. */
static char *
clipped(const char *s, int len)
{
	int			cut = len;

	if (len > QUOTE_MAX)
		cut = pg_mbcliplen(s, len, QUOTE_MAX);
	return psprintf("%.*s%s", cut, s, cut < len ? "..." : "");
}

/* Case-insensitive: is the span exactly word? */
static bool
span_is(const char *s, int len, const char *word)
{
	int			wlen = strlen(word);

	if (len != wlen)
		return false;
	for (int i = 0; i < len; i++)
		if (ascii_upper(s[i]) != word[i])
			return false;
	return true;
}

/* Does the span contain c (case-insensitive for letters)? */
static bool
span_has(const char *s, int len, char c)
{
	for (int i = 0; i < len; i++)
		if (ascii_upper(s[i]) == c)
			return true;
	return false;
}

/*
 * Parse an unsigned decimal of at most 9 digits at *p (up to end) into
 * *value; *p moves past the digits.  Returns the number of digits read, or
 * -1 for more than 9 (the value is then undefined).
 */
static int
read_digits(const char **p, const char *end, int *value)
{
	const char *start = *p;
	int			v = 0;

	while (*p < end && is_digit(**p))
	{
		if (*p - start < 9)
			v = v * 10 + (**p - '0');
		(*p)++;
	}
	*value = v;
	return (*p - start > 9) ? -1 : (int) (*p - start);
}

/*
 * One value of field f at *p (a number or, for month and day-of-week, a
 * name): checked against the field's range.  elem is the element it is
 * part of, for the reasons.  Returns false with *reason set when invalid.
 */
static bool
parse_value(CronField f, const char **p, const char *end, Span elem,
			int *value, char **reason)
{
	const FieldSpec *spec = &field_specs[f];
	const char *start = *p;

	if (*p < end && is_digit(**p))
	{
		int			ndigits = read_digits(p, end, value);

		if (ndigits < 0 || *value < spec->min || *value > spec->max)
		{
			*reason = psprintf("the %s field value %s is out of range %d-%d",
							   spec->name, clipped(start, *p - start),
							   spec->min, spec->max);
			return false;
		}
		return true;
	}
	if (*p < end && is_alpha(**p))
	{
		int			len;
		bool		name_ends = false;

		/* a name is 3 letters; in day-of-week an L may follow (FRIL) */
		if (spec->names != NULL && end - start >= 3)
		{
			const char *next = start + 3;

			name_ends = next == end || !is_alpha(*next) ||
				(f == F_DOW && ascii_upper(*next) == 'L' &&
				 (next + 1 == end || !is_alpha(next[1])));
		}
		if (name_ends)
		{
			for (int i = 0; spec->names[i] != NULL; i++)
				if (span_is(start, 3, spec->names[i]))
				{
					*p = start + 3;
					*value = spec->min + i;
					return true;
				}
		}
		while (*p < end && is_alpha(**p))
			(*p)++;
		len = *p - start;
		if (span_is(start, len, "L"))
			*reason = psprintf("the %s field does not take L; only day-of-month and day-of-week do",
							   spec->name);
		else if (span_is(start, len, "W"))
			*reason = psprintf("the %s field does not take W; only day-of-month does",
							   spec->name);
		else if (spec->names != NULL)
			*reason = psprintf("the %s field name %s is not %s",
							   spec->name, quoted(start, len), spec->names_are);
		else
			*reason = psprintf("the %s field value %s is not a number",
							   spec->name, quoted(start, len));
		return false;
	}
	if (*p < end && **p == '?')
		*reason = (f == F_DOM || f == F_DOW) ?
			psprintf("the %s field takes ? only alone", spec->name) :
			psprintf("the %s field does not take ?; only day-of-month and day-of-week do",
					 spec->name);
	else if (*p < end && **p == '#')
		*reason = psprintf("the %s field does not take #; only day-of-week does",
						   spec->name);
	else
		*reason = psprintf("the %s field element %s is not valid",
						   spec->name, quoted(elem.s, elem.len));
	return false;
}

/* Anything left of elem after *p is unexpected. */
static bool
check_end(CronField f, const char *p, Span elem, char **reason)
{
	const char *end = elem.s + elem.len;

	if (p == end)
		return true;
	*reason = psprintf("the %s field element %s has unexpected text %s",
					   field_specs[f].name, quoted(elem.s, elem.len),
					   quoted(p, end - p));
	return false;
}

/*
 * One element of a list: *, a value or a range, each optionally with an
 * increment (/step).  Sets its values in vals (indexed from the field's
 * minimum).
 */
static bool
parse_element(CronField f, Span elem, bool *vals, char **reason)
{
	const FieldSpec *spec = &field_specs[f];
	const char *p = elem.s;
	const char *end = elem.s + elem.len;
	int			lo,
				hi,
				step = 1;
	bool		single = false;

	if (elem.len == 0)
	{
		*reason = psprintf("the %s field has an empty element in its list",
						   spec->name);
		return false;
	}
	if (*p == '*')
	{
		lo = spec->min;
		hi = spec->max;
		p++;
	}
	else
	{
		if (!parse_value(f, &p, end, elem, &lo, reason))
			return false;
		hi = lo;
		single = true;
		if (p < end && *p == '-')
		{
			p++;
			if (p == end)
			{
				*reason = psprintf("the %s field range %s has no end",
								   spec->name, quoted(elem.s, elem.len));
				return false;
			}
			if (!parse_value(f, &p, end, elem, &hi, reason))
				return false;
			if (hi < lo)
			{
				*reason = psprintf("the %s field range %s runs backwards",
								   spec->name, quoted(elem.s, elem.len));
				return false;
			}
			single = false;
		}
	}
	if (p < end && *p == '/')
	{
		const char *sstart = ++p;
		int			ndigits = read_digits(&p, end, &step);
		int			nvalues = spec->max - spec->min + 1;

		if (ndigits == 0)
		{
			if (p < end && is_alpha(*p))
			{
				while (p < end && is_alpha(*p))
					p++;
				*reason = psprintf("the %s field increment %s is not a number",
								   spec->name, quoted(sstart, p - sstart));
			}
			else
				*reason = psprintf("the %s field element %s has no increment after /",
								   spec->name, quoted(elem.s, elem.len));
			return false;
		}
		if (ndigits < 0 || step < 1 || step > nvalues)
		{
			*reason = psprintf("the %s field increment %s is out of range 1-%d",
							   spec->name, clipped(sstart, p - sstart), nvalues);
			return false;
		}
		/* a/b: from a to the end of the field */
		if (single)
			hi = spec->max;
	}
	if (!check_end(f, p, elem, reason))
		return false;

	for (int v = lo; v <= hi; v += step)
		vals[v - spec->min] = true;
	return true;
}

/* A comma-separated list of elements. */
static bool
parse_list(CronField f, Span field, bool *vals, char **reason)
{
	const char *p = field.s;
	const char *end = field.s + field.len;

	for (;;)
	{
		const char *comma = memchr(p, ',', end - p);
		Span		elem;

		elem.s = p;
		elem.len = (comma ? comma : end) - p;
		if (!parse_element(f, elem, vals, reason))
			return false;
		if (comma == NULL)
			return true;
		p = comma + 1;
	}
}

/* The set bits of vals (indexed from the field's minimum) as a mask. */
static uint64
vals_mask(CronField f, const bool *vals)
{
	const FieldSpec *spec = &field_specs[f];
	uint64		mask = 0;

	for (int v = spec->min; v <= spec->max; v++)
		if (vals[v - spec->min])
			mask |= UINT64CONST(1) << v;
	return mask;
}

/* A field without special characters, into a mask (not the year). */
static bool
parse_mask_field(CronField f, Span field, uint64 *mask, char **reason)
{
	bool		vals[64] = {0};

	if (!parse_list(f, field, vals, reason))
		return false;
	*mask = vals_mask(f, vals);
	return true;
}

static bool
parse_dom(ScheduleExpr *e, Span field, char **reason)
{
	const char *name = field_specs[F_DOM].name;
	const char *s = field.s;
	int			len = field.len;

	if (len == 1 && s[0] == '?')
	{
		e->dom_mode = DOM_ANY;
		return true;
	}
	if (span_is(s, len, "L"))
	{
		e->dom_mode = DOM_LAST;
		return true;
	}
	if (span_is(s, len, "LW"))
	{
		e->dom_mode = DOM_LAST_WEEKDAY;
		return true;
	}
	if (span_has(s, len, 'L'))
	{
		if (len > 1 && ascii_upper(s[0]) == 'L' && s[1] == '-')
			*reason = psprintf("the %s field offset %s is not supported; L stands alone or as LW",
							   name, quoted(s, len));
		else
			*reason = psprintf("the %s field takes L only alone or as LW, not in %s",
							   name, quoted(s, len));
		return false;
	}
	if (span_has(s, len, 'W'))
	{
		const char *p = s;
		int			n;
		int			ndigits = read_digits(&p, s + len, &n);

		if (ndigits != 0 && p == s + len - 1 && ascii_upper(*p) == 'W')
		{
			if (ndigits < 0 || n < 1 || n > 31)
			{
				*reason = psprintf("the %s field value %s is out of range 1-31",
								   name, clipped(s, len - 1));
				return false;
			}
			e->dom_mode = DOM_NEAREST_WEEKDAY;
			e->dom_n = n;
			return true;
		}
		*reason = psprintf("the %s field takes W only after a single day, as in 15W, not in %s",
						   name, quoted(s, len));
		return false;
	}
	{
		uint64		mask;

		if (!parse_mask_field(F_DOM, field, &mask, reason))
			return false;
		e->dom_mode = DOM_SET;
		e->dom_days = (uint32) mask;
	}
	return true;
}

static bool
parse_dow(ScheduleExpr *e, Span field, char **reason)
{
	const char *name = field_specs[F_DOW].name;
	const char *s = field.s;
	const char *end = field.s + field.len;
	int			len = field.len;
	const char *p = s;

	if (len == 1 && s[0] == '?')
	{
		e->dow_mode = DOW_ANY;
		return true;
	}
	if (span_has(s, len, '/'))
	{
		*reason = psprintf("the %s field does not take increments (/)", name);
		return false;
	}
	for (int i = 0; i < len; i++)
	{
		/* a W on its own, not in a name (WED) */
		if (ascii_upper(s[i]) == 'W' &&
			(i == 0 || !is_alpha(s[i - 1])) &&
			(i + 1 == len || !is_alpha(s[i + 1])))
		{
			*reason = psprintf("the %s field does not take W; only day-of-month does",
							   name);
			return false;
		}
	}
	if (span_has(s, len, '#'))
	{
		const char *kstart;
		int			k;
		int			ndigits;

		if (span_has(s, len, ','))
		{
			*reason = psprintf("the %s field takes # in one expression only, not in a list",
							   name);
			return false;
		}
		if (!parse_value(F_DOW, &p, end, field, &e->dow_n, reason))
			return false;
		if (p == end || *p != '#')
			return check_end(F_DOW, p, field, reason);
		kstart = ++p;
		ndigits = read_digits(&p, end, &k);
		if (ndigits == 0)
		{
			*reason = psprintf("the %s field element %s has no occurrence after #",
							   name, quoted(s, len));
			return false;
		}
		if (ndigits < 0 || k < 1 || k > 5)
		{
			*reason = psprintf("the %s field occurrence %s is out of range 1-5",
							   name, clipped(kstart, p - kstart));
			return false;
		}
		if (!check_end(F_DOW, p, field, reason))
			return false;
		e->dow_mode = DOW_NTH;
		e->dow_k = k;
		return true;
	}
	if (span_is(s, len, "L"))
	{
		/* L alone: the last day of the week */
		e->dow_mode = DOW_SET;
		e->dows = ((uint32) 1) << 7;
		return true;
	}
	if (span_has(s, len, 'L'))
	{
		if (span_has(s, len, ','))
		{
			*reason = psprintf("the %s field takes L in one expression only, not in a list",
							   name);
			return false;
		}
		if (!parse_value(F_DOW, &p, end, field, &e->dow_n, reason))
			return false;
		if (p == end - 1 && ascii_upper(*p) == 'L')
		{
			e->dow_mode = DOW_LAST;
			return true;
		}
		*reason = psprintf("the %s field takes L only alone or after a single day, as in 6L, not in %s",
						   name, quoted(s, len));
		return false;
	}
	{
		uint64		mask;

		if (!parse_mask_field(F_DOW, field, &mask, reason))
			return false;
		e->dow_mode = DOW_SET;
		e->dows = (uint32) mask;
	}
	return true;
}

static ScheduleExpr *
parse_cron(Span *fields, int nfields, char **reason)
{
	ScheduleExpr *e = palloc0(sizeof(ScheduleExpr));
	uint64		mask;

	e->kind = SCHEDULE_CRON;
	if (nfields != CRON_NFIELDS)
	{
		*reason = psprintf("a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), not %d",
						   nfields);
		return NULL;
	}

	for (int f = 0; f < CRON_NFIELDS; f++)
	{
		Span		field = fields[f];

		/* '?' belongs to the day fields, and there only alone */
		if (f != F_DOM && f != F_DOW && span_has(field.s, field.len, '?'))
		{
			*reason = psprintf("the %s field does not take ?; only day-of-month and day-of-week do",
							   field_specs[f].name);
			return NULL;
		}
		if ((f == F_DOM || f == F_DOW) && field.len > 1 &&
			span_has(field.s, field.len, '?'))
		{
			*reason = psprintf("the %s field takes ? only alone", field_specs[f].name);
			return NULL;
		}
		if (f != F_DOW && span_has(field.s, field.len, '#'))
		{
			*reason = psprintf("the %s field does not take #; only day-of-week does",
							   field_specs[f].name);
			return NULL;
		}

		switch (f)
		{
			case F_MINUTES:
				if (!parse_mask_field(F_MINUTES, field, &mask, reason))
					return NULL;
				e->minutes = mask;
				break;
			case F_HOURS:
				if (!parse_mask_field(F_HOURS, field, &mask, reason))
					return NULL;
				e->hours = (uint32) mask;
				break;
			case F_DOM:
				if (!parse_dom(e, field, reason))
					return NULL;
				break;
			case F_MONTH:
				if (!parse_mask_field(F_MONTH, field, &mask, reason))
					return NULL;
				e->months = (uint32) mask;
				break;
			case F_DOW:
				if (!parse_dow(e, field, reason))
					return NULL;
				break;
			case F_YEAR:
				if (!parse_list(F_YEAR, field, e->years, reason))
					return NULL;
				break;
		}
	}

	if (e->dom_mode == DOM_ANY && e->dow_mode == DOW_ANY)
	{
		*reason = pstrdup("the day-of-month and day-of-week fields are both ?; exactly one of them must be ?");
		return NULL;
	}
	if (e->dom_mode != DOM_ANY && e->dow_mode != DOW_ANY)
	{
		*reason = pstrdup("the day-of-month and day-of-week fields are both given; one of them must be ?");
		return NULL;
	}
	return e;
}

static ScheduleExpr *
parse_rate(Span *fields, int nfields, char **reason)
{
	static const struct
	{
		const char *singular;
		const char *plural;
		int64		usecs;
	}			units[] = {
		{"minute", "minutes", USECS_PER_MINUTE},
		{"hour", "hours", USECS_PER_HOUR},
		{"day", "days", USECS_PER_DAY},
	};
	ScheduleExpr *e;
	Span		v,
				u;
	const char *p;
	int			value;
	int			ndigits;

	if (nfields != 2)
	{
		*reason = psprintf("a rate expression has 2 fields (value unit), as in rate(5 minutes), not %d",
						   nfields);
		return NULL;
	}
	v = fields[0];
	u = fields[1];

	p = v.s;
	ndigits = read_digits(&p, v.s + v.len, &value);
	if (ndigits == 0 || p != v.s + v.len)
	{
		*reason = psprintf("the rate value %s is not a positive integer",
						   quoted(v.s, v.len));
		return NULL;
	}
	if (ndigits > 0 && value == 0)
	{
		*reason = psprintf("the rate value %s is not a positive integer",
						   clipped(v.s, v.len));
		return NULL;
	}
	if (ndigits < 0 || value > RATE_MAX_VALUE)
	{
		*reason = psprintf("the rate value %s is too large; it may be at most %d",
						   clipped(v.s, v.len), RATE_MAX_VALUE);
		return NULL;
	}

	for (int i = 0; i < lengthof(units); i++)
	{
		bool		is_singular = (u.len == strlen(units[i].singular) &&
								   memcmp(u.s, units[i].singular, u.len) == 0);
		bool		is_plural = (u.len == strlen(units[i].plural) &&
								 memcmp(u.s, units[i].plural, u.len) == 0);

		if (!is_singular && !is_plural)
			continue;
		if (value == 1 && is_plural)
		{
			*reason = psprintf("the rate value 1 takes the singular unit %s, not %s",
							   units[i].singular, units[i].plural);
			return NULL;
		}
		if (value > 1 && is_singular)
		{
			*reason = psprintf("the rate value %d takes the plural unit %s, not %s",
							   value, units[i].plural, units[i].singular);
			return NULL;
		}
		e = palloc0(sizeof(ScheduleExpr));
		e->kind = SCHEDULE_RATE;
		e->period = value * units[i].usecs;
		return e;
	}
	*reason = psprintf("the rate unit %s is not one of minute, minutes, hour, hours, day, days",
					   quoted(u.s, u.len));
	return NULL;
}

ScheduleExpr *
schedule_parse(const char *expression, char **reason)
{
	size_t		len = strlen(expression);
	const char *body;
	const char *close;
	const char *p;
	bool		is_rate;
	Span		fields[CRON_NFIELDS + 1];
	int			nfields = 0;

	*reason = NULL;
	if (len == 0)
	{
		*reason = pstrdup("the expression is empty");
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if (expression[i] == '\t' || expression[i] == '\n' ||
			expression[i] == '\r' || expression[i] == '\v' ||
			expression[i] == '\f')
		{
			*reason = pstrdup("the expression contains white space other than spaces; fields are separated by spaces");
			return NULL;
		}
	if (expression[0] == ' ' || expression[len - 1] == ' ')
	{
		*reason = pstrdup("the expression starts or ends with a space");
		return NULL;
	}
	if (strncmp(expression, "rate(", 5) == 0)
		is_rate = true;
	else if (strncmp(expression, "cron(", 5) == 0)
		is_rate = false;
	else
	{
		*reason = pstrdup("the expression is neither rate(value unit) nor cron(fields)");
		return NULL;
	}
	body = expression + 5;
	close = strchr(body, ')');
	if (close == NULL)
	{
		*reason = pstrdup("the expression has no closing parenthesis");
		return NULL;
	}
	if (close[1] != '\0')
	{
		*reason = psprintf("the expression has text after its closing parenthesis: %s",
						   quoted(close + 1, strlen(close + 1)));
		return NULL;
	}
	if (close > body && (body[0] == ' ' || close[-1] == ' '))
	{
		*reason = psprintf("the %s expression has a space before its first field or after its last",
						   is_rate ? "rate" : "cron");
		return NULL;
	}

	/* split on runs of spaces; count past the limit to report it */
	p = body;
	while (p < close)
	{
		const char *start = p;

		while (p < close && *p != ' ')
			p++;
		if (nfields < lengthof(fields))
		{
			fields[nfields].s = start;
			fields[nfields].len = p - start;
		}
		nfields++;
		while (p < close && *p == ' ')
			p++;
	}

	return is_rate ? parse_rate(fields, nfields, reason) :
		parse_cron(fields, nfields, reason);
}

ScheduleExpr *
schedule_parse_or_error(const char *expression)
{
	char	   *reason;
	ScheduleExpr *expr = schedule_parse(expression, &reason);

	if (expr == NULL)
	{
		/* the reason starts a sentence of its own */
		reason[0] = ascii_upper(reason[0]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Parameter ScheduleExpression is not valid."),
				 errdetail("%s.", reason),
				 errhint("A schedule expression is rate(value unit), as in rate(5 minutes), or cron(minutes hours day-of-month month day-of-week year), as in cron(0 12 * * ? *).")));
	}
	return expr;
}

/* Day of the week of a date: 0 = Sunday ... 6 = Saturday. */
static inline int
weekday(int year, int month, int day)
{
	return j2day(date2j(year, month, day));
}

/* The days (bits 1-31) of year-month on which the day fields fire. */
static uint32
month_days(const ScheduleExpr *e, int year, int month)
{
	int			ldom = day_tab[isleap(year) ? 1 : 0][month - 1];
	uint32		in_month = (uint32) ((UINT64CONST(1) << (ldom + 1)) - 2);
	int			day;

	if (e->dow_mode == DOW_ANY)
	{
		switch (e->dom_mode)
		{
			case DOM_SET:
				return e->dom_days & in_month;
			case DOM_LAST:
				return ((uint32) 1) << ldom;
			case DOM_LAST_WEEKDAY:
				day = ldom;
				switch (weekday(year, month, ldom))
				{
					case 6:
						day -= 1;
						break;
					case 0:
						day -= 2;
						break;
				}
				return ((uint32) 1) << day;
			case DOM_NEAREST_WEEKDAY:
				day = e->dom_n;
				if (day > ldom)
					return 0;
				switch (weekday(year, month, day))
				{
					case 6:		/* Saturday: Friday, or Monday the 3rd */
						day = (day == 1) ? 3 : day - 1;
						break;
					case 0:		/* Sunday: Monday, or Friday at the end */
						day = (day == ldom) ? day - 2 : day + 1;
						break;
				}
				return ((uint32) 1) << day;
			case DOM_ANY:
				break;
		}
		return 0;				/* not reached: one day field is not ? */
	}
	else
	{
		int			wd1 = weekday(year, month, 1);
		uint32		result = 0;
		int			target = e->dow_n - 1;

		switch (e->dow_mode)
		{
			case DOW_SET:
				for (day = 1; day <= ldom; day++)
					if (e->dows & (((uint32) 1) << ((wd1 + day - 1) % 7 + 1)))
						result |= ((uint32) 1) << day;
				return result;
			case DOW_LAST:
				day = ldom - ((wd1 + ldom - 1) % 7 - target + 7) % 7;
				return ((uint32) 1) << day;
			case DOW_NTH:
				day = 1 + (target - wd1 + 7) % 7 + 7 * (e->dow_k - 1);
				return day <= ldom ? ((uint32) 1) << day : 0;
			case DOW_ANY:
				break;
		}
		return 0;
	}
}

static TimestampTz
cron_next(const ScheduleExpr *e, TimestampTz after)
{
	const TimestampTz first = (TimestampTz) (UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
	const TimestampTz limit = (TimestampTz) (date2j(CRON_LAST_YEAR + 1, 1, 1) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
	TimestampTz start;
	int64		days,
				rem;
	int			y,
				m,
				d,
				h,
				mi;

	if (after >= limit)
		return DT_NOEND;
	if (after < first)
		start = first;
	else
		start = first + ((after - first) / USECS_PER_MINUTE + 1) * USECS_PER_MINUTE;

	days = (start - first) / USECS_PER_DAY;
	rem = (start - first) % USECS_PER_DAY;
	j2date((int) (UNIX_EPOCH_JDATE + days), &y, &m, &d);
	h = (int) (rem / USECS_PER_HOUR);
	mi = (int) ((rem % USECS_PER_HOUR) / USECS_PER_MINUTE);

	for (int year = y; year <= CRON_LAST_YEAR; year++)
	{
		bool		same_y = (year == y);

		CHECK_FOR_INTERRUPTS();
		if (!e->years[year - CRON_FIRST_YEAR])
			continue;
		for (int month = same_y ? m : 1; month <= 12; month++)
		{
			bool		same_m = same_y && month == m;
			uint32		dmask;

			if (!(e->months & (((uint32) 1) << month)))
				continue;
			dmask = month_days(e, year, month);
			if (same_m)
				dmask &= ~((((uint32) 1) << d) - 1);
			while (dmask != 0)
			{
				int			day = pg_rightmost_one_pos32(dmask);
				bool		same_d = same_m && day == d;
				uint32		hmask = e->hours;

				dmask &= dmask - 1;
				if (same_d)
					hmask &= ~((((uint32) 1) << h) - 1);
				while (hmask != 0)
				{
					int			hour = pg_rightmost_one_pos32(hmask);
					uint64		mmask = e->minutes;

					hmask &= hmask - 1;
					if (same_d && hour == h)
						mmask &= ~((UINT64CONST(1) << mi) - 1);
					if (mmask != 0)
						return (TimestampTz) (date2j(year, month, day) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY +
							hour * USECS_PER_HOUR +
							pg_rightmost_one_pos64(mmask) * USECS_PER_MINUTE;
				}
			}
		}
	}
	return DT_NOEND;
}

static TimestampTz
rate_next(const ScheduleExpr *e, TimestampTz anchor, TimestampTz after)
{
	int64		k;
	int64		offset;
	TimestampTz next;

	if (TIMESTAMP_NOT_FINITE(anchor) || TIMESTAMP_IS_NOEND(after))
		return DT_NOEND;
	if (after < anchor)
		k = 1;
	else
		k = (int64) (((uint64) after - (uint64) anchor) / (uint64) e->period) + 1;
	if (pg_mul_s64_overflow(k, e->period, &offset) ||
		pg_add_s64_overflow(anchor, offset, &next) ||
		!IS_VALID_TIMESTAMP(next))
		return DT_NOEND;
	return next;
}

TimestampTz
schedule_next_fire(const ScheduleExpr *expr, TimestampTz anchor,
				   TimestampTz after)
{
	if (expr->kind == SCHEDULE_RATE)
		return rate_next(expr, anchor, after);
	return cron_next(expr, after);
}

bool
schedule_is_rate(const ScheduleExpr *expr)
{
	return expr->kind == SCHEDULE_RATE;
}

/* validate_schedule_expression(expression): true, or the reason as an error */
Datum
eventbus_validate_schedule_expression(PG_FUNCTION_ARGS)
{
	(void) schedule_parse_or_error(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_BOOL(true);
}

typedef struct FireTimesState
{
	ScheduleExpr *expr;
	TimestampTz anchor;
	TimestampTz last;
} FireTimesState;

/*
 * schedule_fire_times(expression, after, count, anchor): the next count
 * fire times after `after`; a rate's anchor defaults to after.  NULL
 * expression, after or count: no rows.
 */
Datum
eventbus_schedule_fire_times(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	FireTimesState *state;
	TimestampTz next;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcxt;
		int32		count;

		funcctx = SRF_FIRSTCALL_INIT();
		if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
			SRF_RETURN_DONE(funcctx);
		count = PG_GETARG_INT32(2);
		if (count < 1 || count > FIRE_TIMES_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Parameter count is not valid."),
					 errdetail("The count of fire times must be between 1 and %d, not %d.",
							   FIRE_TIMES_MAX, count),
					 errhint("For more fire times, call again with the last one as after.")));

		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		state = palloc(sizeof(FireTimesState));
		state->expr = schedule_parse_or_error(text_to_cstring(PG_GETARG_TEXT_PP(0)));
		state->last = PG_GETARG_TIMESTAMPTZ(1);
		state->anchor = PG_ARGISNULL(3) ? state->last : PG_GETARG_TIMESTAMPTZ(3);
		MemoryContextSwitchTo(oldcxt);

		if (schedule_is_rate(state->expr) && TIMESTAMP_NOT_FINITE(state->anchor))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("Parameter anchor is not valid."),
					 errdetail("A rate fires at anchor + k * period, so its anchor (by default after) must be a finite time."),
					 errhint("Pass the time the schedule started as anchor.")));

		funcctx->max_calls = count;
		funcctx->user_fctx = state;
	}

	funcctx = SRF_PERCALL_SETUP();
	state = (FireTimesState *) funcctx->user_fctx;
	if (funcctx->call_cntr >= funcctx->max_calls)
		SRF_RETURN_DONE(funcctx);
	next = schedule_next_fire(state->expr, state->anchor, state->last);
	if (TIMESTAMP_IS_NOEND(next))
		SRF_RETURN_DONE(funcctx);
	state->last = next;
	SRF_RETURN_NEXT(funcctx, TimestampTzGetDatum(next));
}
