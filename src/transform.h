/*-------------------------------------------------------------------------
 *
 * transform.h
 *	  Target input transformation: EventBridge's Input (a constant),
 *	  InputPath (a part of the event) and InputTransformer (variables taken
 *	  from the event and substituted into a template).
 *
 * A target's settings are compiled once (target_input_compile, which also
 * validates them) and applied to many events (target_input_apply).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVENTBUS_TRANSFORM_H
#define EVENTBUS_TRANSFORM_H

#include "postgres.h"

#include "utils/jsonb.h"

typedef struct TargetInput TargetInput;	/* compiled form (see below) */

/*
 * Compile (and validate) a target's input settings in CurrentMemoryContext.
 * NULL arguments are absent settings; at most one may be given.  Raises
 * "Target input is not valid. Reason: ..." (SQLSTATE 22023) when invalid.
 * Returns NULL when all three are NULL: the event goes unchanged.
 */
extern TargetInput *target_input_compile(Jsonb *input, text *input_path,
										 Jsonb *input_transformer);

/*
 * What the target receives for an event envelope (a detoasted jsonb object
 * as made by envelope_to_jsonb); a NULL ti gives a copy of the event.  The
 * result is allocated in CurrentMemoryContext, and nothing else is left
 * there.  rule_name, rule_arn and ingestion_time (EventBridge's format,
 * "2015-11-11T21:29:54Z") feed the predefined variables
 * <aws.events.rule-name>, <aws.events.rule-arn> and
 * <aws.events.event.ingestion-time>; a NULL one is treated like a path that
 * the event lacks (null as a JSON value, nothing inside a string).
 */
extern Jsonb *target_input_apply(const TargetInput *ti, Jsonb *event,
								 const char *rule_name, const char *rule_arn,
								 const char *ingestion_time);

/* ----------------------------------------------------------------
 * Shared by the files of the module (transform*.c); nothing else uses
 * these.  transform.c compiles and validates the settings, transform_path.c
 * parses and follows JSON paths, transform_template.c parses an
 * InputTransformer's template, transform_apply.c applies the compiled form
 * to an event, and transform_funcs.c holds the SQL functions.
 * ----------------------------------------------------------------
 */

/* One step of a JSON path: a member name, or an array index. */
typedef struct TransformPathStep
{
	char	   *key;			/* NULL for an index step */
	int			keylen;
	int			index;
} TransformPathStep;

typedef struct TransformPath
{
	int			nsteps;			/* 0: the whole event ("$") */
	TransformPathStep *steps;
} TransformPath;

typedef enum TemplateVarKind
{
	TVAR_PATH,					/* from InputPathsMap */
	TVAR_RULE_ARN,				/* aws.events.rule-arn */
	TVAR_RULE_NAME,				/* aws.events.rule-name */
	TVAR_INGESTION_TIME,		/* aws.events.event.ingestion-time */
	TVAR_EVENT,					/* aws.events.event: the event minus detail */
	TVAR_EVENT_JSON				/* aws.events.event.json: the whole event */
} TemplateVarKind;

typedef struct TemplateVar
{
	char	   *name;
	TemplateVarKind kind;
	TransformPath path;		/* TVAR_PATH */
	bool		used;			/* does the template refer to it? */
} TemplateVar;

/* A piece of a template string: literal text or a variable's text. */
typedef struct StringPiece
{
	int			var;			/* index into vars, or -1 for literal text */
	char	   *text;
	int			len;
} StringPiece;

typedef enum TemplateOpKind
{
	TOP_BEGIN_OBJECT,
	TOP_END_OBJECT,
	TOP_BEGIN_ARRAY,
	TOP_END_ARRAY,
	TOP_KEY,					/* literal key, in value */
	TOP_SCALAR,					/* literal scalar, in value */
	TOP_VAR,					/* placeholder as a JSON value */
	TOP_STRING					/* string with placeholders, in pieces */
} TemplateOpKind;

/* One pushJsonbValue call of the template's output. */
typedef struct TemplateOp
{
	TemplateOpKind kind;
	JsonbIteratorToken token;	/* WJB_KEY, WJB_VALUE or WJB_ELEM; WJB_DONE
								 * for a value at the top level */
	JsonbValue	value;			/* TOP_KEY, TOP_SCALAR */
	int			var;			/* TOP_VAR */
	int			npieces;		/* TOP_STRING */
	StringPiece *pieces;
} TemplateOp;

typedef enum TargetInputKind
{
	TI_CONSTANT,				/* Input */
	TI_PATH,					/* InputPath */
	TI_TEMPLATE					/* InputTransformer */
} TargetInputKind;

struct TargetInput
{
	TargetInputKind kind;
	Jsonb	   *constant;		/* TI_CONSTANT */
	TransformPath path;		/* TI_PATH */
	int			nvars;			/* TI_TEMPLATE */
	TemplateVar *vars;
	int			nops;
	int			maxops;
	TemplateOp *ops;
};

/* The path "$": the whole event. */
extern const TransformPath transform_whole_event;

/* transform.c */
extern void transform_error(const char *reason, const char *detail,
							const char *hint) pg_attribute_noreturn();

/* transform_path.c */
extern void transform_parse_path(const char *text, int len, const char *what,
								 const char *label, TransformPath *path);
extern bool transform_lookup_path(const TransformPath *path, Jsonb *event,
								  JsonbValue *result);

/* transform_template.c */
extern bool transform_var_name_char(char c);
extern void transform_parse_template(TargetInput *ti, const char *template,
									 int template_len);

#endif							/* EVENTBUS_TRANSFORM_H */
