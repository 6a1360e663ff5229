/*-------------------------------------------------------------------------
 *
 * pattern_compile.c
 *	  Validation and compilation of EventBridge event patterns.
 *
 * A pattern is validated while it is compiled, in one walk over its jsonb
 * binary form, so that no invalid pattern can ever be used or stored.  The
 * compiler never throws for a bad pattern: it fills a PatternError and
 * returns NULL, and pattern_report_error() turns that into the error users
 * see, "Event pattern is not valid. Reason: ...", SQLSTATE 22023.  The
 * reasons are EventBridge's own texts where the service's are known.
 *
 * After the walk, three passes give the tree EventBridge's meaning:
 *	- field names are split at their dots while the tree is built, so that
 *	  "a.b" and {"a": {"b": ...}} land on the same field (when one path is
 *	  given two lists at one $or depth, both must hold);
 *	- every $or is distributed into the nodes that enclose it, so that each
 *	  alternative is one tree: a branch's field replaces, for that branch,
 *	  the same field named outside the $or, and all the fields of one
 *	  alternative below an array come from the same element (EventBridge
 *	  expands $or into separate rules, each branch's fields overriding the
 *	  ones already collected); see distribute_ors();
 *	- fields with {"exists": false} learn their path from the root, since
 *	  absence is judged over the whole event;
 * and a final check bounds the rule's wildcard complexity as EventBridge
 * does (see check_complexity()).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "eventbus.h"
#include "pattern.h"

/* a '*' among a wildcard's tokens; other tokens are bytes */
#define WILDCARD_STAR 256

/* complexity evaluation gives up (refusing the rule) past this many states */
#define COMPLEXITY_MAX_STATES 100000

typedef struct CompileState
{
	PatternError *error;
	StringInfoData path;		/* dotted path of the key being compiled */
	const char *key;			/* the key being compiled, NULL at the top */
	int			or_depth;		/* > 0 inside a $or branch */
	bool		stored;			/* a stored rule: only what 0.1.0 refused */
} CompileState;

static bool compile_node(CompileState *state, JsonbContainer *object,
						 PatternNode *into);
static bool compile_condition(CompileState *state, JsonbContainer *object,
							  PatternCond *cond);

/* Field names EventBridge reserves inside $or. */
static const char *const or_reserved_names[] = {
	"exactly", "equals-ignore-case", "prefix", "suffix", "anything-but",
	"exists", "wildcard", "numeric", "cidr", "=", "<", "<=", ">", ">=",
	"regex", "not-wildcard", "not-equals-ignore-case", "date-after",
	"date-on-or-after", "date-before", "date-on-or-before", "in-date-range",
	"ip-address-in-range", "ip-address-not-in-range"
};

/*
 * Record why the pattern is invalid; always returns false so callers can
 * "return fail(...)".
 */
static bool
fail(CompileState *state, const char *fmt,...)
	pg_attribute_printf(2, 3);

static bool
fail(CompileState *state, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	state->error->reason = buf.data;
	state->error->path = pstrdup(state->path.data);
	return false;
}

static bool
is_object(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static bool
is_array(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

static char *
string_of(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static Numeric
numeric_of(JsonbValue *v)
{
	return DatumGetNumericCopy(NumericGetDatum(v->val.numeric));
}

/*
 * A JSON value as EventBridge's parser names its first token, for reasons
 * such as "Invalid member in numeric match: 5".  NULL (no value) is "]".
 */
static const char *
token_text(JsonbValue *v)
{
	if (v == NULL)
		return "]";
	switch (v->type)
	{
		case jbvString:
			return string_of(v);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		case jbvNull:
			return "null";
		default:
			return is_array(v) ? "[" : "{";
	}
}

/*
 * The elements of an array container as JsonbValues (nested containers as
 * jbvBinary), in a List of palloc'd values.
 */
static List *
array_elements(JsonbContainer *array)
{
	JsonbIterator *it = JsonbIteratorInit(array);
	JsonbValue	v;
	JsonbIteratorToken tok;
	List	   *result = NIL;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM)
		{
			JsonbValue *copy = palloc(sizeof(JsonbValue));

			*copy = v;
			result = lappend(result, copy);
		}
	}
	return result;
}

/* Object pairs: parallel lists of key strings and values. */
static void
object_pairs(JsonbContainer *object, List **keys, List **values)
{
	JsonbIterator *it = JsonbIteratorInit(object);
	JsonbValue	v;
	JsonbIteratorToken tok;

	*keys = NIL;
	*values = NIL;
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			*keys = lappend(*keys, string_of(&v));
		else if (tok == WJB_VALUE)
		{
			JsonbValue *copy = palloc(sizeof(JsonbValue));

			*copy = v;
			*values = lappend(*values, copy);
		}
	}
}

static void
push_key(CompileState *state, const char *key)
{
	if (state->key != NULL)
		appendStringInfoChar(&state->path, '.');
	appendStringInfoString(&state->path, key);
}

static void
pop_key(CompileState *state, int saved_len)
{
	state->path.len = saved_len;
	state->path.data[saved_len] = '\0';
}

/*
 * The reason for keys after the first one of a match condition, as
 * EventBridge words it for that operator.
 */
static bool
fail_extra_keys(CompileState *state, const char *op)
{
	if (strcmp(op, "numeric") == 0 || strcmp(op, "anything-but") == 0)
		return fail(state, "Too many elements in numeric expression");
	return fail(state, "Only one key allowed in match expression");
}

/*
 * The operator of a condition object: EventBridge reads its keys in the
 * order written and judges the first, then refuses any other; jsonb keeps
 * no order, so the first key (in jsonb's order) that is one of the names
 * allowed here is taken, else the first key.
 */
static int
primary_key(List *keys, const char *const *names, int nnames)
{
	for (int i = 0; i < list_length(keys); i++)
		for (int k = 0; k < nnames; k++)
			if (strcmp(list_nth(keys, i), names[k]) == 0)
				return i;
	return 0;
}

static const char *const operator_names[] = {
	"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but",
	"numeric", "exists", "cidr"
};
static const char *const anything_but_names[] = {
	"equals-ignore-case", "prefix", "suffix", "wildcard"
};
static const char *const affix_names[] = {"equals-ignore-case"};

/* ---------------------------------------------------------------------
 * The tree
 * ---------------------------------------------------------------------
 */

static PatternNode *
new_node(void)
{
	return palloc0(sizeof(PatternNode));
}

/* The field of node named seg, created when missing. */
static PatternField *
node_field(PatternNode *node, const char *seg, int seglen)
{
	PatternField *f;

	for (int i = 0; i < node->nfields; i++)
	{
		f = &node->fields[i];
		if (f->keylen == seglen && memcmp(f->key, seg, seglen) == 0)
			return f;
	}
	if (node->nfields == node->fieldcap)
	{
		node->fieldcap = node->fieldcap ? node->fieldcap * 2 : 4;
		node->fields = node->fields ?
			repalloc(node->fields, sizeof(PatternField) * node->fieldcap) :
			palloc(sizeof(PatternField) * node->fieldcap);
	}
	f = &node->fields[node->nfields++];
	memset(f, 0, sizeof(PatternField));
	f->key = pnstrdup(seg, seglen);
	f->keylen = seglen;
	return f;
}

