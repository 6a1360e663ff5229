/*-------------------------------------------------------------------------
 *
 * transform_template.c
 *	  The parser of an InputTransformer's InputTemplate.
 *
 * The template is parsed by a small JSON parser that also understands
 * placeholders (<name>), both as JSON values and inside strings.  The parse
 * yields a flat list of operations (TemplateOp, see transform.h) that
 * mirror pushJsonbValue calls; transform_apply.c walks that list for each
 * event.  A template that is not JSON once its placeholders are replaced,
 * or that names an unknown variable, is refused here with transform_error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "transform.h"

/* Error details show at most this many characters of a template. */
#define TI_TEMPLATE_SHOWN_CHARS	160

/* State of the template parser. */
typedef struct TemplateParser
{
	TargetInput *ti;
	const char *text;			/* the template */
	int			len;
	int			pos;			/* byte offset of the next character */
} TemplateParser;

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
	transform_error(psprintf("InputTemplate is not valid: %s at character %d.",
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

bool
transform_var_name_char(char c)
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
	while (i < p->len && transform_var_name_char(p->text[i]))
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

/*
 * Parse the template into ti's ops; ti's variables are already set.
 */
void
transform_parse_template(TargetInput *ti, const char *template,
						 int template_len)
{
	TemplateParser parser;

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
}
