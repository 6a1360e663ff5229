/*-------------------------------------------------------------------------
 *
 * transform.c
 *	  Target input transformation: EventBridge's Input, InputPath and
 *	  InputTransformer, compiled once per target and applied per event.
 *
 * This file owns the validation of a target's input settings (what
 * put_targets refuses), their compiled form (TargetInput, see transform.h)
 * and the SQL functions eventbus.validate_target_input and
 * eventbus.transform_input.
 *
 * An InputTransformer's template is parsed at compile time by a small JSON
 * parser that also understands placeholders (<name>), both as JSON values
 * and inside strings.  The parse yields a flat list of operations that
 * mirror pushJsonbValue calls; applying the template is a walk over that
 * list that looks the variables up in the event's binary form.  The result
 * is built as jsonb directly, so it is always valid JSON: string values are
 * escaped as needed wherever they are inserted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "transform.h"

/* EventBridge's limits (API reference: Target, InputTransformer). */
#define TI_MAX_INPUT_CHARS		8192	/* Input, InputTemplate */
#define TI_MAX_PATH_CHARS		256		/* InputPath, InputPathsMap values */
#define TI_MAX_VAR_NAME_CHARS	256		/* InputPathsMap keys */
#define TI_MAX_VARIABLES		100		/* InputPathsMap entries */

/* Error details show at most this many characters of a template. */
#define TI_TEMPLATE_SHOWN_CHARS	160

/* One step of a JSON path: a member name, or an array index. */
typedef struct PathStep
{
	char	   *key;			/* NULL for an index step */
	int			keylen;
	int			index;
} PathStep;

typedef struct JsonPath
{
	int			nsteps;			/* 0: the whole event ("$") */
	PathStep   *steps;
} JsonPath;

typedef enum TemplateVarKind
{
	TVAR_PATH,					/* from InputPathsMap */
	TVAR_RULE_ARN,				/* aws.events.rule-arn */
	TVAR_RULE_NAME,				/* aws.events.rule-name */
	TVAR_INGESTION_TIME,		/* aws.events.event.ingestion-time */
	TVAR_EVENT,					/* aws.events.event: the event minus detail */
	TVAR_EVENT_JSON				/* aws.events.event.json: the whole event */
} TemplateVarKind;

typedef struct TemplateVar
{
	char	   *name;
	TemplateVarKind kind;
	JsonPath	path;			/* TVAR_PATH */
	bool		used;			/* does the template refer to it? */
} TemplateVar;

/* The predefined variables, usable without an InputPathsMap entry. */
static const struct
{
	const char *name;
	TemplateVarKind kind;
}			predefined_vars[] =
{
	{"aws.events.rule-arn", TVAR_RULE_ARN},
	{"aws.events.rule-name", TVAR_RULE_NAME},
	{"aws.events.event.ingestion-time", TVAR_INGESTION_TIME},
	{"aws.events.event", TVAR_EVENT},
	{"aws.events.event.json", TVAR_EVENT_JSON},
};

/* A piece of a template string: literal text or a variable's text. */
typedef struct StringPiece
{
	int			var;			/* index into vars, or -1 for literal text */
	char	   *text;
	int			len;
} StringPiece;

typedef enum TemplateOpKind
{
	TOP_BEGIN_OBJECT,
	TOP_END_OBJECT,
	TOP_BEGIN_ARRAY,
	TOP_END_ARRAY,
	TOP_KEY,					/* literal key, in value */
	TOP_SCALAR,					/* literal scalar, in value */
	TOP_VAR,					/* placeholder as a JSON value */
	TOP_STRING					/* string with placeholders, in pieces */
} TemplateOpKind;

/* One pushJsonbValue call of the template's output. */
typedef struct TemplateOp
{
	TemplateOpKind kind;
	JsonbIteratorToken token;	/* WJB_KEY, WJB_VALUE or WJB_ELEM; WJB_DONE
								 * for a value at the top level */
	JsonbValue	value;			/* TOP_KEY, TOP_SCALAR */
	int			var;			/* TOP_VAR */
	int			npieces;		/* TOP_STRING */
	StringPiece *pieces;
} TemplateOp;

typedef enum TargetInputKind
{
	TI_CONSTANT,				/* Input */
	TI_PATH,					/* InputPath */
	TI_TEMPLATE					/* InputTransformer */
} TargetInputKind;

struct TargetInput
{
	TargetInputKind kind;
	Jsonb	   *constant;		/* TI_CONSTANT */
	JsonPath	path;			/* TI_PATH */
	int			nvars;			/* TI_TEMPLATE */
	TemplateVar *vars;
	int			nops;
	int			maxops;
	TemplateOp *ops;
};

/* State of the template parser. */
typedef struct TemplateParser
{
	TargetInput *ti;
	const char *text;			/* the template */
	int			len;
	int			pos;			/* byte offset of the next character */
} TemplateParser;

/* The path "$": the whole event. */
static const JsonPath whole_event = {0, NULL};

/* A variable's value for one event. */
typedef struct VarValue
{
	bool		found;
	JsonbValue	value;			/* scalar, or jbvBinary */
} VarValue;

static void ti_error(const char *reason, const char *detail, const char *hint)
			pg_attribute_noreturn();

/*
 * Every refusal: "Target input is not valid. Reason: ...", SQLSTATE 22023.
 */
