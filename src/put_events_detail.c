/*-------------------------------------------------------------------------
 *
 * put_events_detail.c
 *	  The Detail of a PutEvents entry given as JSON text.
 *
 * This file owns the checks of such a Detail: a pre-scan of the text for
 * EventBridge's nesting limit and for numbers that jsonb could not store
 * (before anything is parsed), then its syntax, and that it is a JSON
 * object.  A Detail that fails them is refused with MalformedDetail.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "put_events.h"

/* EventBridge: "PutEvents will only process nested JSON up to 1000 levels deep" */
#define MAX_DETAIL_DEPTH		1000

/*
 * Digits allowed in a number of a Detail given as a JSON string, before and
 * after the decimal point, and the largest exponent: far beyond EventBridge's
 * 64-bit integers, and well inside what jsonb's numeric can store.
 */
#define MAX_NUMBER_DIGITS		1000
#define MAX_NUMBER_EXPONENT		1000

/*
 * Limits of a Detail given as JSON text, checked before it is parsed:
 * nesting depth, and the size of numbers (jsonb stores them as numeric,
 * whose input raises an error past its range).  Does not validate the
 * syntax; the JSON parser does that next.
 */
static bool
detail_text_within_limits(const char *s, int len, const char **why)
{
	int			depth = 0;
	bool		in_string = false;

	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c)
		{
			case '"':
				in_string = true;
				break;
			case '{':
			case '[':
				if (++depth > MAX_DETAIL_DEPTH)
				{
					*why = "Detail is nested more than 1000 levels deep.";
					return false;
				}
				break;
			case '}':
			case ']':
				depth--;
				break;
			case '-':
			case '0':
			case '1':
			case '2':
			case '3':
			case '4':
			case '5':
			case '6':
			case '7':
			case '8':
			case '9':
				{
					int			j = i;
					int			intdigits = 0;
					int			fracdigits = 0;
					int			exponent = 0;

					if (s[j] == '-')
						j++;
					for (; j < len && isdigit((unsigned char) s[j]); j++)
						intdigits++;
					if (j < len && s[j] == '.')
						for (j++; j < len && isdigit((unsigned char) s[j]); j++)
							fracdigits++;
					if (j < len && (s[j] == 'e' || s[j] == 'E'))
					{
						j++;
						if (j < len && (s[j] == '+' || s[j] == '-'))
							j++;
						for (; j < len && isdigit((unsigned char) s[j]); j++)
						{
							if (exponent <= MAX_NUMBER_EXPONENT)
								exponent = exponent * 10 + (s[j] - '0');
						}
					}
					if (intdigits > MAX_NUMBER_DIGITS ||
						fracdigits > MAX_NUMBER_DIGITS ||
						exponent > MAX_NUMBER_EXPONENT)
					{
						*why = "Detail holds a number with more than 1000 digits or an exponent beyond 1000.";
						return false;
					}
					i = j - 1;
				}
				break;
			default:
				break;
		}
	}
	return true;
}

/*
 * Detail given as JSON text: must parse to a JSON object.  Returns the
 * jsonb, or NULL with err set.
 */
Jsonb *
put_events_detail_from_text(const char *s, int len, EntryError *err)
{
	const char *why = NULL;
	JsonLexContext *lex;
	int			i;
	char	   *cstr;

	if (!detail_text_within_limits(s, len, &why))
	{
		put_events_set_malformed_detail(err, why);
		return NULL;
	}

	cstr = pnstrdup(s, len);
	lex = makeJsonLexContextCstringLen(cstr, len, GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
	{
		put_events_set_malformed_detail(err, "Detail is not valid JSON.");
		return NULL;
	}
	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			break;
	if (i >= len || s[i] != '{')
	{
		put_events_set_malformed_detail(err, "Detail is valid JSON but not a JSON object.");
		return NULL;
	}
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(cstr)));
}