/*
 * The field at a dotted name below node: every segment but the last is a
 * nested node, created as needed.
 */
static PatternField *
path_field(PatternNode *node, const char *name, int len)
{
	for (;;)
	{
		const char *dot = memchr(name, '.', len);
		PatternField *f;

		if (dot == NULL)
			return node_field(node, name, len);
		f = node_field(node, name, dot - name);
		if (f->child == NULL)
			f->child = new_node();
		node = f->child;
		len -= (dot - name) + 1;
		name = dot + 1;
	}
}

static void
node_add_or(PatternNode *node, PatternOr *or)
{
	if (node->nors == node->orcap)
	{
		node->orcap = node->orcap ? node->orcap * 2 : 2;
		node->ors = node->ors ?
			repalloc(node->ors, sizeof(PatternOr) * node->orcap) :
			palloc(sizeof(PatternOr) * node->orcap);
	}
	node->ors[node->nors++] = *or;
}

/* ---------------------------------------------------------------------
 * Conditions
 * ---------------------------------------------------------------------
 */

/*
 * The characters of a case-insensitive operand with their simple case
 * mappings, from Unicode's tables rather than the database's locale.
 */
static void
compile_ignore_case(JsonbValue *v, PatternCond *cond)
{
	const unsigned char *s = (const unsigned char *) v->val.string.val;
	int			len = v->val.string.len;
	int			n = 0;

	cond->str = string_of(v);
	cond->len = len;
	if (GetDatabaseEncoding() != PG_UTF8 && GetDatabaseEncoding() != PG_SQL_ASCII)
	{
		s = (const unsigned char *) pg_server_to_any((const char *) s, len, PG_UTF8);
		len = strlen((const char *) s);
	}
	cond->chars = palloc(sizeof(uint32[3]) * Max(len, 1));
	for (int i = 0; i < len;)
	{
		uint32		cp;

		i += unicode_utf8_decode(s + i, len - i, &cp);
		cond->chars[n][0] = cp;
		unicode_simple_case(cp, &cond->chars[n][1], &cond->chars[n][2]);
		n++;
	}
	cond->nchars = n;
}

/* prefix / suffix: a string, or {"equals-ignore-case": "..."}. */
static bool
compile_affix(CompileState *state, const char *op, JsonbValue *v,
			  PatternCond *cond, bool *ignore_case)
{
	*ignore_case = false;
	if (v->type == jbvString)
	{
		cond->str = string_of(v);
		cond->len = v->val.string.len;
		return true;
	}
	if (is_object(v))
	{
		List	   *keys;
		List	   *values;
		JsonbValue *inner;
		int			k;

		object_pairs(v->val.binary.data, &keys, &values);
		if (keys == NIL)
			return fail(state, "%s expression name not found",
						op[0] == 'p' ? "Prefix" : "Suffix");
		k = primary_key(keys, affix_names, lengthof(affix_names));
		if (strcmp(list_nth(keys, k), "equals-ignore-case") != 0)
			return fail(state, "Unsupported %s pattern: %s", op,
						(char *) list_nth(keys, k));
		inner = list_nth(values, k);
		if (inner->type != jbvString)
			return fail(state, "equals-ignore-case match pattern must be a string");
		if (list_length(keys) > 1)
			return fail(state, "Only one key allowed in match expression");
		compile_ignore_case(inner, cond);
		*ignore_case = true;
		return true;
	}
	return fail(state, "%s match pattern must be a string", op);
}

/*
 * Split a wildcard value at its unescaped stars.  Positions in reasons
 * count bytes as EventBridge does, from 1 (its parser sees the value with
 * its opening quote).
 */
static bool
compile_wildcard(CompileState *state, JsonbValue *v, PatternCond *cond)
{
	const char *s;
	int			len;
	int			nstars = 0;
	StringInfoData piece;
	List	   *pieces = NIL;
	PatternWildcard *wc;
	int			npieces;
	int			first;
	int			last;

	if (v->type != jbvString)
		return fail(state, "wildcard match pattern must be a string");
	s = v->val.string.val;
	len = v->val.string.len;

	initStringInfo(&piece);
	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '\\')
		{
			if (i + 1 >= len || (s[i + 1] != '*' && s[i + 1] != '\\'))
				return fail(state, "Invalid escape character at pos %d", i + 1);
			appendStringInfoChar(&piece, s[i + 1]);
			i++;
		}
		else if (c == '*')
		{
			if (i + 1 < len && s[i + 1] == '*')
				return fail(state, "Consecutive wildcard characters at pos %d", i + 1);
			nstars++;
			pieces = lappend(pieces, pnstrdup(piece.data, piece.len));
			resetStringInfo(&piece);
		}
		else
			appendStringInfoChar(&piece, c);
	}
	pieces = lappend(pieces, pnstrdup(piece.data, piece.len));

	wc = palloc0(sizeof(PatternWildcard));
	npieces = list_length(pieces);
	first = 0;
	last = npieces - 1;
	if (nstars > 0)
	{
		wc->leading_star = (strlen(list_nth(pieces, 0)) == 0);
		wc->trailing_star = (strlen(list_nth(pieces, npieces - 1)) == 0);
		if (wc->leading_star)
			first++;
		if (wc->trailing_star)
			last--;
	}
	wc->nsegments = Max(last - first + 1, 0);
	wc->segments = palloc(sizeof(char *) * Max(wc->nsegments, 1));
	wc->seglens = palloc(sizeof(int) * Max(wc->nsegments, 1));
	for (int i = first; i <= last; i++)
	{
		wc->segments[i - first] = list_nth(pieces, i);
		wc->seglens[i - first] = strlen(list_nth(pieces, i));
	}
	cond->kind = PCOND_WILDCARD;
	cond->wildcard = wc;
	cond->str = pnstrdup(s, len);
	cond->len = len;
	return true;
}

