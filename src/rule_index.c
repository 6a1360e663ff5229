/*-------------------------------------------------------------------------
 *
 * rule_index.c
 *	  The per-bus rule index and its cache.
 *
 * A bus's enabled rules are compiled together.  Each rule is given, when
 * its pattern allows, an anchor: a leaf field that every alternative of
 * its $or groups requires alike (outside any $or, or copied into every
 * branch of one) whose conditions are all exact strings (or exact strings
 * and prefixes), the one whose values the fewest other rules share.  An
 * event can only match the rule if its value at that path equals (or
 * starts with) one of the anchor's strings, so the index keeps one sorted
 * array of (path, value, rule) entries and finds a rule's candidacy by
 * binary search.
 * Matching an event walks the few distinct anchor paths, probes the array
 * with the event's values there, and confirms each candidate (plus the
 * rules without an anchor) with the full matcher.  The cost depends on the
 * event, the number of distinct anchor paths and the number of candidates,
 * not on the number of rules.
 *
 * Indexes live in backend memory, one memory context per bus, and are
 * rebuilt lazily when a relcache invalidation of eventbus.rules or
 * eventbus.targets (sent by a statement trigger on those tables when they
 * change, and delivered to every backend at commit) has bumped the cache
 * generation, or when owners or grants changed (privileges.c's generation):
 * a queue target routes to its queue only while its owner holds send on
 * it, and that is decided here, once per build, never per message.
 *
 * The catalogs are read as their owner: routing runs as whoever inserted
 * the events, who holds no rights on them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "compat.h"
#include "arn.h"
#include "eventbus.h"
#include "invalidation.h"
#include "privileges.h"
#include "rule_index.h"

#define BUS_KEY_SIZE 260

typedef struct AnchorPath
{
	int			nkeys;
	char	  **keys;
	int		   *keylens;
	int			nprefixlens;	/* distinct lengths of prefix anchors */
	int			prefixcap;
	int		   *prefixlens;
} AnchorPath;

typedef struct AnchorEntry
{
	int			path;
	bool		prefix;
	const char *value;
	int			len;
	int			rule;
} AnchorEntry;

struct BusRuleIndex
{
	uint64		generation;
	MemoryContext cxt;
	int			nrules;
	IndexedRule *rules;
	int			npaths;
	AnchorPath *paths;
	int			nentries;
	AnchorEntry *entries;
	int			nunindexed;
	int		   *unindexed;
	int		   *anchor_path;	/* per rule: its anchor's path, or -1 */
	uint32	   *mark;			/* scratch: mark[r] == epoch: r is a candidate */
	uint32		epoch;
	int		   *candidates;		/* scratch: candidate rule numbers */
	int			ncandidates;
};

typedef struct BusIndexEntry
{
	char		bus[BUS_KEY_SIZE];
	BusRuleIndex *index;
} BusIndexEntry;

static HTAB *bus_indexes = NULL;
static MemoryContext rule_index_context = NULL;
static uint64 cache_generation = 1;
static Oid	rules_relid = InvalidOid;
static Oid	targets_relid = InvalidOid;

/* invalidation.c: a relcache invalidation (InvalidOid: of every relation) */
void
rule_index_relation_changed(Oid relid)
{
	if (relid == InvalidOid || relid == rules_relid || relid == targets_relid ||
		!OidIsValid(rules_relid))
		cache_generation++;
}

void
rule_index_invalidate_all(void)
{
	cache_generation++;
}

/* The generation an index must have been built at to be current. */
static uint64
current_generation(void)
{
	/* both only grow: their sum changes whenever one of them does */
	return cache_generation + eventbus_privileges_generation();
}