static void
ti_error(const char *reason, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("Target input is not valid. Reason: %s", reason),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

/* ----------------------------------------------------------------
 * JSON paths
 * ----------------------------------------------------------------
 */

/* Characters a member name of a path may hold. */
static bool
path_name_char(unsigned char c)
{
	if (c >= 0x80)
		return true;			/* non-ASCII (UTF-8) letters */
	if (c <= ' ' || c == 0x7f)
		return false;
	return strchr(".[]*\"'\\<>(),?@!=", c) == NULL;
}

/*
 * Refuse a path.  what is the subject of the reason ("InputPath", "The path
 * of InputPathsMap variable \"x\""); label introduces the path itself in
 * the detail.
 */
static void path_error(const char *what, const char *label, const char *text,
					   int len, const char *problem, const char *hint)
			pg_attribute_noreturn();

static void
path_error(const char *what, const char *label, const char *text, int len,
		   const char *problem, const char *hint)
{
	ti_error(psprintf("%s %s.", what, problem),
			 psprintf("%s: %s", label, pnstrdup(text, len)),
			 hint ? hint : "Use a JSON path such as \"$.detail.state\": \"$\" followed by \".name\" and \"[index]\" steps.");
}

/*
 * Parse a path such as "$", "$.detail", "$.detail.instance-id" or
 * "$.resources[0]" (see path_error for what and label).
 */
static void
parse_json_path(const char *text, int len, const char *what,
				const char *label, JsonPath *path)
{
	int			pos = 1;
	int			maxsteps = 4;
	int			nchars = pg_mbstrlen_with_len(text, len);

	path->nsteps = 0;
	path->steps = NULL;

	if (len == 0)
		path_error(what, label, text, len, "must not be empty", NULL);
	if (nchars > TI_MAX_PATH_CHARS)
		path_error(what, label, text, len,
				   psprintf("is longer than %d characters (it has %d)",
							TI_MAX_PATH_CHARS, nchars),
				   "EventBridge limits paths to 256 characters.");
	if (text[0] != '$')
		path_error(what, label, text, len, "must start with \"$\"", NULL);

	while (pos < len)
	{
		PathStep	step;

		CHECK_FOR_INTERRUPTS();

		if (text[pos] == '.')
		{
			int			start = ++pos;

			while (pos < len && path_name_char((unsigned char) text[pos]))
				pos++;
			if (pos < len && text[pos] == '*')
				path_error(what, label, text, len,
						   "uses a wildcard, which is not supported",
						   "Name each member, as in \"$.detail.state\".");
			if (pos == start)
				path_error(what, label, text, len,
						   psprintf("has an empty member name at character %d",
									pg_mbstrlen_with_len(text, start) + 1),
						   "Separate member names with a single \".\", as in \"$.detail.state\".");
			step.key = pnstrdup(text + start, pos - start);
			step.keylen = pos - start;
			step.index = 0;
		}
		else if (text[pos] == '[')
		{
			int64		index = 0;
			int			start = ++pos;

			while (pos < len && text[pos] >= '0' && text[pos] <= '9')
			{
				index = index * 10 + (text[pos] - '0');
				if (index > PG_INT32_MAX)
					path_error(what, label, text, len,
							   "has an array index that is too large",
							   "Array indexes go up to 2147483647.");
				pos++;
			}
			if (pos == start || pos >= len || text[pos] != ']')
				path_error(what, label, text, len,
						   psprintf("has brackets that do not hold an array index at character %d",
									pg_mbstrlen_with_len(text, start)),
						   "Brackets may only hold an array index, as in \"$.resources[0]\"; wildcards, slices, filters and quoted names are not supported.");
			pos++;
			step.key = NULL;
			step.keylen = 0;
			step.index = (int) index;
		}
		else
			path_error(what, label, text, len,
					   psprintf("has an unexpected character at character %d",
								pg_mbstrlen_with_len(text, pos) + 1),
					   "After \"$\", a path is a series of \".name\" and \"[index]\" steps; names hold letters, digits, \"-\", \"_\", \"/\" and similar characters.");

		if (path->steps == NULL)
			path->steps = palloc(maxsteps * sizeof(PathStep));
		else if (path->nsteps == maxsteps)
		{
			maxsteps *= 2;
			path->steps = repalloc(path->steps, maxsteps * sizeof(PathStep));
		}
		path->steps[path->nsteps++] = step;
	}
}

/*
 * Find the value at path in the event.  Returns false when it does not
 * exist; a container is returned as jbvBinary pointing into the event.
 */
static bool
lookup_path(const JsonPath *path, Jsonb *event, JsonbValue *result)
{
	JsonbContainer *container = &event->root;

	if (path->nsteps == 0)
	{
		if (JB_ROOT_IS_SCALAR(event))
			return JsonbExtractScalar(container, result);
		result->type = jbvBinary;
		result->val.binary.data = container;
		result->val.binary.len = VARSIZE(event) - VARHDRSZ;
		return true;
	}

	for (int i = 0; i < path->nsteps; i++)
	{
		const PathStep *step = &path->steps[i];
		JsonbValue *v;

		if (container == NULL || (container->header & JB_FSCALAR))
			return false;
		if (step->key != NULL)
		{
			if (!JsonContainerIsObject(container))
				return false;
			v = getKeyJsonValueFromContainer(container, step->key,
											 step->keylen, result);
		}
		else
		{
			if (!JsonContainerIsArray(container) ||
				step->index >= (int) JsonContainerSize(container))
				return false;
			v = getIthJsonbValueFromContainer(container, step->index);
			if (v != NULL)
				*result = *v;
		}
		if (v == NULL)
			return false;
		container = (result->type == jbvBinary) ? result->val.binary.data : NULL;
	}
	return true;
}

/* ----------------------------------------------------------------
 * Template parsing
 * ----------------------------------------------------------------
 */

static void template_error(TemplateParser *p, const char *reason,
						   const char *hint) pg_attribute_noreturn();

static void
template_error(TemplateParser *p, const char *reason, const char *hint)
{
	int			charpos = pg_mbstrlen_with_len(p->text, Min(p->pos, p->len));
	char	   *shown;

	/* a long template is shown around the error */
	if (pg_mbstrlen_with_len(p->text, p->len) <= TI_TEMPLATE_SHOWN_CHARS)
		shown = pstrdup(p->text);
	else
	{
		int			from = pg_mbcharcliplen(p->text, p->len,
											Max(0, charpos - TI_TEMPLATE_SHOWN_CHARS / 2));
		int			n = pg_mbcharcliplen(p->text + from, p->len - from,
										 TI_TEMPLATE_SHOWN_CHARS);

		shown = psprintf("%s%.*s%s",
						 from > 0 ? "..." : "",
						 n, p->text + from,
						 from + n < p->len ? "..." : "");
	}
	ti_error(psprintf("InputTemplate is not valid: %s at character %d.",
					  reason, charpos + 1),
			 psprintf("InputTemplate: %s", shown),
			 hint ? hint :
			 "The template must be JSON once its placeholders are replaced: a JSON value (object, array, string, ...) in which <name> may stand for a value or appear inside strings.");
}

static TemplateOp *
add_op(TemplateParser *p, TemplateOpKind kind, JsonbIteratorToken token)
{
	TargetInput *ti = p->ti;
	TemplateOp *op;

	if (ti->ops == NULL)
	{
		ti->maxops = 16;
		ti->ops = palloc(ti->maxops * sizeof(TemplateOp));
	}
	else if (ti->nops == ti->maxops)
	{
		ti->maxops *= 2;
		ti->ops = repalloc(ti->ops, ti->maxops * sizeof(TemplateOp));
	}
	op = &ti->ops[ti->nops++];
	memset(op, 0, sizeof(TemplateOp));
	op->kind = kind;
	op->token = token;
	op->var = -1;
	return op;
}

static void
skip_whitespace(TemplateParser *p)
{
	while (p->pos < p->len &&
		   (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
			p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
		p->pos++;
}

static bool
var_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/*
 * Length of the placeholder "<name>" at pos (including the brackets), or 0
 * when the text there is not a placeholder.
 */
static int
placeholder_length(TemplateParser *p, int pos)
{
	int			i = pos + 1;

	if (pos >= p->len || p->text[pos] != '<')
		return 0;
	while (i < p->len && var_name_char(p->text[i]))
		i++;
	if (i == pos + 1 || i >= p->len || p->text[i] != '>')
		return 0;
	return i + 1 - pos;
}

/*
 * The variable a placeholder refers to (its index in ti->vars); unknown
 * names are refused.  in_string: the placeholder is inside a JSON string.
 */
static int
resolve_placeholder(TemplateParser *p, int pos, int len, bool in_string)
{
	TargetInput *ti = p->ti;
	const char *name = p->text + pos + 1;
	int			namelen = len - 2;

	for (int i = 0; i < ti->nvars; i++)
	{
		TemplateVar *var = &ti->vars[i];

		if ((int) strlen(var->name) == namelen &&
			memcmp(var->name, name, namelen) == 0)
		{
			if (in_string &&
				(var->kind == TVAR_EVENT || var->kind == TVAR_EVENT_JSON))
				template_error(p,
							   psprintf("<%s> is inside a string", var->name),
							   "<aws.events.event> and <aws.events.event.json> stand for JSON objects: use them only as JSON values, unquoted, as in {\"event\": <aws.events.event.json>}.");
			var->used = true;
			return i;
		}
	}
	template_error(p,
				   psprintf("unknown placeholder <%s>",
							pnstrdup(name, namelen)),
				   "Define the variable in InputPathsMap, or use a predefined variable: aws.events.rule-arn, aws.events.rule-name, aws.events.event, aws.events.event.json, aws.events.event.ingestion-time.");
}

/* Append a code point, given by a \u escape, in the server encoding. */
static void
append_unicode(TemplateParser *p, StringInfo buf, pg_wchar c)
{
	char		cbuf[MAX_UNICODE_EQUIVALENT_STRING + 1];

	if (c == 0)
		template_error(p, "\\u0000 cannot be represented in jsonb", NULL);
	pg_unicode_to_server(c, (unsigned char *) cbuf);
	appendStringInfoString(buf, cbuf);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static pg_wchar
read_hex4(TemplateParser *p)
{
	pg_wchar	c = 0;

	if (p->pos + 4 > p->len)
		template_error(p, "incomplete \\u escape", NULL);
	for (int i = 0; i < 4; i++)
	{
		int			h = hex_value(p->text[p->pos + i]);

		if (h < 0)
			template_error(p, "\\u must be followed by four hexadecimal digits", NULL);
		c = (c << 4) | h;
	}
	p->pos += 4;
	return c;
}

/*
 * Parse the JSON string at p->pos (at its opening quote) into pieces of
 * literal text and placeholders.  For a key (placeholders not allowed), the
 * result is one literal piece.  Returns the number of pieces.
 */
static int
parse_string(TemplateParser *p, bool is_key, StringPiece **pieces_out)
{
	StringInfoData buf;
	StringPiece *pieces = NULL;
	int			npieces = 0;
	int			maxpieces = 0;

	Assert(p->text[p->pos] == '"');
	p->pos++;
	initStringInfo(&buf);

	for (;;)
	{
		unsigned char c;
		int			phlen = 0;
		int			var = -1;

		CHECK_FOR_INTERRUPTS();

		if (p->pos >= p->len)
			template_error(p, "unterminated string", NULL);
		c = (unsigned char) p->text[p->pos];

		if (c == '"' || (c == '<' && (phlen = placeholder_length(p, p->pos)) > 0))
		{
			if (c == '<')
			{
				if (is_key)
					template_error(p, "a placeholder cannot be used in an object key",
								   "Object keys of a template are literal text; placeholders may only stand for values.");
				var = resolve_placeholder(p, p->pos, phlen, true);
			}
			/* flush literal text, then the placeholder */
			if (npieces + 2 > maxpieces)
			{
				maxpieces = Max(4, maxpieces * 2);
				pieces = pieces ? repalloc(pieces, maxpieces * sizeof(StringPiece))
					: palloc(maxpieces * sizeof(StringPiece));
			}
			if (buf.len > 0 || (c == '"' && npieces == 0))
			{
				pieces[npieces].var = -1;
				pieces[npieces].text = pnstrdup(buf.data, buf.len);
				pieces[npieces].len = buf.len;
				npieces++;
				resetStringInfo(&buf);
			}
			if (c == '"')
			{
				p->pos++;
				break;
			}
			pieces[npieces].var = var;
			pieces[npieces].text = NULL;
			pieces[npieces].len = 0;
			npieces++;
			p->pos += phlen;
		}
		else if (c == '\\')
		{
			p->pos++;
			if (p->pos >= p->len)
				template_error(p, "unterminated string", NULL);
			c = (unsigned char) p->text[p->pos++];
			switch (c)
			{
				case '"':
				case '\\':
				case '/':
					appendStringInfoChar(&buf, (char) c);
					break;
				case 'b':
					appendStringInfoChar(&buf, '\b');
					break;
				case 'f':
					appendStringInfoChar(&buf, '\f');
					break;
				case 'n':
					appendStringInfoChar(&buf, '\n');
					break;
				case 'r':
					appendStringInfoChar(&buf, '\r');
					break;
				case 't':
					appendStringInfoChar(&buf, '\t');
					break;
				case 'u':
					{
						pg_wchar	cp = read_hex4(p);

						if (is_utf16_surrogate_first(cp))
						{
							pg_wchar	second;

							if (p->pos + 2 > p->len ||
								p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
								template_error(p, "a high surrogate \\u escape must be followed by a low surrogate", NULL);
							p->pos += 2;
							second = read_hex4(p);
							if (!is_utf16_surrogate_second(second))
								template_error(p, "a high surrogate \\u escape must be followed by a low surrogate", NULL);
							cp = surrogate_pair_to_codepoint(cp, second);
						}
						else if (is_utf16_surrogate_second(cp))
							template_error(p, "a low surrogate \\u escape must follow a high surrogate", NULL);
						append_unicode(p, &buf, cp);
						break;
					}
				default:
					p->pos--;
					template_error(p, psprintf("invalid escape \"\\%c\" in a string", c),
								   "JSON strings know the escapes \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX.");
			}
		}
		else if (c < 0x20)
			template_error(p, "control character in a string",
						   "Write control characters in strings as escapes such as \\n.");
		else
		{
			appendStringInfoChar(&buf, (char) c);
			p->pos++;
		}
	}
	pfree(buf.data);
	*pieces_out = pieces;
	return npieces;
}

/* Parse a JSON number at p->pos into a numeric. */
static Numeric
parse_number(TemplateParser *p)
{
	int			start = p->pos;
	const char *t = p->text;

	if (p->pos < p->len && t[p->pos] == '-')
		p->pos++;
	if (p->pos < p->len && t[p->pos] == '0')
		p->pos++;
	else if (p->pos < p->len && t[p->pos] >= '1' && t[p->pos] <= '9')
	{
		while (p->pos < p->len && t[p->pos] >= '0' && t[p->pos] <= '9')
			p->pos++;
	}
	else
		template_error(p, "invalid number", NULL);
	if (p->pos < p->len && t[p->pos] == '.')
	{
		p->pos++;
		if (p->pos >= p->len || t[p->pos] < '0' || t[p->pos] > '9')
			template_error(p, "invalid number", NULL);
		while (p->pos < p->len && t[p->pos] >= '0' && t[p->pos] <= '9')
			p->pos++;
	}
	if (p->pos < p->len && (t[p->pos] == 'e' || t[p->pos] == 'E'))
	{
		p->pos++;
		if (p->pos < p->len && (t[p->pos] == '+' || t[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || t[p->pos] < '0' || t[p->pos] > '9')
			template_error(p, "invalid number", NULL);
		while (p->pos < p->len && t[p->pos] >= '0' && t[p->pos] <= '9')
			p->pos++;
	}
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(pnstrdup(t + start, p->pos - start)),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

static bool
match_literal(TemplateParser *p, const char *word)
{
	int			n = strlen(word);

	if (p->len - p->pos >= n && memcmp(p->text + p->pos, word, n) == 0)
	{
		p->pos += n;
		return true;
	}
	return false;
}

/* Parse one JSON value (or placeholder) of the template into ops. */
static void
parse_value(TemplateParser *p, JsonbIteratorToken token)
{
	char		c;
	int			phlen = 0;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	skip_whitespace(p);
	if (p->pos >= p->len)
		template_error(p, "a value is missing", NULL);
	c = p->text[p->pos];

	if (c == '{')
	{
		bool		first = true;

		add_op(p, TOP_BEGIN_OBJECT, token);
		p->pos++;
		for (;;)
		{
			TemplateOp *op;
			StringPiece *pieces;

			CHECK_FOR_INTERRUPTS();
			skip_whitespace(p);
			if (p->pos < p->len && p->text[p->pos] == '}' && first)
			{
				p->pos++;
				break;
			}
			if (p->pos < p->len && p->text[p->pos] == '<' &&
				placeholder_length(p, p->pos) > 0)
				template_error(p, "a placeholder cannot be used as an object key",
							   "Object keys of a template are literal text; placeholders may only stand for values.");
			if (p->pos >= p->len || p->text[p->pos] != '"')
				template_error(p, "expected a string as object key", NULL);
			(void) parse_string(p, true, &pieces);
			op = add_op(p, TOP_KEY, WJB_KEY);
			op->value.type = jbvString;
			op->value.val.string.val = pieces[0].text;
			op->value.val.string.len = pieces[0].len;
			skip_whitespace(p);
			if (p->pos >= p->len || p->text[p->pos] != ':')
				template_error(p, "expected \":\" after an object key", NULL);
			p->pos++;
			parse_value(p, WJB_VALUE);
			skip_whitespace(p);
			first = false;
			if (p->pos < p->len && p->text[p->pos] == ',')
			{
				p->pos++;
				continue;
			}
			if (p->pos < p->len && p->text[p->pos] == '}')
			{
				p->pos++;
				break;
			}
			template_error(p, "expected \",\" or \"}\" in an object", NULL);
		}
		add_op(p, TOP_END_OBJECT, WJB_END_OBJECT);
	}
	else if (c == '[')
	{
		bool		first = true;

		add_op(p, TOP_BEGIN_ARRAY, token);
		p->pos++;
		for (;;)
		{
			CHECK_FOR_INTERRUPTS();
			skip_whitespace(p);
			if (p->pos < p->len && p->text[p->pos] == ']' && first)
			{
				p->pos++;
				break;
			}
			parse_value(p, WJB_ELEM);
			skip_whitespace(p);
			first = false;
			if (p->pos < p->len && p->text[p->pos] == ',')
			{
				p->pos++;
				continue;
			}
			if (p->pos < p->len && p->text[p->pos] == ']')
			{
				p->pos++;
				break;
			}
			template_error(p, "expected \",\" or \"]\" in an array", NULL);
		}
		add_op(p, TOP_END_ARRAY, WJB_END_ARRAY);
	}
	else if (c == '"')
	{
		StringPiece *pieces;
		int			npieces = parse_string(p, false, &pieces);

		if (npieces == 1 && pieces[0].var < 0)
		{
			TemplateOp *op = add_op(p, TOP_SCALAR, token);

			op->value.type = jbvString;
			op->value.val.string.val = pieces[0].text;
			op->value.val.string.len = pieces[0].len;
		}
		else
		{
			TemplateOp *op = add_op(p, TOP_STRING, token);

			op->npieces = npieces;
			op->pieces = pieces;
		}
	}
	else if (c == '<' && (phlen = placeholder_length(p, p->pos)) > 0)
	{
		TemplateOp *op = add_op(p, TOP_VAR, token);

		op->var = resolve_placeholder(p, p->pos, phlen, false);
		p->pos += phlen;
	}
	else if (c == '-' || (c >= '0' && c <= '9'))
	{
		TemplateOp *op = add_op(p, TOP_SCALAR, token);

		op->value.type = jbvNumeric;
		op->value.val.numeric = parse_number(p);
	}
	else
	{
		TemplateOp *op;
		JsonbValue	v;

		if (match_literal(p, "true"))
		{
			v.type = jbvBool;
			v.val.boolean = true;
		}
		else if (match_literal(p, "false"))
		{
			v.type = jbvBool;
			v.val.boolean = false;
		}
		else if (match_literal(p, "null"))
			v.type = jbvNull;
		else if (c == '<')
			template_error(p, "\"<\" does not start a placeholder",
						   "A placeholder is <name>, where name holds letters, digits, \"_\", \"-\" and \".\".");
		else if (token == WJB_DONE &&
				 ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			template_error(p, "unexpected character",
						   "A text template must be a JSON string: enclose it in double quotes, as in \"\\\"instance <instance> is in <state>\\\"\".");
		else
			template_error(p, "unexpected character", NULL);
		op = add_op(p, TOP_SCALAR, token);
		op->value = v;
	}
}

/* Compile InputTransformer: variables first, then the template. */
static void
compile_transformer(TargetInput *ti, Jsonb *transformer)
{
	JsonbValue	v;
	JsonbValue *paths = NULL;
	char	   *template = NULL;
	int			template_len = 0;
	int			npaths = 0;
	TemplateParser parser;

	if (!JB_ROOT_IS_OBJECT(transformer))
		ti_error("InputTransformer must be a JSON object.",
				 psprintf("It is a JSON %s.",
						  JB_ROOT_IS_SCALAR(transformer) ? "scalar" : "array"),
				 "Use {\"InputPathsMap\": {\"name\": \"$.path\", ...}, \"InputTemplate\": \"...\"}.");

	/* only InputPathsMap and InputTemplate */
	{
		JsonbIterator *it = JsonbIteratorInit(&transformer->root);
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			CHECK_FOR_INTERRUPTS();
			if (tok != WJB_KEY)
				continue;
			if (!((v.val.string.len == 13 &&
				   memcmp(v.val.string.val, "InputPathsMap", 13) == 0) ||
				  (v.val.string.len == 13 &&
				   memcmp(v.val.string.val, "InputTemplate", 13) == 0)))
				ti_error(psprintf("InputTransformer has an unknown field \"%s\".",
								  pnstrdup(v.val.string.val, v.val.string.len)),
						 "InputTransformer holds InputPathsMap (optional) and InputTemplate; names are case-sensitive.",
						 "Remove the field, or correct its name.");
		}
	}

	if (getKeyJsonValueFromContainer(&transformer->root, "InputTemplate", 13, &v) == NULL ||
		v.type == jbvNull)
		ti_error("InputTransformer must have an InputTemplate.",
				 "InputTemplate is required; InputPathsMap is optional.",
				 "Add \"InputTemplate\": a JSON template such as \"{\\\"state\\\": <state>}\".");
	if (v.type != jbvString)
		ti_error("InputTemplate must be a string.",
				 psprintf("It is a JSON %s.", JsonbTypeName(&v)),
				 "Write the template as a JSON string, its quotes escaped: \"{\\\"state\\\": <state>}\".");
	template = pnstrdup(v.val.string.val, v.val.string.len);
	template_len = v.val.string.len;
	if (template_len == 0)
		ti_error("InputTemplate must not be empty.",
				 "EventBridge requires at least one character.",
				 "Use a JSON template such as \"{\\\"state\\\": <state>}\".");
	if (pg_mbstrlen_with_len(template, template_len) > TI_MAX_INPUT_CHARS)
		ti_error(psprintf("InputTemplate is longer than %d characters.",
						  TI_MAX_INPUT_CHARS),
				 psprintf("The template has %d characters.",
						  pg_mbstrlen_with_len(template, template_len)),
				 "EventBridge limits templates to 8192 characters.");

	if (getKeyJsonValueFromContainer(&transformer->root, "InputPathsMap", 13, &v) != NULL &&
		v.type != jbvNull)
	{
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ti_error("InputPathsMap must be a JSON object.",
					 psprintf("It is a JSON %s.",
							  v.type == jbvBinary ? "array" : JsonbTypeName(&v)),
					 "Map variable names to JSON paths: {\"state\": \"$.detail.state\"}.");
		npaths = JsonContainerSize(v.val.binary.data);
		if (npaths > TI_MAX_VARIABLES)
			ti_error(psprintf("InputPathsMap has more than %d variables.",
							  TI_MAX_VARIABLES),
					 psprintf("It has %d.", npaths),
					 "EventBridge allows up to 100 variables per InputTransformer.");
		paths = palloc(sizeof(JsonbValue));
		*paths = v;
	}

	ti->nvars = 0;
	ti->vars = palloc0((npaths + lengthof(predefined_vars)) * sizeof(TemplateVar));

	if (paths != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(paths->val.binary.data);
		JsonbIteratorToken tok;
		JsonbValue	key = {0};

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			TemplateVar *var;
			char	   *name;

			CHECK_FOR_INTERRUPTS();
			if (tok == WJB_KEY)
			{
				key = v;
				continue;
			}
			if (tok != WJB_VALUE)
				continue;

			name = pnstrdup(key.val.string.val, key.val.string.len);
			if (key.val.string.len == 0)
				ti_error("InputPathsMap has an empty variable name.",
						 "Variable names hold 1 to 256 letters, digits, \"_\", \"-\" and \".\".",
						 "Name the variable.");
			if (key.val.string.len > TI_MAX_VAR_NAME_CHARS)
				ti_error(psprintf("An InputPathsMap variable name is longer than %d characters.",
								  TI_MAX_VAR_NAME_CHARS),
						 psprintf("The name begins \"%s\" and has %d characters.",
								  pnstrdup(name, 32), key.val.string.len),
						 "Use a shorter name.");
			for (int i = 0; i < key.val.string.len; i++)
			{
				if (!var_name_char(name[i]))
					ti_error(psprintf("InputPathsMap variable name \"%s\" is not valid.",
									  name),
							 "Variable names hold letters, digits, \"_\", \"-\" and \".\".",
							 "Rename the variable, here and in InputTemplate.");
			}
			if (pg_strncasecmp(name, "aws.", 4) == 0)
				ti_error(psprintf("InputPathsMap variable name \"%s\" is reserved.",
								  name),
						 "Names beginning with \"aws.\" belong to the predefined variables (aws.events.rule-arn, aws.events.rule-name, aws.events.event, aws.events.event.json, aws.events.event.ingestion-time).",
						 "Choose another name; the predefined variables need no InputPathsMap entry.");
			if (v.type != jbvString)
				ti_error(psprintf("InputPathsMap variable \"%s\" must be a string holding a JSON path.",
								  name),
						 psprintf("It is a JSON %s.", JsonbTypeName(&v)),
						 "Use a JSON path such as \"$.detail.state\".");

			var = &ti->vars[ti->nvars++];
			var->name = name;
			var->kind = TVAR_PATH;
			parse_json_path(v.val.string.val, v.val.string.len,
							psprintf("The path of InputPathsMap variable \"%s\"", name),
							psprintf("InputPathsMap variable \"%s\"", name),
							&var->path);
		}
	}

	for (int i = 0; i < lengthof(predefined_vars); i++)
	{
		TemplateVar *var = &ti->vars[ti->nvars++];

		var->name = (char *) predefined_vars[i].name;
		var->kind = predefined_vars[i].kind;
	}

	parser.ti = ti;
	parser.text = template;
	parser.len = template_len;
	parser.pos = 0;
	parse_value(&parser, WJB_DONE);
	skip_whitespace(&parser);
	if (parser.pos < parser.len)
	{
		char		next = parser.text[parser.pos];

		/* "<a> is in <b>" or "Instance <a> ...": meant as text */
		template_error(&parser, "text follows the template's JSON value",
					   (ti->ops[0].kind == TOP_VAR || next == '<' ||
						(next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z')) ?
					   "A text template must be a JSON string: enclose it in double quotes, as in \"\\\"instance <instance> is in <state>\\\"\"." :
					   NULL);
	}
	pfree(template);
}

/* ----------------------------------------------------------------
 * Compiling
 * ----------------------------------------------------------------
 */

TargetInput *
target_input_compile(Jsonb *input, text *input_path, Jsonb *input_transformer)
{
	TargetInput *ti;
	int			n = (input != NULL) + (input_path != NULL) +
		(input_transformer != NULL);

	if (n == 0)
		return NULL;
	if (n > 1)
		ti_error("Only one of Input, InputPath, or InputTransformer may be set.",
				 psprintf("The target sets %s.",
						  n == 3 ? "Input, InputPath and InputTransformer" :
						  input == NULL ? "InputPath and InputTransformer" :
						  input_path == NULL ? "Input and InputTransformer" :
						  "Input and InputPath"),
				 "Keep one of them; set the others to NULL.");

	ti = palloc0(sizeof(TargetInput));
	if (input != NULL)
	{
		char	   *text = JsonbToCString(NULL, &input->root, VARSIZE(input));
		int			chars = pg_mbstrlen(text);

		if (chars > TI_MAX_INPUT_CHARS)
			ti_error(psprintf("Input is longer than %d characters.",
							  TI_MAX_INPUT_CHARS),
					 psprintf("Its JSON text has %d characters.", chars),
					 "Use InputTransformer to send parts of the event, or a smaller constant.");
		pfree(text);
		ti->kind = TI_CONSTANT;
		ti->constant = palloc(VARSIZE(input));
		memcpy(ti->constant, input, VARSIZE(input));
	}
	else if (input_path != NULL)
	{
		ti->kind = TI_PATH;
		parse_json_path(VARDATA_ANY(input_path), VARSIZE_ANY_EXHDR(input_path),
						"InputPath", "InputPath", &ti->path);
	}
	else
	{
		ti->kind = TI_TEMPLATE;
		compile_transformer(ti, input_transformer);
	}
	return ti;
}

/* ----------------------------------------------------------------
 * Applying
 * ----------------------------------------------------------------
 */

static void
set_string_value(VarValue *vv, const char *s)
{
	if (s == NULL)
	{
		vv->found = false;
		return;
	}
	vv->found = true;
	vv->value.type = jbvString;
	vv->value.val.string.val = (char *) s;
	vv->value.val.string.len = strlen(s);
}

/* The event without its "detail" member, as a jbvBinary value. */
static void
event_without_detail(Jsonb *event, VarValue *vv)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;
	Jsonb	   *jb;
	bool		skip = false;

	if (!JB_ROOT_IS_OBJECT(event))
	{
		vv->found = lookup_path(&whole_event, event, &vv->value);
		return;
	}
	it = JsonbIteratorInit(&event->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		CHECK_FOR_INTERRUPTS();
		if (tok == WJB_KEY)
		{
			skip = (v.val.string.len == 6 &&
					memcmp(v.val.string.val, "detail", 6) == 0);
			if (skip)
				continue;
		}
		else if (tok == WJB_VALUE && skip)
			continue;
		res = pushJsonbValue(&state, tok,
							 (tok == WJB_BEGIN_OBJECT || tok == WJB_END_OBJECT) ? NULL : &v);
	}
	jb = JsonbValueToJsonb(res);
	vv->found = true;
	vv->value.type = jbvBinary;
	vv->value.val.binary.data = &jb->root;
	vv->value.val.binary.len = VARSIZE(jb) - VARHDRSZ;
}

/* A variable's value as text, for a placeholder inside a string. */
static void
append_value_text(StringInfo buf, const VarValue *vv)
{
	const JsonbValue *v = &vv->value;

	if (!vv->found)
		return;
	switch (v->type)
	{
		case jbvString:
			appendBinaryStringInfo(buf, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			appendStringInfoString(buf,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric))));
			break;
		case jbvBool:
			appendStringInfoString(buf, v->val.boolean ? "true" : "false");
			break;
		case jbvNull:
			appendStringInfoString(buf, "null");
			break;
		case jbvBinary:
			(void) JsonbToCString(buf, v->val.binary.data, v->val.binary.len);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

/* The JSON value of a string op, or of a placeholder op. */
static void
op_value(const TemplateOp *op, const VarValue *values, JsonbValue *out)
{
	if (op->kind == TOP_VAR)
	{
		const VarValue *vv = &values[op->var];

		if (vv->found)
			*out = vv->value;
		else
			out->type = jbvNull;
	}
	else if (op->kind == TOP_STRING)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (int i = 0; i < op->npieces; i++)
		{
			const StringPiece *piece = &op->pieces[i];

			if (piece->var < 0)
				appendBinaryStringInfo(&buf, piece->text, piece->len);
			else
				append_value_text(&buf, &values[piece->var]);
		}
		out->type = jbvString;
		out->val.string.val = buf.data;
		out->val.string.len = buf.len;
	}
	else
		*out = op->value;
}

static Jsonb *
apply_template(const TargetInput *ti, Jsonb *event, const char *rule_name,
			   const char *rule_arn, const char *ingestion_time)
{
	VarValue   *values = palloc0(ti->nvars * sizeof(VarValue));
	JsonbParseState *state = NULL;
	JsonbValue *res = NULL;
	JsonbValue	v;

	for (int i = 0; i < ti->nvars; i++)
	{
		const TemplateVar *var = &ti->vars[i];
		VarValue   *vv = &values[i];

		if (!var->used)
			continue;
		switch (var->kind)
		{
			case TVAR_PATH:
				vv->found = lookup_path(&var->path, event, &vv->value);
				break;
			case TVAR_RULE_ARN:
				set_string_value(vv, rule_arn);
				break;
			case TVAR_RULE_NAME:
				set_string_value(vv, rule_name);
				break;
			case TVAR_INGESTION_TIME:
				set_string_value(vv, ingestion_time);
				break;
			case TVAR_EVENT:
				event_without_detail(event, vv);
				break;
			case TVAR_EVENT_JSON:
				vv->found = lookup_path(&whole_event, event, &vv->value);
				break;
		}
	}

	/* a template that is a single value: no container to build */
	if (ti->nops == 1)
	{
		op_value(&ti->ops[0], values, &v);
		return JsonbValueToJsonb(&v);
	}

	for (int i = 0; i < ti->nops; i++)
	{
		const TemplateOp *op = &ti->ops[i];

		CHECK_FOR_INTERRUPTS();
		switch (op->kind)
		{
			case TOP_BEGIN_OBJECT:
				res = pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
				break;
			case TOP_END_OBJECT:
				res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
				break;
			case TOP_BEGIN_ARRAY:
				res = pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
				break;
			case TOP_END_ARRAY:
				res = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
				break;
			case TOP_KEY:
				res = pushJsonbValue(&state, WJB_KEY, (JsonbValue *) &op->value);
				break;
			case TOP_SCALAR:
			case TOP_VAR:
			case TOP_STRING:
				op_value(op, values, &v);
				res = pushJsonbValue(&state, op->token, &v);
				break;
		}
	}
	return JsonbValueToJsonb(res);
}

Jsonb *
target_input_apply(const TargetInput *ti, Jsonb *event,
				   const char *rule_name, const char *rule_arn,
				   const char *ingestion_time)
{
	MemoryContext work;
	MemoryContext caller = CurrentMemoryContext;
	Jsonb	   *result;
	Jsonb	   *copy;

	if (ti == NULL)
	{
		copy = palloc(VARSIZE(event));
		memcpy(copy, event, VARSIZE(event));
		return copy;
	}
	if (ti->kind == TI_CONSTANT)
	{
		copy = palloc(VARSIZE(ti->constant));
		memcpy(copy, ti->constant, VARSIZE(ti->constant));
		return copy;
	}

	/* work in a scratch context; only the result goes to the caller's */
	work = AllocSetContextCreate(caller, "eventbus target input",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	if (ti->kind == TI_PATH)
	{
		JsonbValue	v;

		if (!lookup_path(&ti->path, event, &v))
			v.type = jbvNull;
		result = JsonbValueToJsonb(&v);
	}
	else
		result = apply_template(ti, event, rule_name, rule_arn, ingestion_time);
	MemoryContextSwitchTo(caller);

	copy = palloc(VARSIZE(result));
	memcpy(copy, result, VARSIZE(result));
	MemoryContextDelete(work);
	return copy;
}

/* ----------------------------------------------------------------
 * SQL functions
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(eventbus_validate_target_input);
PG_FUNCTION_INFO_V1(eventbus_transform_input);

/* validate_target_input(input jsonb, input_path text, input_transformer jsonb) */
Datum
eventbus_validate_target_input(PG_FUNCTION_ARGS)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext,
											   "eventbus target input validation",
											   ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);

	(void) target_input_compile(PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0),
								PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
								PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2));
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	PG_RETURN_BOOL(true);
}

/*
 * transform_input keeps the compiled settings in fn_extra, keyed by the
 * bytes of its three arguments, so a scan with constant settings compiles
 * them once.
 */
typedef struct TransformCache
{
	MemoryContext cxt;			/* holds keys and compiled; reset on a miss */
	bool		valid;
	struct varlena *keys[3];	/* NULL: argument was NULL */
	TargetInput *compiled;
} TransformCache;

static bool
same_datum(struct varlena *cached, struct varlena *arg)
{
	if (cached == NULL || arg == NULL)
		return cached == arg;
	return VARSIZE_ANY(cached) == VARSIZE_ANY(arg) &&
		memcmp(cached, arg, VARSIZE_ANY(arg)) == 0;
}

static TargetInput *
cached_compile(FunctionCallInfo fcinfo, struct varlena *args[3])
{
	TransformCache *cache = (TransformCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   sizeof(TransformCache));
		cache->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
										   "eventbus transform_input cache",
										   ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = cache;
	}
	else if (cache->valid &&
			 same_datum(cache->keys[0], args[0]) &&
			 same_datum(cache->keys[1], args[1]) &&
			 same_datum(cache->keys[2], args[2]))
		return cache->compiled;

	MemoryContextReset(cache->cxt);
	cache->valid = false;
	old = MemoryContextSwitchTo(cache->cxt);
	for (int i = 0; i < 3; i++)
	{
		cache->keys[i] = NULL;
		if (args[i] != NULL)
		{
			cache->keys[i] = palloc(VARSIZE_ANY(args[i]));
			memcpy(cache->keys[i], args[i], VARSIZE_ANY(args[i]));
		}
	}
	cache->compiled = target_input_compile((Jsonb *) args[0],
										   (text *) args[1],
										   (Jsonb *) args[2]);
	cache->valid = true;
	MemoryContextSwitchTo(old);
	return cache->compiled;
}

/*
 * transform_input(event jsonb, input jsonb, input_path text,
 *				   input_transformer jsonb, rule_name text, rule_arn text)
 */
Datum
eventbus_transform_input(PG_FUNCTION_ARGS)
{
	Jsonb	   *event;
	struct varlena *args[3];
	TargetInput *ti;
	char	   *rule_name = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	char	   *rule_arn = PG_ARGISNULL(5) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(5));
	char	   *ingestion_time = NULL;
	JsonbValue	v;

	/* settings are checked even when there is no event */
	args[0] = PG_ARGISNULL(1) ? NULL : (struct varlena *) PG_GETARG_JSONB_P(1);
	args[1] = PG_ARGISNULL(2) ? NULL : (struct varlena *) PG_GETARG_TEXT_PP(2);
	args[2] = PG_ARGISNULL(3) ? NULL : (struct varlena *) PG_GETARG_JSONB_P(3);
	ti = cached_compile(fcinfo, args);

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	event = PG_GETARG_JSONB_P(0);

	/* no ingestion time here: the event's "time" stands for it */
	if (JB_ROOT_IS_OBJECT(event) &&
		getKeyJsonValueFromContainer(&event->root, "time", 4, &v) != NULL &&
		v.type == jbvString)
		ingestion_time = pnstrdup(v.val.string.val, v.val.string.len);

	PG_RETURN_JSONB_P(target_input_apply(ti, event, rule_name, rule_arn,
										 ingestion_time));
}
