/*-------------------------------------------------------------------------
 *
 * pattern_compile.c
 *	  Validation and compilation of EventBridge event patterns.
 *
 * A pattern is validated while it is compiled, in one walk over its jsonb
 * binary form, so that no invalid pattern can ever be used or stored.  The
 * compiler never throws for a bad pattern: it fills a PatternError and
 * returns NULL, and pattern_report_error() turns that into the error users
 * see, "Event pattern is not valid. Reason: ...", SQLSTATE 22023.
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
#include "utils/jsonb.h"

#include "eventbus.h"
#include "pattern.h"

/* A wildcard value may hold at most this many '*' characters. */
#define PATTERN_MAX_WILDCARD_STARS 16

typedef struct CompileState
{
	PatternError *error;
	StringInfoData path;		/* dotted path of the key being compiled */
	const char *key;			/* the key being compiled, NULL at the top */
} CompileState;

static PatternNode *compile_node(CompileState *state, JsonbContainer *object);
static bool compile_condition(CompileState *state, JsonbContainer *object,
							  PatternCond *cond, bool negated);

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

/*
 * The key being compiled.  Taken as is rather than from the dotted path,
 * since keys may themselves contain dots or be empty.
 */
static const char *
current_key(CompileState *state)
{
	return state->key ? state->key : "";
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
 * A string operand, or a {"equals-ignore-case": "..."} object for prefix
 * and suffix.  Sets *ignore_case accordingly.
 */
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

		object_pairs(v->val.binary.data, &keys, &values);
		if (list_length(keys) != 1 ||
			strcmp(linitial(keys), "equals-ignore-case") != 0)
			return fail(state, "Value of %s must be a string or an object with the single key \"equals-ignore-case\"", op);
		inner = linitial(values);
		if (inner->type != jbvString)
			return fail(state, "Value of equals-ignore-case inside %s must be a string", op);
		cond->str = pattern_fold_case(inner->val.string.val,
									  inner->val.string.len, &cond->len);
		*ignore_case = true;
		return true;
	}
	return fail(state, "Value of %s must be a string", op);
}

/* Split a wildcard value at its unescaped stars. */
static bool
compile_wildcard(CompileState *state, JsonbValue *v, PatternCond *cond)
{
	const char *s;
	int			len;
	int			nstars = 0;
	StringInfoData piece;
	List	   *pieces = NIL;
	bool		prev_star = false;
	PatternWildcard *wc;
	int			npieces;
	int			first;
	int			last;

	if (v->type != jbvString)
		return fail(state, "Value of wildcard must be a string");
	s = v->val.string.val;
	len = v->val.string.len;

	initStringInfo(&piece);
	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '\\')
		{
			if (i + 1 >= len || (s[i + 1] != '*' && s[i + 1] != '\\'))
				return fail(state, "Invalid escape in wildcard value \"%.*s\": only \\* and \\\\ are allowed", len, s);
			appendStringInfoChar(&piece, s[i + 1]);
			i++;
			prev_star = false;
		}
		else if (c == '*')
		{
			if (prev_star)
				return fail(state, "Consecutive wildcard characters at position %d of \"%.*s\"", i, len, s);
			if (++nstars > PATTERN_MAX_WILDCARD_STARS)
				return fail(state, "Rule is too complex: wildcard value \"%.*s\" has more than %d wildcard characters", len, s, PATTERN_MAX_WILDCARD_STARS);
			pieces = lappend(pieces, pnstrdup(piece.data, piece.len));
			resetStringInfo(&piece);
			prev_star = true;
		}
		else
		{
			appendStringInfoChar(&piece, c);
			prev_star = false;
		}
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

