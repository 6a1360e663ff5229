/*-------------------------------------------------------------------------
 *
 * route.c
 *	  Routing: the statement trigger on eventbus.events that fans each new
 *	  event into the outbox of every target of every enabled matching rule
 *	  of its bus, in the inserting transaction.
 *
 * The trigger reads the statement's transition table, matches each event
 * with its bus's rule index, applies the target's input transformation,
 * and writes one multi-row INSERT per outbox table.  It queues one NOTIFY
 * per queue that received messages (channel "eventbus.<queue>"), which
 * PostgreSQL delivers only if the transaction commits.
 *
 * Every row is held to eventbus.max_entry_size, counted as put_events
 * counts an entry, so that a plain INSERT or COPY cannot store what
 * put_events would refuse (rows put_events stores were counted there).
 * A queue target whose owner may not send to the queue (the rule index
 * marks it when it is built) receives nothing: its messages count as
 * failed invocations, as EventBridge counts a target its policy denies.
 *
 * A replayed event (replay_name set) goes only to the rules of its
 * replay's Destination.FilterArns, when it has some: the replay is looked
 * up once per statement (a replay's batch is one statement), and events
 * without a replay_name pay one pointer test.
 *
 * Also here: the trigger on the rule and target catalogs that invalidates
 * every backend's rule indexes when they change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "envelope.h"
#include "fifo.h"
#include "outbox.h"
#include "eventbus.h"
#include "put_events.h"
#include "replay.h"
#include "rule_index.h"
#include "stats.h"
#include "worker.h"

PG_FUNCTION_INFO_V1(eventbus_route_events);
PG_FUNCTION_INFO_V1(eventbus_catalog_changed);

/* Messages of one statement for one outbox table. */
typedef struct OutboxBatch
{
	Oid			outbox;			/* hash key */
	int			n;
	int			cap;
	Datum	   *cols[OUTBOX_NCOLS];
	bool	   *payload_nulls;
	char	   *queue;			/* queue to NOTIFY, or NULL */
	/* a FIFO queue's: each message's group and deduplication ids */
	bool		fifo;
	int			fifo_cap;
	Datum	   *groups;
	Datum	   *dedups;
	bool	   *fifo_nulls;
} OutboxBatch;

static Oid
outbox_owner(Oid outbox)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(outbox));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "eventbus: outbox table %u is gone", outbox);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* 54000 for an event over eventbus.max_entry_size. */
static void
check_event_size(const EventEnvelope *env)
{
	int64		size = put_events_event_size(env->source, env->detail_type,
											 env->resources, env->detail);

	if (size <= eventbus_max_entry_size)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("event %s is " INT64_FORMAT " bytes, more than eventbus.max_entry_size (%d bytes)",
					env->id ? DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(env->id)))
					: "without id",
					size, eventbus_max_entry_size),
			 errdetail("The size counts 14 bytes for the time and the UTF-8 bytes of source, detail_type, detail and each of resources, as put_events counts an entry."),
			 errhint("Store a smaller event (e.g. a reference to the data instead of the data), or raise eventbus.max_entry_size (superuser).")));
}

static void
batch_append(OutboxBatch *b, const EventEnvelope *env, const IndexedRule *rule,
			 const RuleTarget *target, Jsonb *payload)
{
	if (b->n == b->cap)
	{
		int			newcap = b->cap ? b->cap * 2 : 16;

		for (int c = 0; c < OUTBOX_NCOLS; c++)
			b->cols[c] = b->cap ? repalloc(b->cols[c], sizeof(Datum) * newcap)
				: palloc(sizeof(Datum) * newcap);
		b->payload_nulls = b->cap ? repalloc(b->payload_nulls, sizeof(bool) * newcap)
			: palloc(sizeof(bool) * newcap);
		b->cap = newcap;
	}
	{
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

		memcpy(id, env->id, sizeof(pg_uuid_t));
		b->cols[0][b->n] = UUIDPGetDatum(id);
	}
	b->cols[1][b->n] = TimestampTzGetDatum(env->ingestion_time);
	b->cols[2][b->n] = PointerGetDatum(DatumGetTextPCopy(PointerGetDatum(env->bus)));
	b->cols[3][b->n] = CStringGetTextDatum(rule->name);
	b->cols[4][b->n] = CStringGetTextDatum(target->target_id);
	if (payload)
	{
		b->cols[5][b->n] = JsonbPGetDatum(payload);
		b->payload_nulls[b->n] = false;
	}
	else
	{
		b->cols[5][b->n] = (Datum) 0;
		b->payload_nulls[b->n] = true;
	}
	b->n++;
}