static int
numeric_compare(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/*
 * numeric: ["=", n], [">" or ">=", n], ["<" or "<=", n], or a lower bound
 * followed by an upper bound, checked in EventBridge's order so that the
 * reasons are the service's.
 */
static bool
compile_numeric(CompileState *state, JsonbValue *v, PatternCond *cond)
{
	List	   *elems;
	int			n;
	JsonbValue *opv;
	JsonbValue *numv;
	char	   *op;

	if (!is_array(v))
		return fail(state, "Value of numeric must be an array.");
	elems = array_elements(v->val.binary.data);
	n = list_length(elems);
	opv = n > 0 ? linitial(elems) : NULL;
	if (opv == NULL || opv->type != jbvString)
		return fail(state, "Invalid member in numeric match: %s", token_text(opv));
	op = string_of(opv);
	numv = n > 1 ? lsecond(elems) : NULL;
	cond->kind = PCOND_NUMERIC;

	if (strcmp(op, "=") == 0)
	{
		if (numv == NULL || numv->type != jbvNumeric)
			return fail(state, "Value of equals must be numeric");
		if (n > 2)
			return fail(state, "Too many elements in numeric expression");
		cond->lower = cond->upper = numeric_of(numv);
		cond->lower_inclusive = cond->upper_inclusive = true;
		return true;
	}
	if (strcmp(op, ">") == 0 || strcmp(op, ">=") == 0)
	{
		JsonbValue *op2v;
		JsonbValue *topv;
		char	   *op2;

		if (numv == NULL || numv->type != jbvNumeric)
			return fail(state, "Value of %s must be numeric", op);
		cond->lower = numeric_of(numv);
		cond->lower_inclusive = (op[1] == '=');
		if (n == 2)
			return true;
		op2v = list_nth(elems, 2);
		if (op2v->type != jbvString)
			return fail(state, "Bad value in numeric range: %s", token_text(op2v));
		op2 = string_of(op2v);
		if (strcmp(op2, "<") != 0 && strcmp(op2, "<=") != 0)
			return fail(state, "Bad numeric range operator: %s", op2);
		topv = n > 3 ? list_nth(elems, 3) : NULL;
		if (topv == NULL || topv->type != jbvNumeric)
			return fail(state, "Value of %s must be numeric", op2);
		if (n > 4)
			return fail(state, "Too many terms in numeric range expression");
		cond->upper = numeric_of(topv);
		cond->upper_inclusive = (op2[1] == '=');
		if (numeric_compare(cond->lower, cond->upper) >= 0)
			return fail(state, "Bottom must be less than top");
		return true;
	}
	if (strcmp(op, "<") == 0 || strcmp(op, "<=") == 0)
	{
		if (numv == NULL || numv->type != jbvNumeric)
			return fail(state, "Value of %s must be numeric", op);
		if (n > 2)
			return fail(state, "Too many elements in numeric expression");
		cond->upper = numeric_of(numv);
		cond->upper_inclusive = (op[1] == '=');
		return true;
	}
	return fail(state, "Unrecognized numeric range operator: %s", op);
}

/* Java's Integer.parseInt: an optional sign, then decimal digits. */
static bool
parse_java_int(const char *s, long *result)
{
	const char *p = s;
	bool		neg = false;
	long		v = 0;

	if (*p == '+' || *p == '-')
		neg = (*p++ == '-');
	if (*p == '\0')
		return false;
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
		if (v > (long) PG_INT32_MAX + 1)
			return false;
	}
	if (!neg && v > PG_INT32_MAX)
		return false;
	*result = neg ? -v : v;
	return true;
}

/* Does s match the regular expression [set]* entirely (set given as a test)? */
static bool
looks_like_ipv4(const char *s)
{
	int			groups = 0;
	int			digits = 0;

	for (; *s; s++)
	{
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s == '.' && digits > 0 && groups < 3)
		{
			groups++;
			digits = 0;
		}
		else
			return false;
	}
	return groups == 3 && digits > 0;
}

static bool
looks_like_ipv6(const char *s)
{
	bool		colon = false;

	for (; *s; s++)
	{
		if (*s == ':')
			colon = true;
		else if (!isxdigit((unsigned char) *s))
			return false;
	}
	return colon;
}

/*
 * cidr: "address/bits", checked in EventBridge's order (one '/', an
 * integer mask, a literal address).  Unlike EventBridge, /32 (IPv4) and
 * /128 (IPv6) are accepted: a block of one address.
 */
static bool
compile_cidr(CompileState *state, JsonbValue *v, PatternCond *cond)
{
	char	   *text;
	char	   *addr;
	char	   *mask;
	char	   *slash;
	long		bits;
	int			maxbits;
	int			nparts;

	if (v->type != jbvString)
		return fail(state, "prefix match pattern must be a string");
	text = string_of(v);

	/* Java's String.split("/"): trailing empty parts are dropped */
	addr = pstrdup(text);
	{
		int			end = strlen(addr);

		while (end > 0 && addr[end - 1] == '/')
			addr[--end] = '\0';
		nparts = (end > 0) ? 1 : 0;
		for (int i = 0; i < end; i++)
			if (addr[i] == '/')
				nparts++;
	}
	if (nparts != 2)
		return fail(state, "Malformed CIDR, one '/' required");
	slash = strchr(addr, '/');
	*slash = '\0';
	mask = slash + 1;
	if (!parse_java_int(mask, &bits))
		return fail(state, "Malformed CIDR, mask bits must be an integer");
	if (bits < 0)
		return fail(state, "Malformed CIDR, mask bits must not be negative");

	if (!looks_like_ipv4(addr) && !looks_like_ipv6(addr))
		return fail(state, "Nonstandard IP address: %s", addr);
	if (inet_pton(AF_INET, addr, cond->network) == 1)
	{
		cond->family = 4;
		maxbits = 32;
	}
	else if (inet_pton(AF_INET6, addr, cond->network) == 1)
	{
		cond->family = 6;
		maxbits = 128;
	}
	else
		return fail(state, "Invalid IP address: %s", addr);
	if (bits > maxbits)
		return fail(state, "IPv%d mask bits must be < %d", cond->family, maxbits);
	cond->prefix_bits = (int) bits;

	/* Clear host bits so matching compares whole bytes. */
	for (int i = 0; i < maxbits / 8; i++)
	{
		int			keep = cond->prefix_bits - i * 8;

		if (keep <= 0)
			cond->network[i] = 0;
		else if (keep < 8)
			cond->network[i] &= (unsigned char) (0xFF << (8 - keep));
	}
	cond->kind = PCOND_CIDR;
	cond->str = text;
	cond->len = strlen(text);
	return true;
}

static void
exact_value(JsonbValue *e, PatternCond *n)
{
	if (e->type == jbvString)
	{
		n->kind = PCOND_STRING;
		n->str = string_of(e);
		n->len = e->val.string.len;
	}
	else
	{
		n->kind = PCOND_NUMBER;
		n->number = numeric_of(e);
	}
}

/*
 * anything-but: a string or number, a list of strings or of numbers, or an
 * equals-ignore-case / prefix / suffix / wildcard object whose value is a
 * string or a list of strings.
 */
