/*-------------------------------------------------------------------------
 *
 * pattern_support.c
 *	  The planner support function of eventbus.event_matches: index
 *	  conditions for pattern queries over stored events.
 *
 * A query over the stored events
 *
 *	  WHERE eventbus.event_envelope(e) =~ '<pattern>'
 *
 * would build and match the envelope of every row.  When the left argument
 * is the envelope of a row of eventbus.events and the pattern a constant,
 * SupportRequestSimplify rewrites the call into
 *
 *	  event_matches(event_envelope(e), pattern) AND <conditions on e>
 *
 * where the conditions follow from the pattern's exact values (strings,
 * numbers, true, false) and are only necessary: the match stays as the
 * recheck, so a condition may let through rows that do not match but must
 * never drop one that does.  A field whose value list holds anything but
 * exact values (prefix, suffix, anything-but, numeric, exists, wildcard,
 * equals-ignore-case, cidr, null) gives no condition.  A list is an OR, so
 * is $or (over its branches); the fields of a level are an AND.
 *
 *	  source, detail-type, account, region	column = ANY('{...}')
 *	  resources								resources && '{...}'
 *	  detail								detail @@ '<jsonpath>'
 *
 * A detail condition is a jsonpath predicate of the form
 * ($.a[*][*][*].b[*][*][*] == "x" || ...) && (...), which a GIN index with
 * jsonb_path_ops answers (it hashes a value with its path of keys, arrays
 * left out; it handles ==, && and || and skips [*]).  It has to hold for
 * every event the matcher accepts:
 *	- an array holds a value when any element does, nested arrays too (the
 *	  matcher flattens them): lax mode unwraps one array level at each key
 *	  and at the comparison, and each [*] one more, so a path covers arrays
 *	  nested up to INDEX_ARRAY_DEPTH deep at every level.  A deeper nesting
 *	  at a pattern's path is found by the matcher but not by the condition
 *	  (see the GUC's description);
 *	- numbers compare by value (5 = 5.0), as jsonpath's == and GIN's
 *	  numeric hash do; strings byte for byte, as both do;
 *	- an event key "a.b" is the field b of a: a path of n segments is tried
 *	  as every way of joining neighbouring segments with dots (2^(n-1));
 *	- a comparison of different types is unknown in jsonpath, never true,
 *	  and unknown || true is true, so an OR still finds a value of another
 *	  type.
 * Above INDEX_MAX_SEGMENTS segments or INDEX_MAX_ATOMS comparisons a part
 * gives no condition (which only widens the condition).
 *
 * The rewritten match carries a mark (its pattern constant's location is
 * INDEX_MARK) so that the simplifier, which simplifies the arms of an AND
 * it just made once more, does not rewrite it again.  The mark also tells
 * the selectivity request that the conditions already carry the estimate.
 *
 * eventbus.pattern_index_conditions = off turns the rewrite off.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "pattern.h"

PG_FUNCTION_INFO_V1(eventbus_event_matches_support);

/* how deep nested arrays are covered at each level of a detail path */
#define INDEX_ARRAY_DEPTH 4
/* the longest path below detail given a condition */
#define INDEX_MAX_SEGMENTS 6
/* the most comparisons in one detail condition */
#define INDEX_MAX_ATOMS 512
/* the location of a rewritten match's pattern: never a parser's */
#define INDEX_MARK (-2)

bool		eventbus_pattern_index_conditions = true;

