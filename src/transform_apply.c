/*-------------------------------------------------------------------------
 *
 * transform_apply.c
 *	  Applying a compiled target input (TargetInput) to an event.
 *
 * This file owns target_input_apply: a constant, the value at an
 * InputPath, or an InputTransformer's template filled in for the event.
 * The template's operations are replayed as pushJsonbValue calls with the
 * variables looked up in the event's binary form, so the result is built
 * as jsonb directly and is always valid JSON: string values are escaped as
 * needed wherever they are inserted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "transform.h"

/* A variable's value for one event. */
typedef struct VarValue
{
	bool		found;
	JsonbValue	value;			/* scalar, or jbvBinary */
} VarValue;

static void
set_string_value(VarValue *vv, const char *s)
{
	if (s == NULL)
	{
		vv->found = false;
		return;
	}
	vv->found = true;
	vv->value.type = jbvString;
	vv->value.val.string.val = (char *) s;
	vv->value.val.string.len = strlen(s);
}

/* The event without its "detail" member, as a jbvBinary value. */
static void
event_without_detail(Jsonb *event, VarValue *vv)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;
	Jsonb	   *jb;
	bool		skip = false;

	if (!JB_ROOT_IS_OBJECT(event))
	{
		vv->found = transform_lookup_path(&transform_whole_event, event,
										  &vv->value);
		return;
	}
	it = JsonbIteratorInit(&event->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		CHECK_FOR_INTERRUPTS();
		if (tok == WJB_KEY)
		{
			skip = (v.val.string.len == 6 &&
					memcmp(v.val.string.val, "detail", 6) == 0);
			if (skip)
				continue;
		}
		else if (tok == WJB_VALUE && skip)
			continue;
		res = pushJsonbValue(&state, tok,
							 (tok == WJB_BEGIN_OBJECT || tok == WJB_END_OBJECT) ? NULL : &v);
	}
	jb = JsonbValueToJsonb(res);
	vv->found = true;
	vv->value.type = jbvBinary;
	vv->value.val.binary.data = &jb->root;
	vv->value.val.binary.len = VARSIZE(jb) - VARHDRSZ;
}

/* A variable's value as text, for a placeholder inside a string. */
static void
append_value_text(StringInfo buf, const VarValue *vv)
{
	const JsonbValue *v = &vv->value;

	if (!vv->found)
		return;
	switch (v->type)
	{
		case jbvString:
			appendBinaryStringInfo(buf, v->val.string.val, v->val.string.len);
			break;
		case jbvNumeric:
			appendStringInfoString(buf,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric))));
			break;
		case jbvBool:
			appendStringInfoString(buf, v->val.boolean ? "true" : "false");
			break;
		case jbvNull:
			appendStringInfoString(buf, "null");
			break;
		case jbvBinary:
			(void) JsonbToCString(buf, v->val.binary.data, v->val.binary.len);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
}

/* The JSON value of a string op, or of a placeholder op. */
static void
op_value(const TemplateOp *op, const VarValue *values, JsonbValue *out)
{
	if (op->kind == TOP_VAR)
	{
		const VarValue *vv = &values[op->var];

		if (vv->found)
			*out = vv->value;
		else
			out->type = jbvNull;
	}
	else if (op->kind == TOP_STRING)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (int i = 0; i < op->npieces; i++)
		{
			const StringPiece *piece = &op->pieces[i];

			if (piece->var < 0)
				appendBinaryStringInfo(&buf, piece->text, piece->len);
			else
				append_value_text(&buf, &values[piece->var]);
		}
		out->type = jbvString;
		out->val.string.val = buf.data;
		out->val.string.len = buf.len;
	}
	else
		*out = op->value;
}

static Jsonb *
apply_template(const TargetInput *ti, Jsonb *event, const char *rule_name,
			   const char *rule_arn, const char *ingestion_time)
{
	VarValue   *values = palloc0(ti->nvars * sizeof(VarValue));
	JsonbParseState *state = NULL;
	JsonbValue *res = NULL;
	JsonbValue	v;

	for (int i = 0; i < ti->nvars; i++)
	{
		const TemplateVar *var = &ti->vars[i];
		VarValue   *vv = &values[i];

		if (!var->used)
			continue;
		switch (var->kind)
		{
			case TVAR_PATH:
				vv->found = transform_lookup_path(&var->path, event, &vv->value);
				break;
			case TVAR_RULE_ARN:
				set_string_value(vv, rule_arn);
				break;
			case TVAR_RULE_NAME:
				set_string_value(vv, rule_name);
				break;
			case TVAR_INGESTION_TIME:
				set_string_value(vv, ingestion_time);
				break;
			case TVAR_EVENT:
				event_without_detail(event, vv);
				break;
			case TVAR_EVENT_JSON:
				vv->found = transform_lookup_path(&transform_whole_event, event,
												  &vv->value);
				break;
		}
	}

	/* a template that is a single value: no container to build */
	if (ti->nops == 1)
	{
		op_value(&ti->ops[0], values, &v);
		return JsonbValueToJsonb(&v);
	}

	for (int i = 0; i < ti->nops; i++)
	{
		const TemplateOp *op = &ti->ops[i];

		CHECK_FOR_INTERRUPTS();
		switch (op->kind)
		{
			case TOP_BEGIN_OBJECT:
				res = pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
				break;
			case TOP_END_OBJECT:
				res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
				break;
			case TOP_BEGIN_ARRAY:
				res = pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
				break;
			case TOP_END_ARRAY:
				res = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
				break;
			case TOP_KEY:
				res = pushJsonbValue(&state, WJB_KEY, (JsonbValue *) &op->value);
				break;
			case TOP_SCALAR:
			case TOP_VAR:
			case TOP_STRING:
				op_value(op, values, &v);
				res = pushJsonbValue(&state, op->token, &v);
				break;
		}
	}
	return JsonbValueToJsonb(res);
}

Jsonb *
target_input_apply(const TargetInput *ti, Jsonb *event,
				   const char *rule_name, const char *rule_arn,
				   const char *ingestion_time)
{
	MemoryContext work;
	MemoryContext caller = CurrentMemoryContext;
	Jsonb	   *result;
	Jsonb	   *copy;

	if (ti == NULL)
	{
		copy = palloc(VARSIZE(event));
		memcpy(copy, event, VARSIZE(event));
		return copy;
	}
	if (ti->kind == TI_CONSTANT)
	{
		copy = palloc(VARSIZE(ti->constant));
		memcpy(copy, ti->constant, VARSIZE(ti->constant));
		return copy;
	}

	/* work in a scratch context; only the result goes to the caller's */
	work = AllocSetContextCreate(caller, "eventbus target input",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	if (ti->kind == TI_PATH)
	{
		JsonbValue	v;

		if (!transform_lookup_path(&ti->path, event, &v))
			v.type = jbvNull;
		result = JsonbValueToJsonb(&v);
	}
	else
		result = apply_template(ti, event, rule_name, rule_arn, ingestion_time);
	MemoryContextSwitchTo(caller);

	copy = palloc(VARSIZE(result));
	memcpy(copy, result, VARSIZE(result));
	MemoryContextDelete(work);
	return copy;
}
