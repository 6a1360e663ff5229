/*-------------------------------------------------------------------------
 *
 * pattern.h
 *	  The compiled form of an EventBridge event pattern, shared by the
 *	  compiler (pattern_compile.c), the matcher (pattern_match.c), the SQL
 *	  functions (pattern_funcs.c) and the per-bus rule index.
 *
 * A pattern is a tree of PatternNodes.  A node is an object level of the
 * pattern: all of its fields must match (AND), and each of its $or groups
 * must have at least one alternative that matches.  A field may nest a
 * further node (the event's value must be an object, or an array holding
 * one) and may hold a list of conditions, any of which may match any of
 * the event's scalar values at that path (OR); a field with both needs
 * both.
 *
 * Field names are joined with dots, as EventBridge does: the compiler
 * splits every key at its dots, so {"a.b": [1]} and {"a": {"b": [1]}} give
 * the same tree, and the matcher reads an event key "a.b" as "a" then "b".
 *
 * After compilation no $or branch names a field that its enclosing node
 * names too, at any depth: such fields are moved into the branches (see
 * pattern_compile.c), so that each alternative is one tree and all of its
 * fields below one array come from the same element.  The fields of a node
 * outside its $or groups are therefore required, with exactly those
 * conditions, by every alternative.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_PATTERN_H
#define EVENTBUS_PATTERN_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/numeric.h"

typedef enum PatternCondKind
{
	PCOND_STRING,				/* exact string */
	PCOND_NUMBER,				/* exact number, compared by value */
	PCOND_TRUE,
	PCOND_FALSE,
	PCOND_NULL,
	PCOND_PREFIX,
	PCOND_PREFIX_IC,			/* prefix, equals-ignore-case */
	PCOND_SUFFIX,
	PCOND_SUFFIX_IC,			/* suffix, equals-ignore-case */
	PCOND_EQUALS_IC,			/* equals-ignore-case */
	PCOND_WILDCARD,
	PCOND_NUMERIC,				/* numeric comparison or range */
	PCOND_EXISTS,
	PCOND_CIDR,
	PCOND_ANYTHING_BUT			/* none of "negated" matches */
} PatternCondKind;

/* A wildcard value split at its unescaped '*' characters. */
typedef struct PatternWildcard
{
	int			nsegments;		/* literal segments between stars */
	char	  **segments;		/* escapes resolved */
	int		   *seglens;
	bool		leading_star;
	bool		trailing_star;
} PatternWildcard;

typedef struct PatternCond
{
	PatternCondKind kind;

	/* string operand, as written */
	char	   *str;
	int			len;

	/*
	 * *_IC kinds: the operand's characters, each with its simple lower and
	 * upper case mappings: an event character matches if it is one of the
	 * three.
	 */
	int			nchars;
	uint32	   (*chars)[3];

	/* PCOND_NUMBER */
	Numeric		number;

	/* PCOND_NUMERIC: an interval, either end optional */
	Numeric		lower;
	Numeric		upper;
	bool		lower_inclusive;
	bool		upper_inclusive;

	/* PCOND_EXISTS */
	bool		exists;

	/* PCOND_WILDCARD */
	PatternWildcard *wildcard;

	/* PCOND_CIDR */
	int			family;			/* 4 or 6 */
	int			prefix_bits;
	unsigned char network[16];

	/* PCOND_ANYTHING_BUT: a value matches when none of these does */
	int			nnegated;
	struct PatternCond *negated;
} PatternCond;

struct PatternNode;

typedef struct PatternField
{
	char	   *key;			/* one dot-free segment of the field name */
	int			keylen;
	struct PatternNode *child;	/* nested object pattern, or NULL */
	int			nconds;			/* conditions on scalar values, ORed */
	PatternCond *conds;

	/*
	 * When a condition is {"exists": false}: the field's whole path from
	 * the event's root.  Absence is judged over the whole event: no value
	 * at this path in any element of any array on the way.
	 */
	bool		has_absent;
	int			nabspath;
	char	  **abspath;
	int		   *abspathlens;

	/* how many $or the conditions were written inside (0: none) */
	int			or_depth;

	/*
	 * A further list of conditions on the same path that must hold too (the
	 * path named twice at one $or depth, e.g. as "a.b" and {"a": {"b"}}):
	 * a chain of fields with the same key, no child, the same or_depth.
	 * NULL almost always.
	 */
	struct PatternField *also;
} PatternField;

typedef struct PatternOr
{
	int			nalternatives;
	struct PatternNode **alternatives;
} PatternOr;

typedef struct PatternNode
{
	int			nfields;
	int			fieldcap;
	PatternField *fields;
	int			nors;
	int			orcap;
	PatternOr  *ors;
} PatternNode;

typedef struct EventPattern
{
	PatternNode *root;
} EventPattern;

/*
 * Why a pattern was refused.  The compiler never throws: callers decide
 * whether an invalid pattern is an error (put_rule, the operator) or just
 * false (is_valid_event_pattern).
 */
typedef struct PatternError
{
	char	   *reason;			/* e.g. "\"source\" must be an array" */
	char	   *path;			/* dotted path of the offending key */
} PatternError;

/*
 * The bound on a rule's wildcard complexity: the most wildcard-pattern
 * prefixes that one value of a field can be in at once (see
 * pattern_compile.c).  EventBridge refuses patterns above it.
 */
#define PATTERN_MAX_COMPLEXITY 10

/*
 * The most alternatives a pattern's $or groups may expand into (the product
 * over independent $or of their sums of branches); a bound on the work and
 * memory of compiling them, refused above it.
 */
#define PATTERN_MAX_ALTERNATIVES 1000

/* pattern_compile.c */
extern EventPattern *pattern_compile(Jsonb *pattern, PatternError *error);
extern void pattern_report_error(const PatternError *error) pg_attribute_noreturn();
extern EventPattern *pattern_compile_or_error(Jsonb *pattern);
extern EventPattern *pattern_compile_stored(Jsonb *pattern);

/* pattern_match.c */
extern bool pattern_match(const EventPattern *pattern, Jsonb *event);
extern JsonbContainer *pattern_undotted_object(JsonbContainer *object);

/* pattern_support.c */
extern bool eventbus_pattern_index_conditions;
extern void pattern_support_define_settings(void);

/* unicode_case.c */
extern void unicode_simple_case(uint32 cp, uint32 *lower, uint32 *upper);
extern int	unicode_utf8_decode(const unsigned char *s, int len, uint32 *cp);

#endif							/* EVENTBUS_PATTERN_H */