void
pattern_support_define_settings(void)
{
	DefineCustomBoolVariable("eventbus.pattern_index_conditions",
							 "Derives index conditions on eventbus.events from the exact values of a pattern matched against eventbus.event_envelope(e).",
							 "The planner adds to event_envelope(e) =~ pattern (constant) conditions on source, detail-type, account, region, resources and detail (jsonpath for a GIN jsonb_path_ops index) that every match satisfies; the match is still checked. Off: every row is matched. A detail value inside arrays nested more than 4 deep is missed by the conditions.",
							 &eventbus_pattern_index_conditions,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
}

typedef struct SupportContext
{
	Index		varno;
	Index		varlevelsup;
#if PG_VERSION_NUM >= 160000
	Bitmapset  *varnullingrels;
#endif
	Oid			relid;			/* eventbus.events */
	int			natoms;			/* comparisons in detail conditions so far */
} SupportContext;

/* The path below detail being walked. */
typedef struct DetailPath
{
	int			n;				/* depth below detail */
	const char *segs[INDEX_MAX_SEGMENTS];	/* the first segments */
	int			lens[INDEX_MAX_SEGMENTS];
} DetailPath;

static bool
key_is(const PatternField *f, const char *name)
{
	return f->keylen == strlen(name) && memcmp(f->key, name, f->keylen) == 0;
}

static bool
cond_is_exact(const PatternCond *c)
{
	return c->kind == PCOND_STRING || c->kind == PCOND_NUMBER ||
		c->kind == PCOND_TRUE || c->kind == PCOND_FALSE;
}

/* Are all of a clause's conditions exact values? */
static bool
clause_is_exact(const PatternField *clause)
{
	if (clause->nconds == 0)
		return false;
	for (int i = 0; i < clause->nconds; i++)
		if (!cond_is_exact(&clause->conds[i]))
			return false;
	return true;
}

static Var *
column_var(SupportContext *cxt, const char *name, Oid type, Oid collation)
{
	AttrNumber	attnum = get_attnum(cxt->relid, name);
	Var		   *var;

	if (attnum == InvalidAttrNumber || get_atttype(cxt->relid, attnum) != type)
		return NULL;
	var = makeVar(cxt->varno, attnum, type, -1, collation, cxt->varlevelsup);
#if PG_VERSION_NUM >= 160000
	var->varnullingrels = bms_copy(cxt->varnullingrels);
#endif
	return var;
}

/* The clause's exact strings as a text[] constant. */
static Const *
string_array(const PatternField *clause)
{
	Datum	   *elems = palloc(sizeof(Datum) * clause->nconds);
	int			n = 0;
	ArrayType  *arr;

	/* a number or a boolean never equals a text column's string */
	for (int i = 0; i < clause->nconds; i++)
		if (clause->conds[i].kind == PCOND_STRING)
			elems[n++] = PointerGetDatum(cstring_to_text_with_len(clause->conds[i].str,
																  clause->conds[i].len));
	arr = construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
	return makeConst(TEXTARRAYOID, -1, DEFAULT_COLLATION_OID, -1,
					 PointerGetDatum(arr), false, false);
}

/* column = ANY('{...}'), or NULL */
static Node *
text_column_condition(SupportContext *cxt, const char *column,
					  const PatternField *clause)
{
	ScalarArrayOpExpr *saop;
	Var		   *var;

	if (!clause_is_exact(clause))
		return NULL;
	var = column_var(cxt, column, TEXTOID, DEFAULT_COLLATION_OID);
	if (var == NULL)
		return NULL;
	saop = makeNode(ScalarArrayOpExpr);
	saop->opno = TextEqualOperator;
	saop->opfuncid = F_TEXTEQ;
	saop->hashfuncid = InvalidOid;
#if PG_VERSION_NUM >= 150000
	saop->negfuncid = InvalidOid;
#endif
	saop->useOr = true;
	saop->inputcollid = DEFAULT_COLLATION_OID;
	saop->args = list_make2(var, string_array(clause));
	saop->location = -1;
	return (Node *) saop;
}

/* resources && '{...}', or NULL */
static Node *
resources_condition(SupportContext *cxt, const PatternField *clause)
{
	Var		   *var;

	if (!clause_is_exact(clause))
		return NULL;
	var = column_var(cxt, "resources", TEXTARRAYOID, DEFAULT_COLLATION_OID);
	if (var == NULL)
		return NULL;
	return (Node *) make_opclause(OID_ARRAY_OVERLAP_OP, BOOLOID, false,
								  (Expr *) var, (Expr *) string_array(clause),
								  InvalidOid, DEFAULT_COLLATION_OID);
}

/* ---------------------------------------------------------------------
 * jsonpath conditions on detail
 * ---------------------------------------------------------------------
 */

static void
append_json_string(StringInfo buf, const char *s, int len)
{
	char	   *z = pnstrdup(s, len);

	escape_json(buf, z);
	pfree(z);
}

static void
append_value(StringInfo buf, const PatternCond *c)
{
	switch (c->kind)
	{
		case PCOND_STRING:
			append_json_string(buf, c->str, c->len);
			break;
		case PCOND_NUMBER:
			appendStringInfoString(buf,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(c->number))));
			break;
		case PCOND_TRUE:
			appendStringInfoString(buf, "true");
			break;
		case PCOND_FALSE:
			appendStringInfoString(buf, "false");
			break;
		default:
			elog(ERROR, "pattern condition %d is not an exact value", (int) c->kind);
	}
}

