/*-------------------------------------------------------------------------
 *
 * put_events_detail.c
 *	  The Detail of a PutEvents entry given as JSON text.
 *
 * This file owns the checks of such a Detail: a pre-scan of the text for
 * EventBridge's nesting limit and for numbers that jsonb could not store
 * (before anything is parsed), then its syntax, and that it is a JSON
 * object.  A Detail that fails them is refused with MalformedDetail.
 * The text is parsed once, into the jsonb stored.
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
#include "utils/numeric.h"

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
 * The Detail's text is parsed once, straight into the jsonb that is stored
 * (and matched): the semantic actions below build it as jsonb_in would,
 * and a syntax error comes back from pg_parse_json as a code, so that the
 * entry can be refused on its own without a second, validating pass.
 */
typedef struct DetailParseState
{
	JsonbParseState *parse;
	JsonbValue *result;
	bool		scalar_root;	/* the text is a bare scalar */
} DetailParseState;

#if PG_VERSION_NUM >= 160000
#define SEM_RETURN			JsonParseErrorType
#define SEM_DONE			return JSON_SUCCESS
#else
#define SEM_RETURN			void
#define SEM_DONE			return
#endif

/* jsonb's limit on the length of a string (jsonb.c's checkStringLen) */
static size_t
detail_string_len(size_t len)
{
	if (len > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("string too long to represent as jsonb string"),
				 errdetail("Due to an implementation restriction, jsonb strings cannot exceed %d bytes.",
						   JENTRY_OFFLENMASK)));
	return len;
}

static SEM_RETURN
detail_object_start(void *arg)
{
	DetailParseState *st = arg;

	st->result = pushJsonbValue(&st->parse, WJB_BEGIN_OBJECT, NULL);
	SEM_DONE;
}

static SEM_RETURN
detail_object_end(void *arg)
{
	DetailParseState *st = arg;

	st->result = pushJsonbValue(&st->parse, WJB_END_OBJECT, NULL);
	SEM_DONE;
}

static SEM_RETURN
detail_array_start(void *arg)
{
	DetailParseState *st = arg;

	st->result = pushJsonbValue(&st->parse, WJB_BEGIN_ARRAY, NULL);
	SEM_DONE;
}

static SEM_RETURN
detail_array_end(void *arg)
{
	DetailParseState *st = arg;

	st->result = pushJsonbValue(&st->parse, WJB_END_ARRAY, NULL);
	SEM_DONE;
}

static SEM_RETURN
detail_field_start(void *arg, char *fname, bool isnull)
{
	DetailParseState *st = arg;
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.len = detail_string_len(strlen(fname));
	k.val.string.val = fname;
	st->result = pushJsonbValue(&st->parse, WJB_KEY, &k);
	SEM_DONE;
}

static SEM_RETURN
detail_scalar(void *arg, char *token, JsonTokenType tokentype)
{
	DetailParseState *st = arg;
	JsonbValue	v;

	if (st->parse == NULL)
	{
		/* a bare scalar: refused, never stored */
		st->scalar_root = true;
		SEM_DONE;
	}
	switch (tokentype)
	{
		case JSON_TOKEN_STRING:
			v.type = jbvString;
			v.val.string.len = detail_string_len(strlen(token));
			v.val.string.val = token;
			break;
		case JSON_TOKEN_NUMBER:
			/* the pre-scan bounded its digits and exponent */
			v.type = jbvNumeric;
			v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
																CStringGetDatum(token),
																ObjectIdGetDatum(InvalidOid),
																Int32GetDatum(-1)));
			break;
		case JSON_TOKEN_TRUE:
			v.type = jbvBool;
			v.val.boolean = true;
			break;
		case JSON_TOKEN_FALSE:
			v.type = jbvBool;
			v.val.boolean = false;
			break;
		case JSON_TOKEN_NULL:
			v.type = jbvNull;
			break;
		default:
			elog(ERROR, "unexpected JSON token type %d in a Detail", (int) tokentype);
	}
	st->result = pushJsonbValue(&st->parse,
								st->parse->contVal.type == jbvArray ? WJB_ELEM : WJB_VALUE,
								&v);
	SEM_DONE;
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
	JsonSemAction sem;
	DetailParseState st;
	char	   *cstr;

	if (!detail_text_within_limits(s, len, &why))
	{
		put_events_set_malformed_detail(err, why);
		return NULL;
	}

	cstr = pnstrdup(s, len);
	lex = makeJsonLexContextCstringLen(cstr, len, GetDatabaseEncoding(), true);
	memset(&st, 0, sizeof(st));
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &st;
	sem.object_start = detail_object_start;
	sem.object_end = detail_object_end;
	sem.array_start = detail_array_start;
	sem.array_end = detail_array_end;
	sem.object_field_start = detail_field_start;
	sem.scalar = detail_scalar;
	if (pg_parse_json(lex, &sem) != JSON_SUCCESS)
	{
		put_events_set_malformed_detail(err, "Detail is not valid JSON.");
		return NULL;
	}
	if (st.scalar_root || st.result == NULL || st.result->type != jbvObject)
	{
		put_events_set_malformed_detail(err, "Detail is valid JSON but not a JSON object.");
		return NULL;
	}
	return JsonbValueToJsonb(st.result);
}