static bool
compile_anything_but(CompileState *state, JsonbValue *v, PatternCond *cond)
{
	const char *op = NULL;
	bool		extra_keys = false;
	List	   *operands;
	ListCell   *lc;
	int			i = 0;

	cond->kind = PCOND_ANYTHING_BUT;
	if (is_object(v))
	{
		List	   *keys;
		List	   *values;
		int			k;

		object_pairs(v->val.binary.data, &keys, &values);
		if (keys == NIL)
			return fail(state, "Anything-But expression name not found");
		k = primary_key(keys, anything_but_names, lengthof(anything_but_names));
		op = list_nth(keys, k);
		if (strcmp(op, "equals-ignore-case") != 0 && strcmp(op, "prefix") != 0 &&
			strcmp(op, "suffix") != 0 && strcmp(op, "wildcard") != 0)
			return fail(state, "Unsupported anything-but pattern: %s", op);
		v = list_nth(values, k);
		extra_keys = list_length(keys) > 1;
	}
	if (!is_array(v) && v->type != jbvString && v->type != jbvNumeric)
		return fail(state, "Value of anything-but must be an array or single string/number value.");
	operands = is_array(v) ? array_elements(v->val.binary.data) : list_make1(v);

	if (op == NULL)
	{
		bool		has_string = false;
		bool		has_number = false;

		foreach(lc, operands)
		{
			JsonbValue *e = lfirst(lc);

			if (e->type == jbvString)
				has_string = true;
			else if (e->type == jbvNumeric)
				has_number = true;
			else
				return fail(state, "Inside anything but list, start|null|boolean is not supported.");
		}
		if (has_string == has_number)
			return fail(state, "Inside anything but list, either all values are number or string, mixed type is not supported");
	}
	else
	{
		foreach(lc, operands)
		{
			JsonbValue *e = lfirst(lc);

			if (e->type != jbvString)
			{
				if (op[0] == 'e')
					return fail(state, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.");
				if (op[0] == 'w')
					return fail(state, "wildcard match pattern must be a string");
				return fail(state, "prefix/suffix match pattern must be a string");
			}
			if ((op[0] == 'p' || op[0] == 's') && e->val.string.len == 0 &&
				!state->stored)
				return fail(state, "Null prefix/suffix not allowed");
		}
		if (operands == NIL)
			return fail(state, "Value of %s inside anything-but must not be an empty array", op);
	}

	cond->nnegated = list_length(operands);
	cond->negated = palloc0(sizeof(PatternCond) * Max(cond->nnegated, 1));
	foreach(lc, operands)
	{
		JsonbValue *e = lfirst(lc);
		PatternCond *n = &cond->negated[i++];

		if (op == NULL)
			exact_value(e, n);
		else if (op[0] == 'w')
		{
			if (!compile_wildcard(state, e, n))
				return false;
		}
		else if (op[0] == 'e')
		{
			n->kind = PCOND_EQUALS_IC;
			compile_ignore_case(e, n);
		}
		else
		{
			n->kind = (op[0] == 'p') ? PCOND_PREFIX : PCOND_SUFFIX;
			n->str = string_of(e);
			n->len = e->val.string.len;
		}
	}
	if (extra_keys)
		return fail(state, "Too many elements in numeric expression");
	return true;
}

/* One {"operator": operand} object inside a field's list. */
static bool
compile_condition(CompileState *state, JsonbContainer *object,
				  PatternCond *cond)
{
	List	   *keys;
	List	   *values;
	char	   *op;
	JsonbValue *operand;
	bool		ignore_case;
	bool		ok;
	int			k;

	object_pairs(object, &keys, &values);
	if (keys == NIL)
		return fail(state, "Match expression name not found");
	k = primary_key(keys, operator_names, lengthof(operator_names));
	op = list_nth(keys, k);
	operand = list_nth(values, k);

	if (strcmp(op, "prefix") == 0 || strcmp(op, "suffix") == 0)
	{
		ok = compile_affix(state, op, operand, cond, &ignore_case);
		if (op[0] == 'p')
			cond->kind = ignore_case ? PCOND_PREFIX_IC : PCOND_PREFIX;
		else
			cond->kind = ignore_case ? PCOND_SUFFIX_IC : PCOND_SUFFIX;
	}
	else if (strcmp(op, "equals-ignore-case") == 0)
	{
		if (operand->type != jbvString)
			return fail(state, "equals-ignore-case match pattern must be a string");
		cond->kind = PCOND_EQUALS_IC;
		compile_ignore_case(operand, cond);
		ok = true;
	}
	else if (strcmp(op, "wildcard") == 0)
		ok = compile_wildcard(state, operand, cond);
	else if (strcmp(op, "anything-but") == 0)
		ok = compile_anything_but(state, operand, cond);
	else if (strcmp(op, "numeric") == 0)
		ok = compile_numeric(state, operand, cond);
	else if (strcmp(op, "exists") == 0)
	{
		if (operand->type != jbvBool)
			return fail(state, "exists match pattern must be either true or false.");
		cond->kind = PCOND_EXISTS;
		cond->exists = operand->val.boolean;
		ok = true;
	}
	else if (strcmp(op, "cidr") == 0)
		ok = compile_cidr(state, operand, cond);
	else
		return fail(state, "Unrecognized match type %s", op);
	if (ok && list_length(keys) > 1)
		return fail_extra_keys(state, op);
	return ok;
}

/*
 * A field's list: values and operator objects, ORed.  A list given again
 * for the same field (its path spelled two ways, "a.b" and {"a": {"b"}})
 * must hold too: it is chained to the first as a further list.
 */
static bool
compile_leaf(CompileState *state, JsonbContainer *array, PatternField *field)
{
	List	   *elems = array_elements(array);
	ListCell   *lc;
	int			i = 0;

	if (elems == NIL)
		return fail(state, "Empty arrays are not allowed");

	if (field->nconds > 0)
	{
		PatternField *clause = palloc0(sizeof(PatternField));

		clause->key = field->key;
		clause->keylen = field->keylen;
		clause->also = field->also;
		field->also = clause;
		field = clause;
	}
	field->or_depth = state->or_depth;
	field->nconds = list_length(elems);
	field->conds = palloc0(sizeof(PatternCond) * field->nconds);
	field->has_absent = false;
	foreach(lc, elems)
	{
		JsonbValue *e = lfirst(lc);
		PatternCond *cond = &field->conds[i++];

		switch (e->type)
		{
			case jbvString:
			case jbvNumeric:
				exact_value(e, cond);
				break;
			case jbvBool:
				cond->kind = e->val.boolean ? PCOND_TRUE : PCOND_FALSE;
				break;
			case jbvNull:
				cond->kind = PCOND_NULL;
				break;
			case jbvBinary:
				if (JsonContainerIsArray(e->val.binary.data))
					return fail(state, "Match value must be String, number, true, false, or null");
				if (!compile_condition(state, e->val.binary.data, cond))
					return false;
				if (cond->kind == PCOND_EXISTS && !cond->exists)
					field->has_absent = true;
				break;
			default:
				return fail(state, "Match value must be String, number, true, false, or null");
		}
	}
	return true;
}

static bool
compile_or(CompileState *state, JsonbValue *v, PatternNode *into)
{
	List	   *elems;
	ListCell   *lc;
	PatternOr	or;
	int			i = 0;

	if (!is_array(v))
		return fail(state, "It must be an Array followed with $or.");
	elems = array_elements(v->val.binary.data);
	or.nalternatives = list_length(elems);
	or.alternatives = palloc(sizeof(PatternNode *) * Max(or.nalternatives, 1));
	foreach(lc, elems)
	{
		JsonbValue *e = lfirst(lc);

		if (!is_object(e))
			return fail(state, "Only JSON object is allowed in array of $or relationship.");
		or.alternatives[i] = new_node();
		state->or_depth++;
		if (!compile_node(state, e->val.binary.data, or.alternatives[i]))
			return false;
		state->or_depth--;
		i++;
	}
	if (or.nalternatives < (state->stored ? 1 : 2))
		return fail(state, "There must have at least 2 Objects in $or relationship.");
	node_add_or(into, &or);
	return true;
}

/* An object level of the pattern, compiled into (merged with) into. */
static bool
compile_node(CompileState *state, JsonbContainer *object, PatternNode *into)
{
	List	   *keys;
	List	   *values;
	const char *parent_key = state->key;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	object_pairs(object, &keys, &values);
	if (keys == NIL)
		return fail(state, "Empty objects are not allowed");

	for (int i = 0; i < list_length(keys); i++)
	{
		char	   *key = list_nth(keys, i);
		JsonbValue *value = list_nth(values, i);
		int			saved = state->path.len;

		push_key(state, key);
		state->key = key;
		if (strcmp(key, "$or") == 0)
		{
			if (!compile_or(state, value, into))
				return false;
		}
		else
		{
			PatternField *field;

			if (state->or_depth > 0)
			{
				for (int r = 0; r < lengthof(or_reserved_names); r++)
					if (strcmp(key, or_reserved_names[r]) == 0)
						return fail(state, "%s is Ruler reserved fieldName which cannot be used inside $or.", key);
			}
			if (!is_object(value) && !is_array(value))
				return fail(state, "\"%s\" must be an object or an array", key);
			field = path_field(into, key, strlen(key));
			if (is_object(value))
			{
				if (field->child == NULL)
					field->child = new_node();
				if (!compile_node(state, value->val.binary.data, field->child))
					return false;
			}
			else if (!compile_leaf(state, value->val.binary.data, field))
				return false;
		}
		pop_key(state, saved);
		state->key = parent_key;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * $or groups distributed into the nodes that enclose them
 *
 * EventBridge expands every $or into alternatives, each branch combined
 * with everything else of the enclosing objects, and matches every
 * alternative as one rule: all of its fields that lie below one array of
 * objects must come from the same element.  When a branch names a field
 * that an enclosing level names too, the conditions written inside more
 * $or win (jsonb keeps no key order, so a branch always overrides what
 * encloses it); lists written at the same $or depth must all hold.
 *
 * The matcher judges the fields of a node one by one, each on its own
 * array elements, so no branch may share a key with the fields around its
 * $or.  The enclosing fields whose key some branch uses move into every
 * branch: each branch becomes a copy of them deep-merged with the branch,
 * bottom up, so that every alternative is one tree.  When every branch is
 * just one object key, and the node has that key, the $or moves down into
 * that key's node instead (no copies).  Two $or groups of one node whose
 * branches share a key become one, their cross product.  A $or sharing no
 * key with its surroundings, the common case, stays as it was written.
 * ---------------------------------------------------------------------
 */

static void distribute_level(PatternNode *node);

static PatternNode *copy_node(const PatternNode *src);

/* A copy of a chain of further condition lists. */
static PatternField *
copy_clauses(const PatternField *clause)
{
	PatternField *head = NULL;
	PatternField **tail = &head;

	for (; clause != NULL; clause = clause->also)
	{
		*tail = palloc(sizeof(PatternField));
		**tail = *clause;
		tail = &(*tail)->also;
	}
	*tail = NULL;
	return head;
}

/* Append field f to node as it is (sharing what it points to). */
static PatternField *
node_append(PatternNode *node, const PatternField *f)
{
	if (node->nfields == node->fieldcap)
	{
		node->fieldcap = node->fieldcap ? node->fieldcap * 2 : 4;
		node->fields = node->fields ?
			repalloc(node->fields, sizeof(PatternField) * node->fieldcap) :
			palloc(sizeof(PatternField) * node->fieldcap);
	}
	node->fields[node->nfields] = *f;
	return &node->fields[node->nfields++];
}

/* Append a deep copy of field f to node (conditions are shared). */
static void
node_add_copy(PatternNode *node, const PatternField *f)
{
	PatternField *copy = node_append(node, f);

	copy->child = f->child ? copy_node(f->child) : NULL;
	copy->also = copy_clauses(f->also);
}

static void
copy_or(PatternOr *dst, const PatternOr *src)
{
	dst->nalternatives = src->nalternatives;
	dst->alternatives = palloc(sizeof(PatternNode *) * Max(src->nalternatives, 1));
	for (int j = 0; j < src->nalternatives; j++)
		dst->alternatives[j] = copy_node(src->alternatives[j]);
}

static PatternNode *
copy_node(const PatternNode *src)
{
	PatternNode *node = new_node();

	check_stack_depth();
	for (int i = 0; i < src->nfields; i++)
		node_add_copy(node, &src->fields[i]);
	for (int g = 0; g < src->nors; g++)
	{
		PatternOr	or;

		copy_or(&or, &src->ors[g]);
		node_add_or(node, &or);
	}
	return node;
}

static PatternField *
find_field(PatternNode *node, const char *key, int keylen)
{
	for (int i = 0; i < node->nfields; i++)
	{
		PatternField *f = &node->fields[i];

		if (f->keylen == keylen && memcmp(f->key, key, keylen) == 0)
			return f;
	}
	return NULL;
}

/*
 * The conditions of src meet those of dst on one path: the ones written
 * inside more $or replace the others; at the same depth all must hold.
 */
static void
merge_conditions(PatternField *dst, const PatternField *src)
{
	if (src->nconds == 0)
		return;
	if (dst->nconds == 0 || src->or_depth > dst->or_depth)
	{
		dst->nconds = src->nconds;
		dst->conds = src->conds;
		dst->has_absent = src->has_absent;
		dst->or_depth = src->or_depth;
		dst->also = copy_clauses(src->also);
	}
	else if (src->or_depth == dst->or_depth)
	{
		PatternField **tail = &dst->also;
		PatternField *clause;

		while (*tail != NULL)
			tail = &(*tail)->also;
		clause = palloc(sizeof(PatternField));
		*clause = *src;
		clause->child = NULL;
		clause->also = copy_clauses(src->also);
		*tail = clause;
	}
}

/*
 * Merge a copy of src into dst (both distributed), then distribute dst
 * again: the merge may have brought together a $or and a field with the
 * same key.
 */
static void
merge_node(PatternNode *dst, const PatternNode *src)
{
	check_stack_depth();
	for (int i = 0; i < src->nfields; i++)
	{
		const PatternField *sf = &src->fields[i];
		PatternField *df = find_field(dst, sf->key, sf->keylen);

		if (df == NULL)
		{
			node_add_copy(dst, sf);
			continue;
		}
		merge_conditions(df, sf);
		if (sf->child)
		{
			if (df->child == NULL)
				df->child = copy_node(sf->child);
			else
				merge_node(df->child, sf->child);
		}
	}
	for (int g = 0; g < src->nors; g++)
	{
		PatternOr	or;

		copy_or(&or, &src->ors[g]);
		node_add_or(dst, &or);
	}
	distribute_level(dst);
}

/* The keys a node uses at its own level, through its $or groups too. */
static void
node_keys(const PatternNode *node, List **keys)
{
	for (int i = 0; i < node->nfields; i++)
		*keys = lappend(*keys, &node->fields[i]);
	for (int g = 0; g < node->nors; g++)
		for (int j = 0; j < node->ors[g].nalternatives; j++)
			node_keys(node->ors[g].alternatives[j], keys);
}

static List *
or_keys(const PatternOr *or)
{
	List	   *keys = NIL;

	for (int j = 0; j < or->nalternatives; j++)
		node_keys(or->alternatives[j], &keys);
	return keys;
}

static bool
keys_contain(List *keys, const char *key, int keylen)
{
	ListCell   *lc;

	foreach(lc, keys)
	{
		PatternField *f = lfirst(lc);

		if (f->keylen == keylen && memcmp(f->key, key, keylen) == 0)
			return true;
	}
	return false;
}

static bool
keys_intersect(List *a, List *b)
{
	ListCell   *lc;

	foreach(lc, a)
	{
		PatternField *f = lfirst(lc);

		if (keys_contain(b, f->key, f->keylen))
			return true;
	}
	return false;
}

static void
node_remove_or(PatternNode *node, int g)
{
	memmove(&node->ors[g], &node->ors[g + 1],
			sizeof(PatternOr) * (node->nors - g - 1));
	node->nors--;
}

/* Make the $or groups of a node that share a key one: their cross product. */
static void
combine_ors(PatternNode *node)
{
	for (int g = 0; g < node->nors; g++)
	{
		for (int h = g + 1; h < node->nors; h++)
		{
			PatternOr  *a = &node->ors[g];
			PatternOr  *b = &node->ors[h];
			PatternOr	product;
			int			n = 0;

			if (!keys_intersect(or_keys(a), or_keys(b)))
				continue;
			product.nalternatives = a->nalternatives * b->nalternatives;
			product.alternatives = palloc(sizeof(PatternNode *) *
										  Max(product.nalternatives, 1));
			for (int i = 0; i < a->nalternatives; i++)
				for (int j = 0; j < b->nalternatives; j++)
				{
					PatternNode *alt = copy_node(a->alternatives[i]);

					CHECK_FOR_INTERRUPTS();
					merge_node(alt, b->alternatives[j]);
					product.alternatives[n++] = alt;
				}
			node->ors[g] = product;
			node_remove_or(node, h);
			/* the product may share a key with a group already passed */
			g = -1;
			break;
		}
	}
}

/*
 * The one key every branch of a $or consists of, as an object and nothing
 * else, or NULL.
 */
static const PatternField *
single_object_key(const PatternOr *or)
{
	const PatternField *key = NULL;

	for (int j = 0; j < or->nalternatives; j++)
	{
		const PatternNode *alt = or->alternatives[j];
		const PatternField *f;

		if (alt->nfields != 1 || alt->nors != 0)
			return NULL;
		f = &alt->fields[0];
		if (f->nconds > 0 || f->child == NULL)
			return NULL;
		if (key != NULL &&
			(key->keylen != f->keylen || memcmp(key->key, f->key, f->keylen) != 0))
			return NULL;
		key = f;
	}
	return key;
}

/*
 * Distribute the $or groups of one node whose fields, nested nodes and
 * branches are already distributed.
 */
static void
distribute_level(PatternNode *node)
{
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (node->nors == 0)
		return;
	if (node->nors > 1)
		combine_ors(node);

	for (int g = 0; g < node->nors; g++)
	{
		PatternOr  *or = &node->ors[g];
		const PatternField *single = single_object_key(or);
		PatternField *target;
		List	   *keys;
		PatternNode *moving;
		int			kept = 0;

		target = single ? find_field(node, single->key, single->keylen) : NULL;
		if (target != NULL)
		{
			PatternOr	down;

			down.nalternatives = or->nalternatives;
			down.alternatives = palloc(sizeof(PatternNode *) * or->nalternatives);
			for (int j = 0; j < or->nalternatives; j++)
				down.alternatives[j] = or->alternatives[j]->fields[0].child;
			node_remove_or(node, g--);
			if (target->child == NULL)
				target->child = new_node();
			node_add_or(target->child, &down);
			distribute_level(target->child);
			continue;
		}

		keys = or_keys(or);
		moving = new_node();
		for (int i = 0; i < node->nfields; i++)
		{
			PatternField *f = &node->fields[i];

			if (keys_contain(keys, f->key, f->keylen))
				(void) node_append(moving, f);
			else
				node->fields[kept++] = *f;
		}
		node->nfields = kept;
		if (moving->nfields == 0)
			continue;
		for (int j = 0; j < or->nalternatives; j++)
		{
			PatternNode *alt = copy_node(moving);

			CHECK_FOR_INTERRUPTS();
			merge_node(alt, or->alternatives[j]);
			or->alternatives[j] = alt;
		}
	}
}

static void
distribute_ors(PatternNode *node)
{
	check_stack_depth();
	for (int i = 0; i < node->nfields; i++)
		if (node->fields[i].child)
			distribute_ors(node->fields[i].child);
	for (int g = 0; g < node->nors; g++)
		for (int j = 0; j < node->ors[g].nalternatives; j++)
			distribute_ors(node->ors[g].alternatives[j]);
	distribute_level(node);
}

/*
 * How many alternatives the pattern's $or groups expand into, at most
 * PATTERN_MAX_ALTERNATIVES + 1.
 */
static double
count_alternatives(const PatternNode *node)
{
	double		n = 1;

	check_stack_depth();
	for (int i = 0; i < node->nfields && n <= PATTERN_MAX_ALTERNATIVES; i++)
		if (node->fields[i].child)
			n *= count_alternatives(node->fields[i].child);
	for (int g = 0; g < node->nors && n <= PATTERN_MAX_ALTERNATIVES; g++)
	{
		double		sum = 0;

		for (int j = 0; j < node->ors[g].nalternatives; j++)
			sum += count_alternatives(node->ors[g].alternatives[j]);
		n *= sum;
	}
	return Min(n, PATTERN_MAX_ALTERNATIVES + 1);
}

/* Drop fields left without conditions or nested fields. */
static bool
prune_node(PatternNode *node)
{
	int			kept = 0;

	for (int i = 0; i < node->nfields; i++)
	{
		PatternField *f = &node->fields[i];

		if (f->child && prune_node(f->child))
			f->child = NULL;
		if (f->child == NULL && f->nconds == 0)
			continue;
		node->fields[kept++] = *f;
	}
	node->nfields = kept;
	for (int g = 0; g < node->nors; g++)
		for (int j = 0; j < node->ors[g].nalternatives; j++)
			(void) prune_node(node->ors[g].alternatives[j]);
	return node->nfields == 0 && node->nors == 0;
}

/* Give each field with {"exists": false} its path from the root. */
static void
set_absent_paths(PatternNode *node, char **segs, int *lens, int depth)
{
	check_stack_depth();
	for (int i = 0; i < node->nfields; i++)
	{
		PatternField *f = &node->fields[i];
		char	  **s = palloc(sizeof(char *) * (depth + 1));
		int		   *l = palloc(sizeof(int) * (depth + 1));

		memcpy(s, segs, sizeof(char *) * depth);
		memcpy(l, lens, sizeof(int) * depth);
		s[depth] = f->key;
		l[depth] = f->keylen;
		for (PatternField *clause = f; clause != NULL; clause = clause->also)
		{
			if (clause->has_absent)
			{
				clause->nabspath = depth + 1;
				clause->abspath = s;
				clause->abspathlens = l;
			}
		}
		if (f->child)
			set_absent_paths(f->child, s, l, depth + 1);
	}
	for (int g = 0; g < node->nors; g++)
		for (int j = 0; j < node->ors[g].nalternatives; j++)
			set_absent_paths(node->ors[g].alternatives[j], segs, lens, depth);
}

/* ---------------------------------------------------------------------
 * Wildcard complexity
 *
 * EventBridge bounds how many wildcard-pattern prefixes one value of a
 * field can be in at the same time: for every field, over all of the
 * rule's wildcard and anything-but wildcard values on that field ($or
 * branches included), the largest number of (value, position) pairs that
 * some input string leaves active, where a position is a prefix of the
 * value's bytes (its '*' included) and each value is taken as EventBridge
 * stores it, between double quotes.  The value *:*:*:*:*:event-bus/ with a
 * last star has 11 such prefixes after the input "::::::event-bus/"; the
 * service refuses more than PATTERN_MAX_COMPLEXITY.  The evaluation walks the sets of active
 * positions reachable by some input (a subset construction), and stops as
 * soon as one is too large.
 * ---------------------------------------------------------------------
 */

typedef struct WildcardItem
{
	char	   *path;
	bool		negated;		/* anything-but wildcard */
	char	   *value;
	int			len;
} WildcardItem;

typedef struct ActiveSet
{
	int			n;
	int			pos[PATTERN_MAX_COMPLEXITY + 1];	/* sorted; zero-padded */
} ActiveSet;

static void
collect_wildcards(PatternNode *node, const char *prefix, bool top, List **out)
{
	for (int i = 0; i < node->nfields; i++)
	{
		PatternField *f = &node->fields[i];
		char	   *path = top ? pstrdup(f->key) : psprintf("%s\x1f%s", prefix, f->key);

		for (PatternField *clause = f; clause != NULL; clause = clause->also)
		{
			for (int c = 0; c < clause->nconds; c++)
			{
				PatternCond *cond = &clause->conds[c];

				if (cond->kind == PCOND_WILDCARD || cond->kind == PCOND_ANYTHING_BUT)
				{
					int			n = cond->kind == PCOND_WILDCARD ? 1 : cond->nnegated;

					for (int k = 0; k < n; k++)
					{
						PatternCond *w = cond->kind == PCOND_WILDCARD ? cond : &cond->negated[k];
						WildcardItem *item;

						if (w->kind != PCOND_WILDCARD)
							continue;
						item = palloc(sizeof(WildcardItem));
						item->path = path;
						item->negated = (cond->kind == PCOND_ANYTHING_BUT);
						item->value = w->str;
						item->len = w->len;
						*out = lappend(*out, item);
					}
				}
			}
		}
		if (f->child)
			collect_wildcards(f->child, path, false, out);
	}
	for (int g = 0; g < node->nors; g++)
		for (int j = 0; j < node->ors[g].nalternatives; j++)
			collect_wildcards(node->ors[g].alternatives[j], prefix, top, out);
}

static int
compare_wildcard_items(const ListCell *a, const ListCell *b)
{
	const WildcardItem *x = lfirst(a);
	const WildcardItem *y = lfirst(b);
	int			c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	if (x->negated != y->negated)
		return x->negated ? 1 : -1;
	c = memcmp(x->value, y->value, Min(x->len, y->len));
	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/*
 * A wildcard value as tokens: the quotes around it, its bytes (escapes
 * resolved) and WILDCARD_STAR for each unescaped '*'.
 */
static int
wildcard_tokens(const WildcardItem *item, int *tokens)
{
	const char *s = item->value;
	int			n = 0;

	tokens[n++] = '"';
	for (int i = 0; i < item->len; i++)
	{
		if (s[i] == '\\' && i + 1 < item->len)
			tokens[n++] = (unsigned char) s[++i];
		else if (s[i] == '*')
			tokens[n++] = WILDCARD_STAR;
		else
			tokens[n++] = (unsigned char) s[i];
	}
	tokens[n++] = '"';
	return n;
}

static int
compare_ints(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return (x > y) - (x < y);
}

/*
 * The complexity of one field's wildcard values (items[0 .. n-1], distinct),
 * or PATTERN_MAX_COMPLEXITY + 1 when it is above the bound.
 */
static int
field_complexity(WildcardItem **items, int n)
{
	int		   *base;			/* first position id of each value */
	int		   *owner;			/* value of each position id */
	int		   *tok;			/* token after each position id, or -1 */
	int			npos = 0;
	int			maximum = 0;
	HASHCTL		ctl;
	HTAB	   *seen;
	List	   *queue = NIL;
	ActiveSet  *start;
	int			nstates = 0;

	if (n > PATTERN_MAX_COMPLEXITY)
		return PATTERN_MAX_COMPLEXITY + 1;	/* all are active after '"' */

	base = palloc(sizeof(int) * (n + 1));
	for (int i = 0; i < n; i++)
		npos += items[i]->len + 3;
	owner = palloc(sizeof(int) * npos);
	tok = palloc(sizeof(int) * npos);
	npos = 0;
	for (int i = 0; i < n; i++)
	{
		int		   *t = palloc(sizeof(int) * (items[i]->len + 2));
		int			len = wildcard_tokens(items[i], t);

		base[i] = npos;
		for (int k = 0; k <= len; k++)
		{
			owner[npos + k] = i;
			tok[npos + k] = (k < len) ? t[k] : -1;
		}
		npos += len + 1;
	}
	base[n] = npos;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ActiveSet);
	ctl.entrysize = sizeof(ActiveSet);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("eventbus wildcard complexity", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/* the start: position 0 of every value (not counted) */
	start = palloc0(sizeof(ActiveSet));
	for (int i = 0; i < n; i++)
		start->pos[start->n++] = base[i];
	queue = lappend(queue, start);

	while (queue != NIL)
	{
		ActiveSet  *from = linitial(queue);
		int			bytes[PATTERN_MAX_COMPLEXITY + 2];
		int			nbytes = 0;

		queue = list_delete_first(queue);
		CHECK_FOR_INTERRUPTS();

		/* the bytes that lead somewhere different; -1 stands for any other */
		bytes[nbytes++] = -1;
		for (int k = 0; k < from->n; k++)
		{
			int			t = tok[from->pos[k]];
			bool		dup = false;

			if (t < 0 || t == WILDCARD_STAR)
				continue;
			for (int b = 1; b < nbytes; b++)
				dup |= (bytes[b] == t);
			if (!dup)
				bytes[nbytes++] = t;
		}

		for (int b = 0; b < nbytes; b++)
		{
			int			next[2 * (PATTERN_MAX_COMPLEXITY + 1) + 2];
			int			nnext = 0;
			ActiveSet	key;
			bool		found;

			for (int k = 0; k < from->n; k++)
			{
				int			p = from->pos[k];

				/* a '*' just consumed takes any byte and stays */
				if (p > base[owner[p]] && tok[p - 1] == WILDCARD_STAR)
					next[nnext++] = p;
				if (tok[p] >= 0 && tok[p] != WILDCARD_STAR && tok[p] == bytes[b])
					next[nnext++] = p + 1;
				if (nnext > PATTERN_MAX_COMPLEXITY + 1)
					break;
			}
			/* a '*' can also match nothing: the position after it is active */
			for (int k = 0; k < nnext && nnext <= PATTERN_MAX_COMPLEXITY + 1; k++)
			{
				if (tok[next[k]] == WILDCARD_STAR)
				{
					bool		dup = false;

					for (int m = 0; m < nnext; m++)
						dup |= (next[m] == next[k] + 1);
					if (!dup)
						next[nnext++] = next[k] + 1;
				}
			}
			if (nnext == 0)
				continue;
			qsort(next, nnext, sizeof(int), compare_ints);
			{
				int			m = 0;

				for (int k = 0; k < nnext; k++)
					if (m == 0 || next[m - 1] != next[k])
						next[m++] = next[k];
				nnext = m;
			}
			if (nnext > PATTERN_MAX_COMPLEXITY)
				return PATTERN_MAX_COMPLEXITY + 1;
			maximum = Max(maximum, nnext);

			memset(&key, 0, sizeof(key));
			key.n = nnext;
			memcpy(key.pos, next, sizeof(int) * nnext);
			hash_search(seen, &key, HASH_ENTER, &found);
			if (!found)
			{
				ActiveSet  *copy = palloc(sizeof(ActiveSet));

				*copy = key;
				queue = lappend(queue, copy);
				if (++nstates > COMPLEXITY_MAX_STATES)
					return PATTERN_MAX_COMPLEXITY + 1;
			}
		}
	}
	return maximum;
}

static bool
check_complexity(CompileState *state, PatternNode *root)
{
	List	   *items = NIL;
	MemoryContext cxt;
	MemoryContext oldcxt;
	int			n;
	bool		ok = true;

	collect_wildcards(root, "", true, &items);
	if (items == NIL)
		return true;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "eventbus wildcard complexity",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	list_sort(items, compare_wildcard_items);
	n = list_length(items);
	for (int start = 0; start < n && ok;)
	{
		WildcardItem **group = palloc(sizeof(WildcardItem *) * n);
		int			ngroup = 0;
		int			end = start;

		while (end < n && strcmp(((WildcardItem *) list_nth(items, end))->path,
								 ((WildcardItem *) list_nth(items, start))->path) == 0)
		{
			/* equal values count once */
			if (end == start ||
				compare_wildcard_items(list_nth_cell(items, end - 1),
									   list_nth_cell(items, end)) != 0)
				group[ngroup++] = list_nth(items, end);
			end++;
		}
		if (field_complexity(group, ngroup) > PATTERN_MAX_COMPLEXITY)
			ok = false;
		start = end;
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	if (!ok)
		return fail(state, "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character");
	return true;
}

/* ---------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------
 */

static EventPattern *
compile_pattern(Jsonb *pattern, PatternError *error, bool stored)
{
	CompileState state;
	EventPattern *result;

	memset(error, 0, sizeof(PatternError));
	state.error = error;
	initStringInfo(&state.path);
	state.key = NULL;
	state.or_depth = 0;
	state.stored = stored;

	if (!JB_ROOT_IS_OBJECT(pattern))
	{
		fail(&state, "Filter is not an object");
		return NULL;
	}

	result = palloc0(sizeof(EventPattern));
	result->root = new_node();
	if (!compile_node(&state, &pattern->root, result->root))
		return NULL;
	if (count_alternatives(result->root) <= PATTERN_MAX_ALTERNATIVES)
		distribute_ors(result->root);
	else if (!stored)
	{
		fail(&state, "Rule is too complex - its $or groups combine into more than %d alternatives; try using fewer $or or fewer branches",
			 PATTERN_MAX_ALTERNATIVES);
		return NULL;
	}
	(void) prune_node(result->root);
	set_absent_paths(result->root, NULL, NULL, 0);
	if (!stored && !check_complexity(&state, result->root))
		return NULL;
	return result;
}

/*
 * Compile a pattern in CurrentMemoryContext.  Returns NULL and fills *error
 * when the pattern is not valid.
 */
EventPattern *
pattern_compile(Jsonb *pattern, PatternError *error)
{
	return compile_pattern(pattern, error, false);
}

void
pattern_report_error(const PatternError *error)
{
	ereport(ERROR,
			(errcode(ERRCODE_EVENTBUS_INVALID_PATTERN),
			 errmsg("Event pattern is not valid. Reason: %s", error->reason),
			 error->path && error->path[0] ?
			 errdetail("The offending key is \"%s\".", error->path) :
			 errdetail("The pattern as a whole is refused."),
			 errhint("Every field of a pattern is an object or a non-empty array of values and match conditions; see the README's pattern reference.")));
	pg_unreachable();
}

EventPattern *
pattern_compile_or_error(Jsonb *pattern)
{
	PatternError error;
	EventPattern *result = pattern_compile(pattern, &error);

	if (result == NULL)
		pattern_report_error(&error);
	return result;
}

/*
 * Compile a rule's stored pattern.  Stored patterns were validated when
 * they were defined; this accepts what eventbus 0.1.0 accepted, so that
 * rules stored before a stricter check still route: a $or of one branch,
 * an empty anything-but prefix or suffix, and wildcards beyond the
 * complexity bound.
 */
EventPattern *
pattern_compile_stored(Jsonb *pattern)
{
	PatternError error;
	EventPattern *result = compile_pattern(pattern, &error, true);

	if (result == NULL)
		pattern_report_error(&error);
	return result;
}
