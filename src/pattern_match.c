/*-------------------------------------------------------------------------
 *
 * pattern_match.c
 *	  Matching an event (jsonb, binary form) against a compiled pattern.
 *
 * The matcher looks up each pattern key in the event's object with jsonb's
 * binary search, never converting the event to text.  When the event's
 * value is an array, a condition holds if it holds for any element, and a
 * nested pattern holds if it holds for any element object (so fields of one
 * element are never combined with fields of another).
 *
 * Field names are joined with dots, as EventBridge does: an event key
 * "a.b" is the field "b" of "a".  An object whose keys hold a dot (found
 * with one memchr over its key bytes, so the common case costs next to
 * nothing) is rewritten on the fly into one without, merging the values
 * that land on the same name; see undot_object().
 *
 * {"exists": false} holds when the event has no value at the field's path
 * anywhere, in no element of any array on the way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "pattern.h"

/* merging dotted names never builds more than this many array elements */
#define UNDOT_MAX_PRODUCT 10000

typedef struct MatchContext
{
	JsonbContainer *root;		/* the event, for absence */
} MatchContext;

static bool match_node(const MatchContext *mc, const PatternNode *node,
					   JsonbContainer *object);
static bool node_matches_missing(const MatchContext *mc, const PatternNode *node);

/* ---------------------------------------------------------------------
 * Dotted field names in the event
 * ---------------------------------------------------------------------
 */

/* Does any key of this object hold a dot?  One memchr over its key bytes. */
static inline bool
object_has_dotted_keys(JsonbContainer *object)
{
	uint32		n = JsonContainerSize(object);
	const char *keys;

	if (n == 0)
		return false;
	/* keys come first in the data area, all of them before the first value */
	keys = (const char *) &object->children[n * 2];
	return memchr(keys, '.', getJsonbOffset(object, n)) != NULL;
}

/*
 * A value being rebuilt: either a jsonb value left as it is (scalar or
 * container) or an object or array whose members were rebuilt.
 */
typedef enum UndotKind
{
	UNDOT_RAW,
	UNDOT_OBJECT,
	UNDOT_ARRAY
} UndotKind;

typedef struct UndotValue
{
	UndotKind	kind;
	JsonbValue	raw;
	int			n;
	int			cap;
	char	  **keys;
	int		   *keylens;
	struct UndotValue **vals;	/* object values, or array elements */
} UndotValue;

static UndotValue *
undot_raw(JsonbValue *v)
{
	UndotValue *u = palloc0(sizeof(UndotValue));

	u->kind = UNDOT_RAW;
	u->raw = *v;
	return u;
}

static void
undot_append(UndotValue *u, char *key, int keylen, UndotValue *val)
{
	if (u->n == u->cap)
	{
		u->cap = u->cap ? u->cap * 2 : 4;
		u->keys = u->keys ? repalloc(u->keys, sizeof(char *) * u->cap) :
			palloc(sizeof(char *) * u->cap);
		u->keylens = u->keylens ? repalloc(u->keylens, sizeof(int) * u->cap) :
			palloc(sizeof(int) * u->cap);
		u->vals = u->vals ? repalloc(u->vals, sizeof(UndotValue *) * u->cap) :
			palloc(sizeof(UndotValue *) * u->cap);
	}
	u->keys[u->n] = key;
	u->keylens[u->n] = keylen;
	u->vals[u->n] = val;
	u->n++;
}

/* Expand a raw container one level, so that its members can change. */
static UndotValue *
undot_expand(UndotValue *u)
{
	UndotValue *e;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	int			keylen = 0;

	if (u->kind != UNDOT_RAW || u->raw.type != jbvBinary)
		return u;
	e = palloc0(sizeof(UndotValue));
	e->kind = JsonContainerIsObject(u->raw.val.binary.data) ? UNDOT_OBJECT : UNDOT_ARRAY;
	it = JsonbIteratorInit(u->raw.val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = v.val.string.val;
			keylen = v.val.string.len;
		}
		else if (tok == WJB_VALUE || tok == WJB_ELEM)
			undot_append(e, key, keylen, undot_raw(&v));
	}
	return e;
}