static void
rule_index_init(void)
{
	HASHCTL		ctl;

	if (bus_indexes != NULL)
		return;
	rule_index_context = AllocSetContextCreate(TopMemoryContext,
											   "eventbus rule indexes",
											   ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = BUS_KEY_SIZE;
	ctl.entrysize = sizeof(BusIndexEntry);
	ctl.hcxt = rule_index_context;
	bus_indexes = hash_create("eventbus rule indexes", 16, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	eventbus_watch_relcache();
}

/*
 * A number that changes whenever rules or targets may have changed (in a
 * transaction: invalidations are taken in when it starts).
 */
uint64
rule_index_catalog_generation(void)
{
	rule_index_init();
	if (!OidIsValid(rules_relid) && IsTransactionState())
	{
		Oid			nsp = get_namespace_oid("eventbus", true);

		if (OidIsValid(nsp))
		{
			rules_relid = get_relname_relid("rules", nsp);
			targets_relid = get_relname_relid("targets", nsp);
		}
	}
	return current_generation();
}

/*
 * Anchor selection.  A rule's candidate anchors are its leaves outside any
 * $or (or held alike by every branch of one) whose conditions are all
 * exact strings (score 2) or exact strings and
 * prefixes (score 1): an event can only match the rule if its value at that
 * path is (or starts with) one of them.  Among its candidates a rule takes
 * the most selective one: the leaf whose values the fewest rules of the bus
 * share (a field that every rule names, such as a common source, would make
 * every rule a candidate for every event).
 */
typedef struct AnchorChoice
{
	int			rule;
	int			score;
	int			nkeys;
	const char *keys[64];
	const PatternField *field;
	char	   *pathkey;		/* keys joined by \x1f, for counting */
	int			weight;			/* most rules sharing one of its values */
} AnchorChoice;

static void
collect_anchor_candidates(const PatternNode *node, const char **path, int depth,
						  int rule, List **candidates)
{
	if (depth >= 63)
		return;
	for (int i = 0; i < node->nfields; i++)
	{
		const PatternField *f = &node->fields[i];

		path[depth] = f->key;
		if (f->child)
			collect_anchor_candidates(f->child, path, depth + 1, rule, candidates);
		if (f->nconds > 0)
		{
			int			score = 2;
			AnchorChoice *c;
			StringInfoData key;

			for (int k = 0; k < f->nconds && score > 0; k++)
			{
				if (f->conds[k].kind == PCOND_PREFIX)
					score = 1;
				else if (f->conds[k].kind != PCOND_STRING)
					score = 0;
			}
			if (score == 0)
				continue;
			c = palloc0(sizeof(AnchorChoice));
			c->rule = rule;
			c->score = score;
			c->nkeys = depth + 1;
			memcpy(c->keys, path, sizeof(char *) * (depth + 1));
			c->field = f;
			initStringInfo(&key);
			for (int k = 0; k <= depth; k++)
			{
				if (k > 0)
					appendStringInfoChar(&key, '\x1f');
				appendStringInfoString(&key, path[k]);
			}
			c->pathkey = key.data;
			*candidates = lappend(*candidates, c);
		}
	}

	/*
	 * A leaf that every branch of a $or holds, with the same conditions, is
	 * required too: the compiler copies a field named outside a $or into
	 * each branch when some branch shares its key, and the copies share
	 * their condition list.
	 */
	for (int g = 0; g < node->nors; g++)
	{
		const PatternOr *or = &node->ors[g];
		List	   *common = NIL;

		collect_anchor_candidates(or->alternatives[0], path, depth, rule, &common);
		for (int j = 1; j < or->nalternatives && common != NIL; j++)
		{
			List	   *other = NIL;
			List	   *kept = NIL;
			ListCell   *lc;

			collect_anchor_candidates(or->alternatives[j], path, depth, rule, &other);
			foreach(lc, common)
			{
				AnchorChoice *c = lfirst(lc);
				ListCell   *oc;

				foreach(oc, other)
				{
					AnchorChoice *o = lfirst(oc);

					if (o->field->conds == c->field->conds &&
						strcmp(o->pathkey, c->pathkey) == 0)
					{
						kept = lappend(kept, c);
						break;
					}
				}
			}
			common = kept;
		}
		*candidates = list_concat(*candidates, common);
	}
}

/* One value of one candidate, for counting how many rules share it. */
typedef struct AnchorValue
{
	const char *pathkey;
	bool		prefix;
	const char *value;
	int			len;
	AnchorChoice *candidate;
} AnchorValue;

static int
compare_anchor_values(const void *a, const void *b)
{
	const AnchorValue *x = a;
	const AnchorValue *y = b;
	int			c = strcmp(x->pathkey, y->pathkey);

	if (c != 0)
		return c;
	if (x->prefix != y->prefix)
		return x->prefix ? 1 : -1;
	c = memcmp(x->value, y->value, Min(x->len, y->len));
	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* Set each candidate's weight: the largest group of equal values it is in. */
static void
weigh_anchor_candidates(List *candidates)
{
	int			n = 0;
	int			i = 0;
	AnchorValue *values;
	ListCell   *lc;

	foreach(lc, candidates)
		n += ((AnchorChoice *) lfirst(lc))->field->nconds;
	if (n == 0)
		return;
	values = palloc(sizeof(AnchorValue) * n);
	foreach(lc, candidates)
	{
		AnchorChoice *c = lfirst(lc);

		for (int k = 0; k < c->field->nconds; k++)
		{
			values[i].pathkey = c->pathkey;
			values[i].prefix = (c->field->conds[k].kind == PCOND_PREFIX);
			values[i].value = c->field->conds[k].str;
			values[i].len = c->field->conds[k].len;
			values[i].candidate = c;
			i++;
		}
	}
	qsort(values, n, sizeof(AnchorValue), compare_anchor_values);
	for (int start = 0; start < n;)
	{
		int			end = start + 1;

		CHECK_FOR_INTERRUPTS();
		while (end < n && compare_anchor_values(&values[start], &values[end]) == 0)
			end++;
		for (int k = start; k < end; k++)
			values[k].candidate->weight = Max(values[k].candidate->weight, end - start);
		start = end;
	}
	pfree(values);
}

static int
find_or_add_path(List **paths, AnchorChoice *choice)
{
	ListCell   *lc;
	int			i = 0;
	AnchorPath *p;

	foreach(lc, *paths)
	{
		p = lfirst(lc);
		if (p->nkeys == choice->nkeys)
		{
			bool		same = true;

			for (int k = 0; k < p->nkeys && same; k++)
				same = strcmp(p->keys[k], choice->keys[k]) == 0;
			if (same)
				return i;
		}
		i++;
	}
	p = palloc0(sizeof(AnchorPath));
	p->nkeys = choice->nkeys;
	p->keys = palloc(sizeof(char *) * p->nkeys);
	p->keylens = palloc(sizeof(int) * p->nkeys);
	for (int k = 0; k < p->nkeys; k++)
	{
		p->keys[k] = pstrdup(choice->keys[k]);
		p->keylens[k] = strlen(p->keys[k]);
	}
	p->prefixcap = 8;
	p->prefixlens = palloc(sizeof(int) * p->prefixcap);
	*paths = lappend(*paths, p);
	return i;
}

static void
add_prefix_length(AnchorPath *p, int len)
{
	for (int i = 0; i < p->nprefixlens; i++)
		if (p->prefixlens[i] == len)
			return;
	if (p->nprefixlens == p->prefixcap)
	{
		p->prefixcap *= 2;
		p->prefixlens = repalloc(p->prefixlens, sizeof(int) * p->prefixcap);
	}
	p->prefixlens[p->nprefixlens++] = len;
}

static int
compare_entry_key(int path, bool prefix, const char *value, int len,
				  const AnchorEntry *e)
{
	int			c;

	if (path != e->path)
		return path < e->path ? -1 : 1;
	if (prefix != e->prefix)
		return prefix ? 1 : -1;
	c = memcmp(value, e->value, Min(len, e->len));
	if (c != 0)
		return c;
	return (len > e->len) - (len < e->len);
}

static int
compare_entries(const void *a, const void *b)
{
	const AnchorEntry *x = a;
	const AnchorEntry *y = b;
	int			c = compare_entry_key(x->path, x->prefix, x->value, x->len, y);

	if (c != 0)
		return c;
	return (x->rule > y->rule) - (x->rule < y->rule);
}

/* Build the index structures from the rules already loaded. */
static void
build_anchors(BusRuleIndex *index)
{
	List	   *paths = NIL;
	List	   *entries = NIL;
	List	   *unindexed = NIL;
	List	   *candidates = NIL;
	AnchorChoice **best;
	ListCell   *lc;
	int			i;

	/* every rule's candidate anchors, weighed by how many rules share them */
	for (int r = 0; r < index->nrules; r++)
	{
		const char *path[64];

		/* a rule with a schedule only is never matched against events */
		if (index->rules[r].pattern == NULL)
			continue;
		collect_anchor_candidates(index->rules[r].pattern->root, path, 0, r,
								  &candidates);
	}
	weigh_anchor_candidates(candidates);

	/* each rule takes its lightest candidate; exact before prefix on a tie */
	best = palloc0(sizeof(AnchorChoice *) * Max(index->nrules, 1));
	foreach(lc, candidates)
	{
		AnchorChoice *c = lfirst(lc);
		AnchorChoice *b = best[c->rule];

		if (b == NULL || c->weight < b->weight ||
			(c->weight == b->weight && c->score > b->score))
			best[c->rule] = c;
	}

	index->anchor_path = palloc(sizeof(int) * Max(index->nrules, 1));
	for (int r = 0; r < index->nrules; r++)
	{
		int			p;
		AnchorPath *ap;

		index->anchor_path[r] = -1;
		if (index->rules[r].pattern == NULL)
			continue;
		if (best[r] == NULL)
		{
			unindexed = lappend_int(unindexed, r);
			continue;
		}
		p = find_or_add_path(&paths, best[r]);
		index->anchor_path[r] = p;
		ap = list_nth(paths, p);
		for (int c = 0; c < best[r]->field->nconds; c++)
		{
			const PatternCond *cond = &best[r]->field->conds[c];
			AnchorEntry *e = palloc(sizeof(AnchorEntry));

			e->path = p;
			e->prefix = (cond->kind == PCOND_PREFIX);
			e->value = cond->str;
			e->len = cond->len;
			e->rule = r;
			if (e->prefix)
				add_prefix_length(ap, e->len);
			entries = lappend(entries, e);
		}
	}

	index->npaths = list_length(paths);
	index->paths = palloc(sizeof(AnchorPath) * Max(index->npaths, 1));
	i = 0;
	foreach(lc, paths)
		index->paths[i++] = *(AnchorPath *) lfirst(lc);

	index->nentries = list_length(entries);
	index->entries = palloc(sizeof(AnchorEntry) * Max(index->nentries, 1));
	i = 0;
	foreach(lc, entries)
		index->entries[i++] = *(AnchorEntry *) lfirst(lc);
	qsort(index->entries, index->nentries, sizeof(AnchorEntry), compare_entries);

	index->nunindexed = list_length(unindexed);
	index->unindexed = palloc(sizeof(int) * Max(index->nunindexed, 1));
	i = 0;
	foreach(lc, unindexed)
		index->unindexed[i++] = lfirst_int(lc);

	index->mark = palloc0(sizeof(uint32) * Max(index->nrules, 1));
	index->candidates = palloc(sizeof(int) * Max(index->nrules, 1));
}

static Jsonb *
copy_jsonb_attr(HeapTuple tup, TupleDesc desc, int attnum)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, attnum, &isnull);

	return isnull ? NULL : DatumGetJsonbPCopy(d);
}

static char *
copy_text_attr(HeapTuple tup, TupleDesc desc, int attnum)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, attnum, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Load a bus's enabled rules and their targets; build the index. */
static BusRuleIndex *
build_index(const char *bus, uint64 generation)
{
	static const char *query =
		"SELECT r.rule_id, r.name, r.event_pattern::jsonb, t.target_id, t.kind,"
		"       t.destination, t.outbox::oid, t.input, t.input_path,"
		"       t.input_transformer, t.owner::text,"
		/* read from the row: the SQL may predate the column (before UPDATE) */
		"       to_jsonb(t) -> 'sqs_parameters',"
		"       to_jsonb(r) ->> 'schedule_expression' IS NOT NULL"
		"  FROM eventbus.rules r"
		"  LEFT JOIN eventbus.targets t ON t.bus = r.bus AND t.rule = r.name"
		" WHERE r.bus = $1 AND r.state = 'ENABLED'"
		" ORDER BY r.rule_id, t.target_id";
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	MemoryContext cxt;
	MemoryContext oldcxt;
	BusRuleIndex *index;
	SPITupleTable *tuptable;
	TupleDesc	desc;
	uint64		nrows;
	int			r = -1;
	int64		last_rule_id = -1;
	Oid			nsp;
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	nsp = get_namespace_oid("eventbus", false);
	rules_relid = get_relname_relid("rules", nsp);
	targets_relid = get_relname_relid("targets", nsp);

	args[0] = CStringGetTextDatum(bus);
	eventbus_become_catalog_owner(&save_userid, &save_sec_context);
	PG_TRY();
	{
		ret = SPI_execute_with_args(query, 1, argtypes, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "eventbus: could not read the rules of bus \"%s\"", bus);
	tuptable = SPI_tuptable;
	desc = tuptable->tupdesc;
	nrows = SPI_processed;

	/*
	 * Built under the caller's (short-lived) context and moved under the
	 * cache's only when complete: a rule that fails to compile leaves
	 * nothing behind in the cache's long-lived memory.
	 */
	cxt = AllocSetContextCreate(CurrentMemoryContext, "eventbus bus rule index",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	index = palloc0(sizeof(BusRuleIndex));
	index->cxt = cxt;
	index->generation = generation;
	index->rules = palloc0(sizeof(IndexedRule) * Max(nrows, 1));

	for (uint64 row = 0; row < nrows; row++)
	{
		HeapTuple	tup = tuptable->vals[row];
		bool		isnull;
		int64		rule_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		IndexedRule *rule;

		CHECK_FOR_INTERRUPTS();
		if (rule_id != last_rule_id)
		{
			Jsonb	   *pattern = copy_jsonb_attr(tup, desc, 3);

			rule = &index->rules[++r];
			rule->rule_id = rule_id;
			rule->name = copy_text_attr(tup, desc, 2);
			rule->arn = arn_rule(bus, rule->name);
			/* NULL for a rule with a schedule expression only */
			rule->pattern = pattern ? pattern_compile_stored(pattern) : NULL;
			rule->scheduled = DatumGetBool(SPI_getbinval(tup, desc, 13, &isnull));
			/* the rule's rows are consecutive: one target per row */
			{
				uint64		end = row + 1;

				while (end < nrows &&
					   DatumGetInt64(SPI_getbinval(tuptable->vals[end], desc, 1, &isnull)) == rule_id)
					end++;
				rule->targets = palloc0(sizeof(RuleTarget) * (end - row));
			}
			last_rule_id = rule_id;
		}
		rule = &index->rules[r];
		SPI_getbinval(tup, desc, 4, &isnull);
		if (!isnull)
		{
			RuleTarget *t = &rule->targets[rule->ntargets++];
			Datum		input_path;
			bool		path_null;

			t->target_id = copy_text_attr(tup, desc, 4);
			t->kind = copy_text_attr(tup, desc, 5);
			t->destination = copy_text_attr(tup, desc, 6);
			t->outbox = DatumGetObjectId(SPI_getbinval(tup, desc, 7, &isnull));
			input_path = SPI_getbinval(tup, desc, 9, &path_null);
			t->input = target_input_compile(copy_jsonb_attr(tup, desc, 8),
											path_null ? NULL : DatumGetTextPCopy(input_path),
											copy_jsonb_attr(tup, desc, 10));
			{
				Jsonb	   *sqs = copy_jsonb_attr(tup, desc, 12);

				if (sqs != NULL && JB_ROOT_IS_OBJECT(sqs))
					t->sqs = fifo_target_compile(sqs);
			}
			if (strcmp(t->kind, "queue") == 0)
			{
				char	   *owner = copy_text_attr(tup, desc, 11);
				Oid			ownerid = owner ? get_role_oid(owner, true) : InvalidOid;

				/* SQS's queue policy: the target's role must be allowed to send */
				t->denied = !OidIsValid(ownerid) ||
					!eventbus_has_privilege(EB_OBJECT_QUEUE, t->destination,
											EB_PRIV_SEND, ownerid);
			}
		}
	}
	index->nrules = r + 1;
	build_anchors(index);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextSetParent(cxt, rule_index_context);
	return index;
}

BusRuleIndex *
rule_index_for_bus(const char *bus)
{
	BusIndexEntry *entry;
	bool		found;
	char		key[BUS_KEY_SIZE];
	uint64		generation;

	rule_index_init();
	strlcpy(key, bus, BUS_KEY_SIZE);
	entry = hash_search(bus_indexes, key, HASH_ENTER, &found);
	if (!found)
		entry->index = NULL;
	generation = current_generation();
	if (entry->index != NULL && entry->index->generation == generation)
		return entry->index;

	if (entry->index != NULL)
	{
		MemoryContextDelete(entry->index->cxt);
		entry->index = NULL;
	}
	entry->index = build_index(bus, generation);
	return entry->index;
}

bool
rule_index_is_current(BusRuleIndex *index)
{
	return index != NULL && index->generation == current_generation();
}

int
rule_index_nrules(BusRuleIndex *index)
{
	return index->nrules;
}

IndexedRule *
rule_index_rule(BusRuleIndex *index, int i)
{
	return &index->rules[i];
}

static void
add_candidate(BusRuleIndex *index, int rule)
{
	if (index->mark[rule] != index->epoch)
	{
		index->mark[rule] = index->epoch;
		index->candidates[index->ncandidates++] = rule;
	}
}

/* Mark the rules of every entry equal to (path, prefix, value). */
static void
probe(BusRuleIndex *index, int path, bool prefix, const char *value, int len)
{
	int			lo = 0;
	int			hi = index->nentries;

	/* lower bound */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (compare_entry_key(path, prefix, value, len, &index->entries[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < index->nentries &&
		 compare_entry_key(path, prefix, value, len, &index->entries[lo]) == 0;
		 lo++)
		add_candidate(index, index->entries[lo].rule);
}

static void
probe_string(BusRuleIndex *index, int p, const char *s, int len)
{
	AnchorPath *ap = &index->paths[p];

	probe(index, p, false, s, len);
	for (int i = 0; i < ap->nprefixlens; i++)
	{
		if (ap->prefixlens[i] <= len)
			probe(index, p, true, s, ap->prefixlens[i]);
	}
}

static void probe_path(BusRuleIndex *index, int p, JsonbContainer *object, int depth);

/* The value v sits at depth `depth` of path p (arrays are walked). */
static void
probe_value(BusRuleIndex *index, int p, JsonbValue *v, int depth)
{
	AnchorPath *ap = &index->paths[p];

	if (v->type == jbvString)
	{
		if (depth == ap->nkeys)
			probe_string(index, p, v->val.string.val, v->val.string.len);
		return;
	}
	if (v->type != jbvBinary)
		return;
	if (JsonContainerIsObject(v->val.binary.data))
	{
		if (depth < ap->nkeys)
			probe_path(index, p, v->val.binary.data, depth);
		return;
	}
	else
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	elem;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		{
			if (tok == WJB_ELEM)
				probe_value(index, p, &elem, depth);
		}
	}
}

static void
probe_path(BusRuleIndex *index, int p, JsonbContainer *object, int depth)
{
	AnchorPath *ap = &index->paths[p];
	JsonbValue	buf;
	JsonbValue *v;

	/* an event key "a.b" is the field "b" of "a", as for the matcher */
	object = pattern_undotted_object(object);
	v = getKeyJsonValueFromContainer(object, ap->keys[depth], ap->keylens[depth], &buf);
	if (v != NULL)
		probe_value(index, p, v, depth + 1);
}

static int
compare_ints(const void *a, const void *b)
{
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return (x > y) - (x < y);
}

int
rule_index_match(BusRuleIndex *index, Jsonb *event, int *matched)
{
	int			nmatched = 0;

	if (index->nrules == 0 || !JB_ROOT_IS_OBJECT(event))
		return 0;

	index->ncandidates = 0;
	if (++index->epoch == 0)
	{
		/* wrapped around: forget every old mark */
		memset(index->mark, 0, sizeof(uint32) * index->nrules);
		index->epoch = 1;
	}
	for (int p = 0; p < index->npaths; p++)
		probe_path(index, p, &event->root, 0);
	for (int i = 0; i < index->nunindexed; i++)
		add_candidate(index, index->unindexed[i]);

	/* rule order, so messages are enqueued in a stable order */
	qsort(index->candidates, index->ncandidates, sizeof(int), compare_ints);
	for (int i = 0; i < index->ncandidates; i++)
	{
		int			r = index->candidates[i];

		if (pattern_match(index->rules[r].pattern, event))
			matched[nmatched++] = r;
	}
	return nmatched;
}

int
rule_index_find_scheduled(BusRuleIndex *index, const char *arn, int len)
{
	for (int r = 0; r < index->nrules; r++)
	{
		IndexedRule *rule = &index->rules[r];

		if (rule->scheduled && strlen(rule->arn) == (size_t) len &&
			memcmp(rule->arn, arn, len) == 0)
			return r;
	}
	return -1;
}

/*
 * eventbus.rule_index_anchors(event_bus_name): how this session's rule
 * index finds each enabled rule of a bus: the anchor's path and values, or
 * none (the rule is tried on every event).
 */
PG_FUNCTION_INFO_V1(eventbus_rule_index_anchors);

Datum
eventbus_rule_index_anchors(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *bus = text_to_cstring(PG_GETARG_TEXT_PP(0));
	BusRuleIndex *index;
	List	  **values;
	bool	   *prefix;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");
	index = rule_index_for_bus(bus);

	values = palloc0(sizeof(List *) * Max(index->nrules, 1));
	prefix = palloc0(sizeof(bool) * Max(index->nrules, 1));
	for (int i = 0; i < index->nentries; i++)
	{
		AnchorEntry *e = &index->entries[i];

		values[e->rule] = lappend(values[e->rule],
								  cstring_to_text_with_len(e->value, e->len));
		prefix[e->rule] |= e->prefix;
	}

	for (int r = 0; r < index->nrules; r++)
	{
		Datum		result[4];
		bool		nulls[4] = {false, false, false, false};

		CHECK_FOR_INTERRUPTS();
		result[0] = CStringGetTextDatum(index->rules[r].name);
		if (index->anchor_path[r] < 0)
		{
			nulls[1] = nulls[2] = true;
			/* a rule with a schedule only is never tried on events */
			result[3] = CStringGetTextDatum(index->rules[r].pattern ? "none" : "schedule");
		}
		else
		{
			AnchorPath *ap = &index->paths[index->anchor_path[r]];
			StringInfoData path;
			Datum	   *elems;
			int			n = list_length(values[r]);
			int			i = 0;
			ListCell   *lc;

			initStringInfo(&path);
			for (int k = 0; k < ap->nkeys; k++)
			{
				if (k > 0)
					appendStringInfoChar(&path, '.');
				appendStringInfoString(&path, ap->keys[k]);
			}
			result[1] = CStringGetTextDatum(path.data);
			elems = palloc(sizeof(Datum) * Max(n, 1));
			foreach(lc, values[r])
				elems[i++] = PointerGetDatum(lfirst(lc));
			result[2] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
			result[3] = CStringGetTextDatum(prefix[r] ? "exact and prefix" : "exact");
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, result, nulls);
	}
	SPI_finish();
	PG_RETURN_VOID();
}
