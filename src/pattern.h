/*-------------------------------------------------------------------------
 *
 * pattern.h
 *	  The compiled form of an EventBridge event pattern, shared by the
 *	  compiler (pattern_compile.c), the matcher (pattern_match.c), the SQL
 *	  functions (pattern_funcs.c) and the per-bus rule index.
 *
 * A pattern is a tree of PatternNodes.  A node is an object level of the
 * pattern: all of its fields must match (AND), and each of its $or groups
 * must have at least one alternative that matches.  A field either nests a
 * further node (the event's value must be an object, or an array holding
 * one) or is a leaf holding a list of conditions, any of which may match
 * any of the event's values at that path (OR).
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

	/* string operand; lower-cased for the *_IC kinds */
	char	   *str;
	int			len;

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
	char	   *key;
	int			keylen;
	struct PatternNode *child;	/* nested object pattern, or NULL for a leaf */
	int			nconds;			/* leaf: conditions, ORed */
	PatternCond *conds;
} PatternField;

typedef struct PatternOr
{
	int			nalternatives;
	struct PatternNode **alternatives;
} PatternOr;

typedef struct PatternNode
{
	int			nfields;
	PatternField *fields;
	int			nors;
	PatternOr  *ors;
} PatternNode;

typedef struct EventPattern
{
	PatternNode *root;
	int			text_size;		/* characters of the pattern's JSON text */
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

/* pattern_compile.c */
extern EventPattern *pattern_compile(Jsonb *pattern, PatternError *error);
extern void pattern_report_error(const PatternError *error) pg_attribute_noreturn();
extern EventPattern *pattern_compile_or_error(Jsonb *pattern);

/* pattern_match.c */
extern bool pattern_match(const EventPattern *pattern, Jsonb *event);
extern bool pattern_match_node(const PatternNode *node, JsonbContainer *object);
extern char *pattern_fold_case(const char *s, int len, int *outlen);

#endif							/* EVENTBUS_PATTERN_H */