static bool
compile_numeric(CompileState *state, JsonbValue *v, PatternCond *cond)
{
	List	   *elems;
	bool		has_lower = false;
	bool		has_upper = false;

	if (!is_array(v))
		return fail(state, "Value of numeric must be an array");
	elems = array_elements(v->val.binary.data);
	if (list_length(elems) == 0)
		return fail(state, "Value of numeric must not be an empty array");
	if (list_length(elems) != 2 && list_length(elems) != 4)
		return fail(state, "Value of numeric must be an operator and a number, or two such pairs forming a range");

	cond->kind = PCOND_NUMERIC;
	for (int i = 0; i < list_length(elems); i += 2)
	{
		JsonbValue *opv = list_nth(elems, i);
		JsonbValue *numv = list_nth(elems, i + 1);
		char	   *op;

		if (opv->type != jbvString)
			return fail(state, "Value of numeric must start each comparison with an operator string (=, <, <=, >, >=)");
		op = string_of(opv);
		if (numv->type != jbvNumeric)
			return fail(state, "Value after \"%s\" in numeric must be a number", op);

		if (strcmp(op, "=") == 0)
		{
			if (list_length(elems) != 2)
				return fail(state, "Value of numeric cannot combine \"=\" with another comparison");
			cond->lower = cond->upper = numeric_of(numv);
			cond->lower_inclusive = cond->upper_inclusive = true;
			has_lower = has_upper = true;
		}
		else if (strcmp(op, ">") == 0 || strcmp(op, ">=") == 0)
		{
			if (has_lower)
				return fail(state, "Value of numeric has more than one lower bound");
			cond->lower = numeric_of(numv);
			cond->lower_inclusive = (op[1] == '=');
			has_lower = true;
		}
		else if (strcmp(op, "<") == 0 || strcmp(op, "<=") == 0)
		{
			if (has_upper)
				return fail(state, "Value of numeric has more than one upper bound");
			cond->upper = numeric_of(numv);
			cond->upper_inclusive = (op[1] == '=');
			has_upper = true;
		}
		else
			return fail(state, "Unrecognized numeric range operator \"%s\"", op);
	}

	if (cond->lower && cond->upper && list_length(elems) == 4)
	{
		int			cmp = DatumGetInt32(DirectFunctionCall2(numeric_cmp,
															NumericGetDatum(cond->lower),
															NumericGetDatum(cond->upper)));

		if (cmp >= 0)
			return fail(state, "Value of numeric is an empty range: the lower bound must be less than the upper bound");
	}
	return true;
}