/*
 * The message group and deduplication ids of the message batch_append just
 * added to a FIFO queue's batch (NULLs for a target without SqsParameters,
 * which put_targets does not allow for a FIFO queue).
 */
static void
batch_append_fifo(OutboxBatch *b, const RuleTarget *target, Jsonb *event,
				  const pg_uuid_t *event_id)
{
	int			i = b->n - 1;

	if (b->fifo_cap < b->cap)
	{
		b->groups = b->fifo_cap ? repalloc(b->groups, sizeof(Datum) * b->cap)
			: palloc(sizeof(Datum) * b->cap);
		b->dedups = b->fifo_cap ? repalloc(b->dedups, sizeof(Datum) * b->cap)
			: palloc(sizeof(Datum) * b->cap);
		b->fifo_nulls = b->fifo_cap ? repalloc(b->fifo_nulls, sizeof(bool) * b->cap)
			: palloc(sizeof(bool) * b->cap);
		b->fifo_cap = b->cap;
	}
	if (target->sqs == NULL)
	{
		b->groups[i] = b->dedups[i] = (Datum) 0;
		b->fifo_nulls[i] = true;
		return;
	}
	/* copied: the rule index may be rebuilt before the batch is written */
	b->groups[i] = PointerGetDatum(DatumGetTextPCopy(fifo_group_id(target->sqs, event)));
	b->dedups[i] = fifo_deduplication_id(target->sqs, event, event_id);
	b->fifo_nulls[i] = false;
}

static void
batch_flush(OutboxBatch *b)
{
	Oid			save_userid;
	int			save_sec_context;

	/*
	 * The right to put an event on a bus is the right to route it: messages
	 * are written as the outbox's owner, so producers need no grant on every
	 * outbox their events may reach.  Errors restore the user id through
	 * the transaction's abort.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(outbox_owner(b->outbox),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (b->fifo)
	{
		uint64		written = outbox_insert_fifo(b->outbox, b->n, b->cols, b->payload_nulls,
												 b->groups, b->fifo_nulls, b->dedups,
												 b->fifo_nulls, -1);

		/* duplicates were counted as enqueued when they were appended */
		if (b->queue && written < (uint64) b->n)
			stats_count_queue(b->queue, STATS_ENQUEUED, (int64) written - b->n);
	}
	else
		outbox_insert(b->outbox, b->n, b->cols, b->payload_nulls);
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/*
 * Is this event a scheduled rule's tick, as the database's first delivery
 * worker puts them (src/schedule.c): source "aws.events", detail-type
 * "Scheduled Event", the rule's ARN as its one resource, inserted by a
 * superuser?  Then *arn is that ARN.  The same event put by anyone else is
 * an ordinary event, matched against the bus's patterns: nobody but the
 * scheduler makes a scheduled rule's targets run.
 */
static bool
scheduled_tick_rule(const EventEnvelope *env, const char **arn, int *len)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;

	if (env->source == NULL || env->detail_type == NULL || env->resources == NULL ||
		VARSIZE_ANY_EXHDR(env->source) != strlen(SCHEDULED_EVENT_SOURCE) ||
		memcmp(VARDATA_ANY(env->source), SCHEDULED_EVENT_SOURCE,
			   strlen(SCHEDULED_EVENT_SOURCE)) != 0 ||
		VARSIZE_ANY_EXHDR(env->detail_type) != strlen(SCHEDULED_EVENT_DETAIL_TYPE) ||
		memcmp(VARDATA_ANY(env->detail_type), SCHEDULED_EVENT_DETAIL_TYPE,
			   strlen(SCHEDULED_EVENT_DETAIL_TYPE)) != 0 ||
		!superuser())
		return false;
	deconstruct_array(env->resources, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	if (nelems != 1 || nulls[0])
		return false;
	*arn = VARDATA_ANY(DatumGetTextPP(elems[0]));
	*len = VARSIZE_ANY_EXHDR(DatumGetTextPP(elems[0]));
	return true;
}