static bool
undot_is_object(UndotValue *u)
{
	return u->kind == UNDOT_OBJECT ||
		(u->kind == UNDOT_RAW && u->raw.type == jbvBinary &&
		 JsonContainerIsObject(u->raw.val.binary.data));
}

static bool
undot_is_array(UndotValue *u)
{
	return u->kind == UNDOT_ARRAY ||
		(u->kind == UNDOT_RAW && u->raw.type == jbvBinary &&
		 JsonContainerIsArray(u->raw.val.binary.data));
}

static UndotValue *undot_merge(UndotValue *x, UndotValue *y);

/* A copy that merging can change without changing the original. */
static UndotValue *
undot_copy(UndotValue *u)
{
	UndotValue *c;

	if (u->kind == UNDOT_RAW)
		return u;
	c = palloc0(sizeof(UndotValue));
	c->kind = u->kind;
	for (int i = 0; i < u->n; i++)
		undot_append(c, u->keys[i], u->keylens[i], undot_copy(u->vals[i]));
	return c;
}

/* Add key: val to an object, merging with a value already there. */
static void
undot_put(UndotValue *obj, char *key, int keylen, UndotValue *val)
{
	for (int i = 0; i < obj->n; i++)
	{
		if (obj->keylens[i] == keylen && memcmp(obj->keys[i], key, keylen) == 0)
		{
			obj->vals[i] = undot_merge(obj->vals[i], val);
			return;
		}
	}
	undot_append(obj, key, keylen, val);
}

/* The members of a value seen as a list: arrays flattened, objects apart. */
static void
undot_flatten(UndotValue *u, List **scalars, List **objects)
{
	if (undot_is_array(u))
	{
		u = undot_expand(u);
		for (int i = 0; i < u->n; i++)
			undot_flatten(u->vals[i], scalars, objects);
	}
	else if (undot_is_object(u))
		*objects = lappend(*objects, u);
	else
		*scalars = lappend(*scalars, u);
}

/*
 * Two values at the same field name.  Objects merge member by member (no
 * array lies between their fields).  Otherwise the result is a list of
 * both values' scalars and of their objects; when both sides hold objects,
 * each object of one merged with each of the other, since fields of
 * different arrays may combine.
 */
static UndotValue *
undot_merge(UndotValue *x, UndotValue *y)
{
	List	   *xs = NIL,
			   *xo = NIL,
			   *ys = NIL,
			   *yo = NIL;
	UndotValue *result;
	ListCell   *lc;

	CHECK_FOR_INTERRUPTS();
	if (undot_is_object(x) && undot_is_object(y))
	{
		x = undot_expand(x);
		y = undot_expand(y);
		for (int i = 0; i < y->n; i++)
			undot_put(x, y->keys[i], y->keylens[i], y->vals[i]);
		return x;
	}
	undot_flatten(x, &xs, &xo);
	undot_flatten(y, &ys, &yo);
	result = palloc0(sizeof(UndotValue));
	result->kind = UNDOT_ARRAY;
	foreach(lc, list_concat(xs, ys))
		undot_append(result, NULL, 0, lfirst(lc));
	if (xo == NIL || yo == NIL)
	{
		foreach(lc, list_concat(xo, yo))
			undot_append(result, NULL, 0, lfirst(lc));
	}
	else
	{
		ListCell   *lx;
		ListCell   *ly;

		if ((double) list_length(xo) * list_length(yo) > UNDOT_MAX_PRODUCT)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("event has too many objects under one field name spelled with and without dots"),
					 errdetail("Combining them would take more than %d objects.", UNDOT_MAX_PRODUCT),
					 errhint("Spell each field name one way in the event.")));
		foreach(lx, xo)
			foreach(ly, yo)
				undot_append(result, NULL, 0,
							 undot_merge(undot_copy(lfirst(lx)), undot_copy(lfirst(ly))));
	}
	return result;
}