/*
 * One way of reading the path (split: bit i set joins segment i and i+1
 * with a dot), with the array steps.
 */
static void
append_path(StringInfo buf, const DetailPath *path, uint32 split)
{
	StringInfoData key;

	initStringInfo(&key);
	appendStringInfoChar(buf, '$');
	for (int i = 0; i < path->n; i++)
	{
		appendBinaryStringInfo(&key, path->segs[i], path->lens[i]);
		if (i < path->n - 1 && (split & (1u << i)))
		{
			appendStringInfoChar(&key, '.');
			continue;
		}
		appendStringInfoChar(buf, '.');
		append_json_string(buf, key.data, key.len);
		for (int d = 1; d < INDEX_ARRAY_DEPTH; d++)
			appendStringInfoString(buf, "[*]");
		resetStringInfo(&key);
	}
	pfree(key.data);
}

/* Some value at the path equals one of the clause's values; NULL: none. */
static char *
leaf_predicate(SupportContext *cxt, const DetailPath *path,
			   const PatternField *clause)
{
	StringInfoData buf;
	uint32		nsplits;
	bool		first = true;

	if (path->n > INDEX_MAX_SEGMENTS || path->n == 0 || !clause_is_exact(clause))
		return NULL;
	nsplits = 1u << (path->n - 1);
	if (cxt->natoms + (int) nsplits * clause->nconds > INDEX_MAX_ATOMS)
		return NULL;
	cxt->natoms += nsplits * clause->nconds;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (uint32 split = 0; split < nsplits; split++)
	{
		for (int i = 0; i < clause->nconds; i++)
		{
			if (!first)
				appendStringInfoString(&buf, " || ");
			first = false;
			append_path(&buf, path, split);
			appendStringInfoString(&buf, " == ");
			append_value(&buf, &clause->conds[i]);
		}
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

static char *
join_predicates(List *parts, const char *op)
{
	StringInfoData buf;
	ListCell   *lc;

	if (parts == NIL)
		return NULL;
	if (list_length(parts) == 1)
		return linitial(parts);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	foreach(lc, parts)
	{
		if (lc != list_head(parts))
			appendStringInfoString(&buf, op);
		appendStringInfoString(&buf, (char *) lfirst(lc));
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* The predicate a detail value matching node satisfies; NULL: none. */
static char *
node_predicate(SupportContext *cxt, const PatternNode *node, DetailPath *path)
{
	List	   *parts = NIL;

	check_stack_depth();
	for (int i = 0; i < node->nfields; i++)
	{
		const PatternField *f = &node->fields[i];

		if (path->n < INDEX_MAX_SEGMENTS)
		{
			path->segs[path->n] = f->key;
			path->lens[path->n] = f->keylen;
		}
		path->n++;

		for (const PatternField *clause = f; clause != NULL; clause = clause->also)
		{
			char	   *p = leaf_predicate(cxt, path, clause);

			if (p != NULL)
				parts = lappend(parts, p);
		}
		if (f->child)
		{
			char	   *p = node_predicate(cxt, f->child, path);

			if (p != NULL)
				parts = lappend(parts, p);
		}

		path->n--;
	}
	for (int i = 0; i < node->nors; i++)
	{
		List	   *alts = NIL;
		bool		all = true;

		for (int j = 0; j < node->ors[i].nalternatives && all; j++)
		{
			char	   *p = node_predicate(cxt, node->ors[i].alternatives[j], path);

			if (p == NULL)
				all = false;	/* this branch may match any detail */
			else
				alts = lappend(alts, p);
		}
		if (all && alts != NIL)
			parts = lappend(parts, join_predicates(alts, " || "));
	}
	return join_predicates(parts, " && ");
}

/* detail @@ '<predicate>', or NULL */
static Node *
detail_condition(SupportContext *cxt, const PatternNode *child)
{
	DetailPath	path;
	char	   *pred;
	Var		   *var;
	Oid			opno;
	Datum		jsonpath;

	memset(&path, 0, sizeof(path));
	pred = node_predicate(cxt, child, &path);
	if (pred == NULL)
		return NULL;
	var = column_var(cxt, "detail", JSONBOID, InvalidOid);
	opno = OpernameGetOprid(list_make2(makeString("pg_catalog"), makeString("@@")),
							JSONBOID, JSONPATHOID);
	if (var == NULL || !OidIsValid(opno))
		return NULL;
	jsonpath = DirectFunctionCall1(jsonpath_in, CStringGetDatum(pred));
	return (Node *) make_opclause(opno, BOOLOID, false, (Expr *) var,
								  (Expr *) makeConst(JSONPATHOID, -1, InvalidOid, -1,
													 jsonpath, false, false),
								  InvalidOid, InvalidOid);
}

/* ---------------------------------------------------------------------
 * The envelope
 * ---------------------------------------------------------------------
 */

static Node *
make_and(List *conds)
{
	if (conds == NIL)
		return NULL;
	if (list_length(conds) == 1)
		return linitial(conds);
	return (Node *) makeBoolExpr(AND_EXPR, conds, -1);
}

/* What an envelope matching node (its root) satisfies; NULL: nothing. */
static Node *
envelope_condition(SupportContext *cxt, const PatternNode *node)
{
	List	   *conds = NIL;

	check_stack_depth();
	for (int i = 0; i < node->nfields; i++)
	{
		const PatternField *f = &node->fields[i];
		const char *column = NULL;

		if (key_is(f, "source"))
			column = "source";
		else if (key_is(f, "detail-type"))
			column = "detail_type";
		else if (key_is(f, "account"))
			column = "account";
		else if (key_is(f, "region"))
			column = "region";

		for (const PatternField *clause = f; clause != NULL; clause = clause->also)
		{
			Node	   *c = NULL;

			if (column != NULL)
				c = text_column_condition(cxt, column, clause);
			else if (key_is(f, "resources"))
				c = resources_condition(cxt, clause);
			if (c != NULL)
				conds = lappend(conds, c);
		}
		if (f->child && key_is(f, "detail"))
		{
			Node	   *c = detail_condition(cxt, f->child);

			if (c != NULL)
				conds = lappend(conds, c);
		}
	}
	for (int i = 0; i < node->nors; i++)
	{
		List	   *alts = NIL;
		bool		all = true;

		for (int j = 0; j < node->ors[i].nalternatives && all; j++)
		{
			Node	   *c = envelope_condition(cxt, node->ors[i].alternatives[j]);

			if (c == NULL)
				all = false;
			else
				alts = lappend(alts, c);
		}
		if (all && alts != NIL)
			conds = lappend(conds, list_length(alts) == 1 ? linitial(alts) :
							(Node *) makeBoolExpr(OR_EXPR, alts, -1));
	}
	return make_and(conds);
}

/*
 * Is expr eventbus.event_envelope(<whole row of eventbus.events>)?  Fills
 * in the row's Var and the table.
 */
static bool
is_event_envelope(Node *expr, SupportContext *cxt)
{
	FuncExpr   *f;
	Var		   *row;
	char	   *name;
	Oid			nsp;
	Oid			relid;

	if (!IsA(expr, FuncExpr))
		return false;
	f = (FuncExpr *) expr;
	if (list_length(f->args) != 1 || !IsA(linitial(f->args), Var))
		return false;
	row = (Var *) linitial(f->args);
	if (row->varattno != InvalidAttrNumber)
		return false;
	name = get_func_name(f->funcid);
	nsp = get_namespace_oid("eventbus", true);
	if (name == NULL || strcmp(name, "event_envelope") != 0 ||
		!OidIsValid(nsp) || get_func_namespace(f->funcid) != nsp)
		return false;
	relid = get_relname_relid("events", nsp);
	if (!OidIsValid(relid) || get_rel_type_id(relid) != row->vartype)
		return false;
	cxt->varno = row->varno;
	cxt->varlevelsup = row->varlevelsup;
#if PG_VERSION_NUM >= 160000
	cxt->varnullingrels = row->varnullingrels;
#endif
	cxt->relid = relid;
	cxt->natoms = 0;
	return true;
}

static Node *
simplify(SupportRequestSimplify *req)
{
	FuncExpr   *call = req->fcall;
	SupportContext cxt;
	Node	   *event;
	Const	   *pattern;
	Const	   *marked;
	EventPattern *compiled;
	PatternError error;
	Node	   *conds;
	FuncExpr   *recheck;

	if (!eventbus_pattern_index_conditions || list_length(call->args) != 2)
		return NULL;
	event = linitial(call->args);
	pattern = (Const *) lsecond(call->args);
	if (!IsA(pattern, Const) || pattern->constisnull ||
		pattern->consttype != JSONBOID || pattern->location == INDEX_MARK)
		return NULL;
	if (!is_event_envelope(event, &cxt))
		return NULL;

	/* an invalid pattern is left to the match, which reports it */
	compiled = pattern_compile(DatumGetJsonbP(pattern->constvalue), &error);
	if (compiled == NULL)
		return NULL;
	conds = envelope_condition(&cxt, compiled->root);
	if (conds == NULL)
		return NULL;

	marked = copyObject(pattern);
	marked->location = INDEX_MARK;
	recheck = makeFuncExpr(call->funcid, call->funcresulttype,
						   list_make2(event, marked),
						   call->funccollid, call->inputcollid,
						   COERCE_EXPLICIT_CALL);
	if (IsA(conds, BoolExpr) && ((BoolExpr *) conds)->boolop == AND_EXPR)
		return (Node *) makeBoolExpr(AND_EXPR,
									 lcons(recheck, ((BoolExpr *) conds)->args), -1);
	return (Node *) makeBoolExpr(AND_EXPR, list_make2(recheck, conds), -1);
}

/*
 * The selectivity of event_matches called as a function (the operator has
 * its own estimator): a rewritten match keeps about every row its
 * conditions let through, which carry the estimate; otherwise no estimate
 * (the planner's default, as before there was a support function).
 */
static Node *
selectivity(SupportRequestSelectivity *req)
{
	Node	   *pattern = list_length(req->args) == 2 ? lsecond(req->args) : NULL;

	if (pattern == NULL || !IsA(pattern, Const) ||
		((Const *) pattern)->location != INDEX_MARK)
		return NULL;
	req->selectivity = 1.0;
	return (Node *) req;
}

Datum
eventbus_event_matches_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(simplify((SupportRequestSimplify *) rawreq));
	if (IsA(rawreq, SupportRequestSelectivity))
		PG_RETURN_POINTER(selectivity((SupportRequestSelectivity *) rawreq));
	PG_RETURN_POINTER(NULL);
}