static bool
text_equal(const text *a, const text *b)
{
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/* Keep the matched rules whose ARN is one of arns; how many are left. */
static int
keep_replay_rules(BusRuleIndex *index, int *matched, int nmatched, char **arns, int narns)
{
	int			kept = 0;

	for (int m = 0; m < nmatched; m++)
	{
		const char *arn = rule_index_rule(index, matched[m])->arn;

		for (int a = 0; a < narns; a++)
			if (strcmp(arn, arns[a]) == 0)
			{
				matched[kept++] = matched[m];
				break;
			}
	}
	return kept;
}

Datum
eventbus_route_events(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Tuplestorestate *newtable;
	TupleTableSlot *slot;
	MemoryContext stmtcxt;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	HTAB	   *batches;
	HASHCTL		ctl;
	int		   *matched = NULL;
	int			matched_cap = 0;
	bool		check_size = !put_events_inserting();
	BusRuleIndex *index = NULL;
	text	   *index_bus = NULL;
	text	   *replay_seen = NULL;
	bool		replay_filtered = false;
	int			replay_narns = 0;
	char	  **replay_arns = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("eventbus.route_events() must be an AFTER INSERT statement trigger with a NEW TABLE"),
				 errdetail("It is installed on eventbus.events by CREATE EXTENSION."),
				 errhint("Do not attach it to other tables.")));
	/* its tuples are read as eventbus.events rows: nothing else will do */
	if (strcmp(RelationGetRelationName(trigdata->tg_relation), "events") != 0 ||
		strcmp(get_namespace_name(RelationGetNamespace(trigdata->tg_relation)), "eventbus") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("eventbus.route_events() routes only eventbus.events"),
				 errdetail("It was fired for table \"%s\".",
						   RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Do not attach it to other tables.")));

	newtable = trigdata->tg_newtable;
	stmtcxt = AllocSetContextCreate(CurrentMemoryContext, "eventbus routing",
									ALLOCSET_DEFAULT_SIZES);
	rowcxt = AllocSetContextCreate(stmtcxt, "eventbus routing row",
								   ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(stmtcxt);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(OutboxBatch);
	ctl.hcxt = stmtcxt;
	batches = hash_create("eventbus outbox batches", 8, &ctl,
						  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	slot = MakeSingleTupleTableSlot(RelationGetDescr(trigdata->tg_relation),
									&TTSOpsMinimalTuple);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "eventbus: SPI_connect failed");

	tuplestore_rescan(newtable);
	for (;;)
	{
		EventEnvelope env;
		Jsonb	   *event;
		int			nmatched;
		char	   *ingestion_time = NULL;
		const char *tick_arn;
		int			tick_arn_len;

		CHECK_FOR_INTERRUPTS();

		/*
		 * Fetch outside the row context: a tuplestore that spilled to disk
		 * reads the tuple into the current context and hands it to the slot,
		 * which frees it at the next fetch.
		 */
		MemoryContextSwitchTo(stmtcxt);
		if (!tuplestore_gettupleslot(newtable, true, false, slot))
			break;
		MemoryContextSwitchTo(rowcxt);
		envelope_from_slot(slot, &env);
		if (check_size)
			check_event_size(&env);

		/* the same bus as the previous row needs no lookup */
		if (index_bus == NULL ||
			VARSIZE_ANY_EXHDR(index_bus) != VARSIZE_ANY_EXHDR(env.bus) ||
			memcmp(VARDATA_ANY(index_bus), VARDATA_ANY(env.bus),
				   VARSIZE_ANY_EXHDR(env.bus)) != 0 ||
			!rule_index_is_current(index))
		{
			MemoryContextSwitchTo(stmtcxt);
			index_bus = DatumGetTextPCopy(PointerGetDatum(env.bus));
			index = rule_index_for_bus(text_to_cstring(index_bus));
			if (rule_index_nrules(index) > matched_cap)
			{
				matched_cap = rule_index_nrules(index);
				matched = matched ? repalloc(matched, sizeof(int) * matched_cap)
					: palloc(sizeof(int) * matched_cap);
			}
			MemoryContextSwitchTo(rowcxt);
		}
		if (rule_index_nrules(index) == 0)
		{
			MemoryContextReset(rowcxt);
			continue;
		}

		event = envelope_to_jsonb(&env);
		if (scheduled_tick_rule(&env, &tick_arn, &tick_arn_len))
		{
			/* a scheduled rule's tick goes to that rule only */
			int			r = rule_index_find_scheduled(index, tick_arn, tick_arn_len);

			nmatched = 0;
			if (r >= 0)
				matched[nmatched++] = r;
		}
		else
			nmatched = rule_index_match(index, event, matched);
		if (env.replay_name != NULL && nmatched > 0)
		{
			if (replay_seen == NULL || !text_equal(replay_seen, env.replay_name))
			{
				MemoryContextSwitchTo(stmtcxt);
				replay_seen = DatumGetTextPCopy(PointerGetDatum(env.replay_name));
				replay_filtered = replay_filter_rules(replay_seen, &replay_narns, &replay_arns);
				MemoryContextSwitchTo(rowcxt);
			}
			if (replay_filtered)
				nmatched = keep_replay_rules(index, matched, nmatched, replay_arns, replay_narns);
		}

		for (int m = 0; m < nmatched; m++)
		{
			IndexedRule *rule = rule_index_rule(index, matched[m]);

			stats_count_rule_match(rule->rule_id);
			for (int t = 0; t < rule->ntargets; t++)
			{
				RuleTarget *target = &rule->targets[t];
				Jsonb	   *payload = NULL;
				OutboxBatch *batch;
				bool		found;

				if (target->denied)
				{
					stats_count_target(rule->rule_id, target->target_id,
									   STATS_FAILED_INVOCATIONS, 1);
					continue;
				}
				if (target->input != NULL)
				{
					if (ingestion_time == NULL)
						ingestion_time = envelope_format_time(env.ingestion_time);
					payload = target_input_apply(target->input, event, rule->name,
												 rule->arn, ingestion_time);
				}

				MemoryContextSwitchTo(stmtcxt);
				batch = hash_search(batches, &target->outbox, HASH_ENTER, &found);
				if (!found)
				{
					Oid			key = batch->outbox;

					memset(batch, 0, sizeof(OutboxBatch));
					batch->outbox = key;
					if (strcmp(target->kind, "queue") == 0)
						batch->queue = pstrdup(target->destination);
					batch->fifo = (target->sqs != NULL);
				}
				if (batch->queue == NULL)
					delivery_wake_at_commit_for(batch->outbox);
				if (payload)
					payload = DatumGetJsonbPCopy(JsonbPGetDatum(payload));
				batch_append(batch, &env, rule, target, payload);
				if (batch->fifo)
					batch_append_fifo(batch, target, event, env.id);
				stats_count_target(rule->rule_id, target->target_id, STATS_ENQUEUED, 1);
				if (batch->queue)
					stats_count_queue(batch->queue, STATS_ENQUEUED, 1);
				MemoryContextSwitchTo(rowcxt);
			}
		}
		MemoryContextReset(rowcxt);
	}
	MemoryContextSwitchTo(stmtcxt);
	ExecDropSingleTupleTableSlot(slot);

	{
		HASH_SEQ_STATUS seq;
		OutboxBatch *batch;

		hash_seq_init(&seq, batches);
		while ((batch = hash_seq_search(&seq)) != NULL)
		{
			batch_flush(batch);
			if (batch->queue)
				outbox_notify_queue(batch->queue);
		}
	}

	SPI_finish();
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(stmtcxt);
	return PointerGetDatum(NULL);
}

/*
 * Statement trigger on eventbus.rules and eventbus.targets: every backend
 * rebuilds its rule indexes after the change commits (and this backend at
 * its next command).
 */
Datum
eventbus_catalog_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("eventbus.catalog_changed() must be called as a trigger"),
				 errdetail("It is installed on eventbus.rules and eventbus.targets by CREATE EXTENSION."),
				 errhint("Do not call it directly.")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	rule_index_invalidate_all();
	return PointerGetDatum(NULL);
}