/* Push a rebuilt value into a jsonb being built; the outermost's result. */
static JsonbValue *
undot_push(JsonbParseState **ps, UndotValue *u, JsonbIteratorToken as)
{
	check_stack_depth();
	if (u->kind == UNDOT_RAW)
		return pushJsonbValue(ps, as, &u->raw);
	(void) pushJsonbValue(ps, u->kind == UNDOT_OBJECT ? WJB_BEGIN_OBJECT : WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < u->n; i++)
	{
		if (u->kind == UNDOT_OBJECT)
		{
			JsonbValue	k;

			k.type = jbvString;
			k.val.string.val = u->keys[i];
			k.val.string.len = u->keylens[i];
			(void) pushJsonbValue(ps, WJB_KEY, &k);
			undot_push(ps, u->vals[i], WJB_VALUE);
		}
		else
			undot_push(ps, u->vals[i], WJB_ELEM);
	}
	return pushJsonbValue(ps, u->kind == UNDOT_OBJECT ? WJB_END_OBJECT : WJB_END_ARRAY, NULL);
}

/*
 * The object with every dotted key "a.b.c": v read as "a": {"b": {"c": v}}
 * and merged with what else the object holds under "a".  Objects without
 * dotted keys come back as they are; nested objects are handled when the
 * matcher reaches them.
 */
static JsonbContainer *
undot_object(JsonbContainer *object)
{
	UndotValue *result;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;
	int			keylen = 0;
	JsonbParseState *ps = NULL;
	JsonbValue *built;
	Jsonb	   *jb;

	result = palloc0(sizeof(UndotValue));
	result->kind = UNDOT_OBJECT;
	it = JsonbIteratorInit(object);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = v.val.string.val;
			keylen = v.val.string.len;
		}
		else if (tok == WJB_VALUE)
		{
			UndotValue *val = undot_raw(&v);
			const char *dot;

			/* "a.b.c": v becomes "a": {"b": {"c": v}} */
			while ((dot = memrchr(key, '.', keylen)) != NULL)
			{
				UndotValue *wrap = palloc0(sizeof(UndotValue));

				wrap->kind = UNDOT_OBJECT;
				undot_append(wrap, (char *) dot + 1, keylen - (dot - key) - 1, val);
				val = wrap;
				keylen = dot - key;
			}
			undot_put(result, key, keylen, val);
		}
	}
	built = undot_push(&ps, result, WJB_VALUE);
	jb = JsonbValueToJsonb(built);
	return &jb->root;
}

JsonbContainer *
pattern_undotted_object(JsonbContainer *object)
{
	return object_has_dotted_keys(object) ? undot_object(object) : object;
}

/* ---------------------------------------------------------------------
 * Case-insensitive comparison
 * ---------------------------------------------------------------------
 */

/*
 * Does the event character e match the operand character c (c, its lower
 * or its upper case)?
 */
static inline bool
char_matches(uint32 e, const uint32 *c)
{
	return e == c[0] || e == c[1] || e == c[2];
}

