/*-------------------------------------------------------------------------
 *
 * pattern_match.c
 *	  Matching an event (jsonb, binary form) against a compiled pattern.
 *
 * The matcher looks up each pattern key in the event's object with jsonb's
 * binary search, never converting the event to text.  When the event's
 * value is an array, a leaf condition holds if it holds for any element,
 * and a nested pattern holds if it holds for any element object (so fields
 * of one element are never combined with fields of another).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "catalog/pg_collation.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"

#include "pattern.h"

static bool node_matches_missing(const PatternNode *node);
static bool match_child(const PatternNode *node, JsonbValue *value);

/*
 * Lower-case a string for equals-ignore-case comparisons: ASCII directly,
 * anything else with the database's default collation.
 */
char *
pattern_fold_case(const char *s, int len, int *outlen)
{
	char	   *result;

	for (int i = 0; i < len; i++)
	{
		if (IS_HIGHBIT_SET(s[i]))
		{
			result = str_tolower(s, len, DEFAULT_COLLATION_OID);
			*outlen = strlen(result);
			return result;
		}
	}
	result = palloc(len + 1);
	for (int i = 0; i < len; i++)
		result[i] = pg_ascii_tolower((unsigned char) s[i]);
	result[len] = '\0';
	*outlen = len;
	return result;
}

/*
 * Case-insensitive comparison of the event string s against a lower-cased
 * operand: whole string (mode 0), prefix (mode 1) or suffix (mode 2).
 */
static bool
match_ignore_case(const char *s, int len, const char *lowered, int lowlen,
				  int mode)
{
	bool		ascii = true;
	const char *cmp;
	int			cmplen;
	int			offset;

	for (int i = 0; i < len; i++)
	{
		if (IS_HIGHBIT_SET(s[i]))
		{
			ascii = false;
			break;
		}
	}
	if (ascii)
	{
		cmp = s;
		cmplen = len;
	}
	else
		cmp = pattern_fold_case(s, len, &cmplen);

	if (mode == 0 ? cmplen != lowlen : cmplen < lowlen)
		return false;
	offset = (mode == 2) ? cmplen - lowlen : 0;
	for (int i = 0; i < lowlen; i++)
	{
		if (pg_ascii_tolower((unsigned char) cmp[offset + i]) !=
			(unsigned char) lowered[i])
			return false;
	}
	return true;
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
				match_ignore_case(v->val.string.val, v->val.string.len,
								  cond->str, cond->len, 0);
		case PCOND_PREFIX_IC:
			return v->type == jbvString &&
				match_ignore_case(v->val.string.val, v->val.string.len,
								  cond->str, cond->len, 1);
		case PCOND_SUFFIX_IC:
			return v->type == jbvString &&
				match_ignore_case(v->val.string.val, v->val.string.len,
								  cond->str, cond->len, 2);
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

static bool
field_matches_missing(const PatternField *field)
{
	if (field->child)
		return node_matches_missing(field->child);
	for (int i = 0; i < field->nconds; i++)
	{
		if (field->conds[i].kind == PCOND_EXISTS && !field->conds[i].exists)
			return true;
	}
	return false;
}

/*
 * Match a leaf against the scalars of an array, flattening nested arrays.
 * *seen is set when at least one scalar was found.
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

static bool
match_leaf(const PatternField *field, JsonbValue *value)
{
	bool		seen = false;

	if (value->type != jbvBinary)
		return match_any_condition(field, value);
	if (JsonContainerIsArray(value->val.binary.data))
	{
		if (match_leaf_array(field, value->val.binary.data, &seen))
			return true;
		if (seen)
			return false;
	}
	/* an object, or an array without scalars: no value at this path */
	return field_matches_missing(field);
}

static bool
match_child_array(const PatternNode *node, JsonbContainer *array, bool *seen)
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
			if (pattern_match_node(node, v.val.binary.data))
				return true;
		}
		else if (match_child_array(node, v.val.binary.data, seen))
			return true;
	}
	return false;
}

static bool
match_child(const PatternNode *node, JsonbValue *value)
{
	bool		seen = false;

	if (value->type == jbvBinary)
	{
		JsonbContainer *c = value->val.binary.data;

		if (JsonContainerIsObject(c))
			return pattern_match_node(node, c);
		if (match_child_array(node, c, &seen))
			return true;
		if (seen)
			return false;
	}
	/* a scalar or an array without objects: nothing below this path */
	return node_matches_missing(node);
}

static bool
node_matches_missing(const PatternNode *node)
{
	for (int i = 0; i < node->nfields; i++)
	{
		if (!field_matches_missing(&node->fields[i]))
			return false;
	}
	for (int i = 0; i < node->nors; i++)
	{
		bool		any = false;

		for (int j = 0; j < node->ors[i].nalternatives && !any; j++)
			any = node_matches_missing(node->ors[i].alternatives[j]);
		if (!any)
			return false;
	}
	return true;
}

/* Match one object level of the pattern against an object of the event. */
bool
pattern_match_node(const PatternNode *node, JsonbContainer *object)
{
	check_stack_depth();

	for (int i = 0; i < node->nfields; i++)
	{
		const PatternField *field = &node->fields[i];
		JsonbValue	buf;
		JsonbValue *value;

		value = getKeyJsonValueFromContainer(object, field->key, field->keylen,
											 &buf);
		if (value == NULL)
		{
			if (!field_matches_missing(field))
				return false;
		}
		else if (field->child)
		{
			if (!match_child(field->child, value))
				return false;
		}
		else if (!match_leaf(field, value))
			return false;
	}
	for (int i = 0; i < node->nors; i++)
	{
		const PatternOr *or = &node->ors[i];
		bool		any = false;

		for (int j = 0; j < or->nalternatives && !any; j++)
			any = pattern_match_node(or->alternatives[j], object);
		if (!any)
			return false;
	}
	return true;
}

/* Does the event (a JSON object) match the pattern? */
bool
pattern_match(const EventPattern *pattern, Jsonb *event)
{
	if (!JB_ROOT_IS_OBJECT(event))
		return false;
	return pattern_match_node(pattern->root, &event->root);
}