/* Parse "address/bits" for IPv4 or IPv6. */
static bool
compile_cidr(CompileState *state, JsonbValue *v, PatternCond *cond)
{
	char	   *text;
	char	   *slash;
	char	   *end;
	long		bits;
	int			maxbits;

	if (v->type != jbvString)
		return fail(state, "Value of cidr must be a string");
	text = string_of(v);
	slash = strchr(text, '/');
	if (slash == NULL)
		return fail(state, "Value of cidr \"%s\" is not a CIDR block: expected address/prefix-length", text);
	*slash = '\0';

	if (inet_pton(AF_INET, text, cond->network) == 1)
	{
		cond->family = 4;
		maxbits = 32;
	}
	else if (inet_pton(AF_INET6, text, cond->network) == 1)
	{
		cond->family = 6;
		maxbits = 128;
	}
	else
	{
		*slash = '/';
		return fail(state, "Value of cidr \"%s\" has an invalid IP address", text);
	}

	errno = 0;
	if (slash[1] < '0' || slash[1] > '9')
		bits = -1;
	else
		bits = strtol(slash + 1, &end, 10);
	*slash = '/';
	if (bits < 0 || errno != 0 || *end != '\0' || bits > maxbits)
		return fail(state, "Value of cidr \"%s\" has an invalid prefix length (0 to %d)", text, maxbits);
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

/*
 * anything-but: a string or number, a non-empty list of strings or of
 * numbers, or a prefix / suffix / wildcard / equals-ignore-case object
 * whose value is a string or a non-empty list of strings.
 */
static bool
compile_anything_but(CompileState *state, JsonbValue *v, PatternCond *cond)
{
	cond->kind = PCOND_ANYTHING_BUT;

	if (v->type == jbvString || v->type == jbvNumeric)
	{
		cond->nnegated = 1;
		cond->negated = palloc0(sizeof(PatternCond));
		if (v->type == jbvString)
		{
			cond->negated->kind = PCOND_STRING;
			cond->negated->str = string_of(v);
			cond->negated->len = v->val.string.len;
		}
		else
		{
			cond->negated->kind = PCOND_NUMBER;
			cond->negated->number = numeric_of(v);
		}
		return true;
	}

	if (is_array(v))
	{
		List	   *elems = array_elements(v->val.binary.data);
		enum jbvType first_type;
		int			i = 0;
		ListCell   *lc;

		if (list_length(elems) == 0)
			return fail(state, "Value of anything-but must not be an empty array");
		first_type = ((JsonbValue *) linitial(elems))->type;
		if (first_type != jbvString && first_type != jbvNumeric)
			return fail(state, "Value of anything-but must be a list of strings or a list of numbers");
		cond->nnegated = list_length(elems);
		cond->negated = palloc0(sizeof(PatternCond) * cond->nnegated);
		foreach(lc, elems)
		{
			JsonbValue *e = lfirst(lc);
			PatternCond *n = &cond->negated[i++];

			if (e->type != first_type)
				return fail(state, "Value of anything-but must be a list of strings or a list of numbers, not a mix");
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
		return true;
	}

	if (is_object(v))
	{
		List	   *keys;
		List	   *values;
		char	   *op;
		JsonbValue *operand;
		List	   *operands;
		ListCell   *lc;
		int			i = 0;

		object_pairs(v->val.binary.data, &keys, &values);
		if (list_length(keys) != 1)
			return fail(state, "Value of anything-but must be an object with exactly one key (prefix, suffix, wildcard or equals-ignore-case)");
		op = linitial(keys);
		operand = linitial(values);
		if (strcmp(op, "prefix") != 0 && strcmp(op, "suffix") != 0 &&
			strcmp(op, "wildcard") != 0 && strcmp(op, "equals-ignore-case") != 0)
			return fail(state, "Unsupported match type inside anything-but: \"%s\" (use prefix, suffix, wildcard or equals-ignore-case)", op);

		if (operand->type == jbvString)
			operands = list_make1(operand);
		else if (is_array(operand))
		{
			operands = array_elements(operand->val.binary.data);
			if (list_length(operands) == 0)
				return fail(state, "Value of %s inside anything-but must not be an empty array", op);
		}
		else
			return fail(state, "Value of %s inside anything-but must be a string or a list of strings", op);

		cond->nnegated = list_length(operands);
		cond->negated = palloc0(sizeof(PatternCond) * cond->nnegated);
		foreach(lc, operands)
		{
			JsonbValue *e = lfirst(lc);
			PatternCond *n = &cond->negated[i++];

			if (e->type != jbvString)
				return fail(state, "Value of %s inside anything-but must be a string or a list of strings", op);
			if (strcmp(op, "wildcard") == 0)
			{
				if (!compile_wildcard(state, e, n))
					return false;
			}
			else if (strcmp(op, "equals-ignore-case") == 0)
			{
				n->kind = PCOND_EQUALS_IC;
				n->str = pattern_fold_case(e->val.string.val, e->val.string.len, &n->len);
			}
			else
			{
				n->kind = (op[0] == 'p') ? PCOND_PREFIX : PCOND_SUFFIX;
				n->str = string_of(e);
				n->len = e->val.string.len;
			}
		}
		return true;
	}

	return fail(state, "Value of anything-but must be a string, a number, a list of strings or numbers, or an object");
}

/* One {"operator": operand} object inside a leaf's list. */
static bool
compile_condition(CompileState *state, JsonbContainer *object,
				  PatternCond *cond, bool negated)
{
	List	   *keys;
	List	   *values;
	char	   *op;
	JsonbValue *operand;
	bool		ignore_case;

	object_pairs(object, &keys, &values);
	if (list_length(keys) == 0)
		return fail(state, "Empty objects are not allowed as match conditions of \"%s\"", current_key(state));
	if (list_length(keys) > 1)
		return fail(state, "A match condition of \"%s\" must have exactly one operator, found %d", current_key(state), list_length(keys));
	op = linitial(keys);
	operand = linitial(values);

	if (strcmp(op, "prefix") == 0)
	{
		if (!compile_affix(state, op, operand, cond, &ignore_case))
			return false;
		cond->kind = ignore_case ? PCOND_PREFIX_IC : PCOND_PREFIX;
	}
	else if (strcmp(op, "suffix") == 0)
	{
		if (!compile_affix(state, op, operand, cond, &ignore_case))
			return false;
		cond->kind = ignore_case ? PCOND_SUFFIX_IC : PCOND_SUFFIX;
	}
	else if (strcmp(op, "equals-ignore-case") == 0)
	{
		if (operand->type != jbvString)
			return fail(state, "Value of equals-ignore-case must be a string");
		cond->kind = PCOND_EQUALS_IC;
		cond->str = pattern_fold_case(operand->val.string.val,
									  operand->val.string.len, &cond->len);
	}
	else if (strcmp(op, "wildcard") == 0)
		return compile_wildcard(state, operand, cond);
	else if (strcmp(op, "anything-but") == 0 && !negated)
		return compile_anything_but(state, operand, cond);
	else if (strcmp(op, "numeric") == 0)
		return compile_numeric(state, operand, cond);
	else if (strcmp(op, "exists") == 0)
	{
		if (operand->type != jbvBool)
			return fail(state, "Value of exists must be true or false");
		cond->kind = PCOND_EXISTS;
		cond->exists = operand->val.boolean;
	}
	else if (strcmp(op, "cidr") == 0)
		return compile_cidr(state, operand, cond);
	else
		return fail(state, "Unrecognized match type \"%s\"", op);
	return true;
}

/* A leaf: a non-empty list of values and operator objects, ORed. */
static bool
compile_leaf(CompileState *state, JsonbContainer *array, PatternField *field)
{
	List	   *elems = array_elements(array);
	ListCell   *lc;
	int			i = 0;

	if (list_length(elems) == 0)
		return fail(state, "Empty arrays are not allowed: \"%s\" must list at least one value or condition", current_key(state));

	field->nconds = list_length(elems);
	field->conds = palloc0(sizeof(PatternCond) * field->nconds);
	foreach(lc, elems)
	{
		JsonbValue *e = lfirst(lc);
		PatternCond *cond = &field->conds[i++];

		switch (e->type)
		{
			case jbvString:
				cond->kind = PCOND_STRING;
				cond->str = string_of(e);
				cond->len = e->val.string.len;
				break;
			case jbvNumeric:
				cond->kind = PCOND_NUMBER;
				cond->number = numeric_of(e);
				break;
			case jbvBool:
				cond->kind = e->val.boolean ? PCOND_TRUE : PCOND_FALSE;
				break;
			case jbvNull:
				cond->kind = PCOND_NULL;
				break;
			case jbvBinary:
				if (JsonContainerIsArray(e->val.binary.data))
					return fail(state, "Arrays are not allowed inside the list of \"%s\": use one list of values", current_key(state));
				if (!compile_condition(state, e->val.binary.data, cond, false))
					return false;
				break;
			default:
				return fail(state, "Unsupported value in \"%s\"", current_key(state));
		}
	}
	return true;
}

static PatternOr *
compile_or(CompileState *state, JsonbValue *v, PatternOr *or)
{
	List	   *elems;
	ListCell   *lc;
	int			i = 0;

	if (!is_array(v))
	{
		fail(state, "Value of $or must be an array of patterns");
		return NULL;
	}
	elems = array_elements(v->val.binary.data);
	if (list_length(elems) == 0)
	{
		fail(state, "Value of $or must not be an empty array");
		return NULL;
	}
	or->nalternatives = list_length(elems);
	or->alternatives = palloc(sizeof(PatternNode *) * or->nalternatives);
	foreach(lc, elems)
	{
		JsonbValue *e = lfirst(lc);

		if (!is_object(e))
		{
			fail(state, "Each element of $or must be a pattern object");
			return NULL;
		}
		or->alternatives[i] = compile_node(state, e->val.binary.data);
		if (or->alternatives[i] == NULL)
			return NULL;
		i++;
	}
	return or;
}

/* An object level of the pattern. */
static PatternNode *
compile_node(CompileState *state, JsonbContainer *object)
{
	List	   *keys;
	List	   *values;
	PatternNode *node = palloc0(sizeof(PatternNode));
	const char *parent_key = state->key;
	int			nors = 0;
	int			nfields = 0;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	object_pairs(object, &keys, &values);
	if (list_length(keys) == 0)
	{
		if (state->key == NULL)
			fail(state, "Event pattern must not be empty");
		else
			fail(state, "\"%s\" must not be an empty object", current_key(state));
		return NULL;
	}

	node->fields = palloc0(sizeof(PatternField) * list_length(keys));
	node->ors = palloc0(sizeof(PatternOr) * list_length(keys));
	for (int i = 0; i < list_length(keys); i++)
	{
		char	   *key = list_nth(keys, i);
		JsonbValue *value = list_nth(values, i);
		int			saved = state->path.len;

		push_key(state, key);
		state->key = key;
		if (strcmp(key, "$or") == 0)
		{
			if (compile_or(state, value, &node->ors[nors]) == NULL)
				return NULL;
			nors++;
		}
		else
		{
			PatternField *field = &node->fields[nfields++];

			field->key = key;
			field->keylen = strlen(key);
			if (is_object(value))
			{
				field->child = compile_node(state, value->val.binary.data);
				if (field->child == NULL)
					return NULL;
			}
			else if (is_array(value))
			{
				if (!compile_leaf(state, value->val.binary.data, field))
					return NULL;
			}
			else
			{
				fail(state, "\"%s\" must be an object or an array", key);
				return NULL;
			}
		}
		pop_key(state, saved);
		state->key = parent_key;
	}
	node->nfields = nfields;
	node->nors = nors;
	return node;
}

/*
 * Compile a pattern in CurrentMemoryContext.  Returns NULL and fills *error
 * when the pattern is not valid.
 */
EventPattern *
pattern_compile(Jsonb *pattern, PatternError *error)
{
	CompileState state;
	EventPattern *result;
	char	   *text;
	int			text_size;

	memset(error, 0, sizeof(PatternError));
	state.error = error;
	initStringInfo(&state.path);
	state.key = NULL;

	text = JsonbToCString(NULL, &pattern->root, VARSIZE(pattern));
	text_size = pg_mbstrlen(text);
	pfree(text);
	if (text_size > eventbus_max_pattern_size)
	{
		fail(&state, "Event pattern is %d characters long, over the limit of %d (eventbus.max_pattern_size)",
			 text_size, eventbus_max_pattern_size);
		return NULL;
	}

	if (!JB_ROOT_IS_OBJECT(pattern))
	{
		fail(&state, "Event pattern must be a JSON object");
		return NULL;
	}

	result = palloc0(sizeof(EventPattern));
	result->text_size = text_size;
	result->root = compile_node(&state, &pattern->root);
	if (result->root == NULL)
		return NULL;
	return result;
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