/* Step back over one UTF-8 character ending at s + end; its start offset. */
static int
utf8_prev(const unsigned char *s, int end)
{
	int			i = end - 1;

	while (i > 0 && end - i < 4 && (s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

/*
 * Case-insensitive comparison of the event string against an operand:
 * whole string (mode 0), prefix (mode 1) or suffix (mode 2).  Characters
 * compare one by one, each event character against the operand
 * character, its simple lower case and its simple upper case.
 */
static bool
match_ignore_case(const PatternCond *cond, const char *str, int len, int mode)
{
	const unsigned char *s = (const unsigned char *) str;
	int			n = cond->nchars;

	if (GetDatabaseEncoding() != PG_UTF8 && GetDatabaseEncoding() != PG_SQL_ASCII)
	{
		for (int i = 0; i < len; i++)
		{
			if (IS_HIGHBIT_SET(str[i]))
			{
				s = (const unsigned char *) pg_server_to_any(str, len, PG_UTF8);
				len = strlen((const char *) s);
				break;
			}
		}
	}

	if (mode == 2)
	{
		int			end = len;

		for (int k = n - 1; k >= 0; k--)
		{
			int			at;
			uint32		e;

			if (end <= 0)
				return false;
			at = utf8_prev(s, end);
			if (unicode_utf8_decode(s + at, end - at, &e) != end - at)
				e = s[end - 1], at = end - 1;
			if (!char_matches(e, cond->chars[k]))
				return false;
			end = at;
		}
		return true;
	}
	else
	{
		int			pos = 0;

		for (int k = 0; k < n; k++)
		{
			uint32		e;

			if (pos >= len)
				return false;
			pos += unicode_utf8_decode(s + pos, len - pos, &e);
			if (!char_matches(e, cond->chars[k]))
				return false;
		}
		return mode == 1 || pos == len;
	}
}

static const char *
find_bytes(const char *hay, int haylen, const char *needle, int nlen)
{
	if (nlen == 0)
		return hay;
	for (int i = 0; i + nlen <= haylen; i++)
	{
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0)
			return hay + i;
	}
	return NULL;
}

/*
 * Glob matching with '*' only.  Consecutive stars are refused at compile
 * time, so taking the leftmost occurrence of each inner segment is exact.
 */
static bool
match_wildcard(const PatternWildcard *wc, const char *s, int len)
{
	int			pos = 0;
	int			end = len;
	int			first = 0;
	int			last = wc->nsegments;

	if (!wc->leading_star && !wc->trailing_star && wc->nsegments <= 1)
	{
		/* no star at all: an exact comparison */
		int			seglen = wc->nsegments ? wc->seglens[0] : 0;

		return seglen == len && (len == 0 || memcmp(s, wc->segments[0], len) == 0);
	}
	if (!wc->leading_star)
	{
		if (len < wc->seglens[0] || memcmp(s, wc->segments[0], wc->seglens[0]) != 0)
			return false;
		pos = wc->seglens[0];
		first = 1;
	}
	if (!wc->trailing_star)
	{
		int			l = wc->seglens[wc->nsegments - 1];

		if (len - l < pos || memcmp(s + len - l, wc->segments[wc->nsegments - 1], l) != 0)
			return false;
		end = len - l;
		last = wc->nsegments - 1;
	}
	for (int i = first; i < last; i++)
	{
		const char *found = find_bytes(s + pos, end - pos,
									   wc->segments[i], wc->seglens[i]);

		if (found == NULL)
			return false;
		pos = (found - s) + wc->seglens[i];
	}
	return true;
}

static bool
match_cidr(const PatternCond *cond, const char *s, int len)
{
	char		buf[INET6_ADDRSTRLEN + 1];
	unsigned char addr[16];
	int			full;
	int			rest;

	if (len <= 0 || len >= (int) sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(cond->family == 4 ? AF_INET : AF_INET6, buf, addr) != 1)
		return false;

	full = cond->prefix_bits / 8;
	rest = cond->prefix_bits % 8;
	if (memcmp(addr, cond->network, full) != 0)
		return false;
	if (rest > 0)
	{
		unsigned char mask = (unsigned char) (0xFF << (8 - rest));

		if ((addr[full] & mask) != cond->network[full])
			return false;
	}
	return true;
}

static int
compare_numeric(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/* Does one scalar value of the event satisfy one condition? */
static bool
match_condition(const PatternCond *cond, const JsonbValue *v)
{
	switch (cond->kind)
	{
		case PCOND_STRING:
			return v->type == jbvString && v->val.string.len == cond->len &&
				memcmp(v->val.string.val, cond->str, cond->len) == 0;
		case PCOND_NUMBER:
			return v->type == jbvNumeric &&
				compare_numeric(v->val.numeric, cond->number) == 0;
		case PCOND_TRUE:
			return v->type == jbvBool && v->val.boolean;
		case PCOND_FALSE:
			return v->type == jbvBool && !v->val.boolean;
		case PCOND_NULL:
			return v->type == jbvNull;
		case PCOND_PREFIX:
			return v->type == jbvString && v->val.string.len >= cond->len &&
				memcmp(v->val.string.val, cond->str, cond->len) == 0;
		case PCOND_SUFFIX:
			return v->type == jbvString && v->val.string.len >= cond->len &&
				memcmp(v->val.string.val + v->val.string.len - cond->len,
					   cond->str, cond->len) == 0;
		case PCOND_EQUALS_IC:
			return v->type == jbvString &&
				match_ignore_case(cond, v->val.string.val, v->val.string.len, 0);
		case PCOND_PREFIX_IC:
			return v->type == jbvString &&
				match_ignore_case(cond, v->val.string.val, v->val.string.len, 1);
		case PCOND_SUFFIX_IC:
			return v->type == jbvString &&
				match_ignore_case(cond, v->val.string.val, v->val.string.len, 2);
		case PCOND_WILDCARD:
			return v->type == jbvString &&
				match_wildcard(cond->wildcard, v->val.string.val,
							   v->val.string.len);
		case PCOND_NUMERIC:
			if (v->type != jbvNumeric)
				return false;
			if (cond->lower)
			{
				int			c = compare_numeric(v->val.numeric, cond->lower);

				if (c < 0 || (c == 0 && !cond->lower_inclusive))
					return false;
			}
			if (cond->upper)
			{
				int			c = compare_numeric(v->val.numeric, cond->upper);

				if (c > 0 || (c == 0 && !cond->upper_inclusive))
					return false;
			}
			return true;
		case PCOND_EXISTS:
			/* a value is present here */
			return cond->exists;
		case PCOND_CIDR:
			return v->type == jbvString &&
				match_cidr(cond, v->val.string.val, v->val.string.len);
		case PCOND_ANYTHING_BUT:
			for (int i = 0; i < cond->nnegated; i++)
			{
				if (match_condition(&cond->negated[i], v))
					return false;
			}
			return true;
	}
	return false;
}

static bool
match_any_condition(const PatternField *field, const JsonbValue *v)
{
	for (int i = 0; i < field->nconds; i++)
	{
		if (match_condition(&field->conds[i], v))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------------
 * Absence
 * ---------------------------------------------------------------------
 */

static bool object_has_value_at(JsonbContainer *object, char **path,
								int *lens, int depth, int n);

/* Does v, at depth `depth` of the path, hold a scalar at the path's end? */
static bool
value_has_value_at(JsonbValue *v, char **path, int *lens, int depth, int n)
{
	if (v->type != jbvBinary)
		return depth == n;
	if (JsonContainerIsObject(v->val.binary.data))
		return depth < n &&
			object_has_value_at(v->val.binary.data, path, lens, depth, n);
	else
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	elem;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		{
			if (tok == WJB_ELEM && value_has_value_at(&elem, path, lens, depth, n))
				return true;
		}
		return false;
	}
}

static bool
object_has_value_at(JsonbContainer *object, char **path, int *lens,
					int depth, int n)
{
	JsonbValue	buf;
	JsonbValue *v;

	check_stack_depth();
	object = pattern_undotted_object(object);
	v = getKeyJsonValueFromContainer(object, path[depth], lens[depth], &buf);
	return v != NULL && value_has_value_at(v, path, lens, depth + 1, n);
}

/* {"exists": false} of this field: no value at its path in the event. */
static bool
field_absent(const MatchContext *mc, const PatternField *field)
{
	return field->has_absent &&
		!object_has_value_at(mc->root, field->abspath, field->abspathlens,
							 0, field->nabspath);
}

/* ---------------------------------------------------------------------
 * The tree walk
 * ---------------------------------------------------------------------
 */

/*
 * Match a field's conditions against the scalars of an array, flattening
 * nested arrays.  *seen is set when at least one scalar was found.
 */
static bool
match_leaf_array(const PatternField *field, JsonbContainer *array, bool *seen)
{
	JsonbIterator *it = JsonbIteratorInit(array);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (v.type == jbvBinary)
		{
			if (JsonContainerIsArray(v.val.binary.data) &&
				match_leaf_array(field, v.val.binary.data, seen))
				return true;
			continue;
		}
		*seen = true;
		if (match_any_condition(field, &v))
			return true;
	}
	return false;
}

/* A field's conditions against the event's value there (NULL: none). */
static bool
match_leaf(const MatchContext *mc, const PatternField *field, JsonbValue *value)
{
	bool		seen = false;

	if (value != NULL)
	{
		if (value->type != jbvBinary)
		{
			if (match_any_condition(field, value))
				return true;
			seen = true;
		}
		else if (JsonContainerIsArray(value->val.binary.data) &&
				 match_leaf_array(field, value->val.binary.data, &seen))
			return true;
	}
	/* an object or an array without scalars holds no value here */
	return !seen && field_absent(mc, field);
}

static bool
match_child_array(const MatchContext *mc, const PatternNode *node,
				  JsonbContainer *array, bool *seen)
{
	JsonbIterator *it = JsonbIteratorInit(array);
	JsonbValue	v;
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM || v.type != jbvBinary)
			continue;
		if (JsonContainerIsObject(v.val.binary.data))
		{
			*seen = true;
			if (match_node(mc, node, v.val.binary.data))
				return true;
		}
		else if (match_child_array(mc, node, v.val.binary.data, seen))
			return true;
	}
	return false;
}

/* A nested pattern against the event's value there (NULL: none). */
static bool
match_child(const MatchContext *mc, const PatternNode *node, JsonbValue *value)
{
	bool		seen = false;

	if (value != NULL && value->type == jbvBinary)
	{
		JsonbContainer *c = value->val.binary.data;

		if (JsonContainerIsObject(c))
			return match_node(mc, node, c);
		if (match_child_array(mc, node, c, &seen))
			return true;
		if (seen)
			return false;
	}
	/* a scalar or an array without objects: nothing below this path */
	return node_matches_missing(mc, node);
}

static bool
node_matches_missing(const MatchContext *mc, const PatternNode *node)
{
	for (int i = 0; i < node->nfields; i++)
	{
		const PatternField *f = &node->fields[i];

		for (const PatternField *clause = f; clause != NULL; clause = clause->also)
			if (clause->nconds > 0 && !field_absent(mc, clause))
				return false;
		if (f->child && !node_matches_missing(mc, f->child))
			return false;
	}
	for (int i = 0; i < node->nors; i++)
	{
		bool		any = false;

		for (int j = 0; j < node->ors[i].nalternatives && !any; j++)
			any = node_matches_missing(mc, node->ors[i].alternatives[j]);
		if (!any)
			return false;
	}
	return true;
}

/* Match one object level of the pattern against an object of the event. */
static bool
match_node(const MatchContext *mc, const PatternNode *node,
		   JsonbContainer *object)
{
	check_stack_depth();

	if (unlikely(object_has_dotted_keys(object)))
		object = undot_object(object);
	for (int i = 0; i < node->nfields; i++)
	{
		const PatternField *field = &node->fields[i];
		JsonbValue	buf;
		JsonbValue *value;

		value = getKeyJsonValueFromContainer(object, field->key, field->keylen,
											 &buf);
		if (field->nconds > 0 && !match_leaf(mc, field, value))
			return false;
		if (unlikely(field->also != NULL))
		{
			for (const PatternField *clause = field->also; clause != NULL;
				 clause = clause->also)
				if (!match_leaf(mc, clause, value))
					return false;
		}
		if (field->child && !match_child(mc, field->child, value))
			return false;
	}
	for (int i = 0; i < node->nors; i++)
	{
		const PatternOr *or = &node->ors[i];
		bool		any = false;

		for (int j = 0; j < or->nalternatives && !any; j++)
			any = match_node(mc, or->alternatives[j], object);
		if (!any)
			return false;
	}
	return true;
}

/* Does the event (a JSON object) match the pattern? */
bool
pattern_match(const EventPattern *pattern, Jsonb *event)
{
	MatchContext mc;

	if (!JB_ROOT_IS_OBJECT(event))
		return false;
	mc.root = &event->root;
	return match_node(&mc, pattern->root, &event->root);
}
