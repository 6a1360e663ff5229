/*-------------------------------------------------------------------------
 *
 * transform.c
 *	  Target input transformation: EventBridge's Input, InputPath and
 *	  InputTransformer, compiled once per target and applied per event.
 *
 * This file owns the validation of a target's input settings (what
 * put_targets refuses) and their compilation into a TargetInput
 * (target_input_compile): the checks of Input, of InputPath, and of an
 * InputTransformer's fields and InputPathsMap variables, and the error
 * every refusal raises (transform_error).  The rest of the module (see
 * transform.h):
 *	  transform_path.c		JSON paths: parsing and lookup in an event
 *	  transform_template.c	the InputTemplate parser
 *	  transform_apply.c		applying a compiled TargetInput to an event
 *	  transform_funcs.c		eventbus.validate_target_input and
 *							eventbus.transform_input
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "transform.h"

/* EventBridge's limits (API reference: Target, InputTransformer). */
#define TI_MAX_INPUT_CHARS		8192	/* Input, InputTemplate */
#define TI_MAX_VAR_NAME_CHARS	256		/* InputPathsMap keys */
#define TI_MAX_VARIABLES		100		/* InputPathsMap entries */

/* The predefined variables, usable without an InputPathsMap entry. */
static const struct
{
	const char *name;
	TemplateVarKind kind;
}			predefined_vars[] =
{
	{"aws.events.rule-arn", TVAR_RULE_ARN},
	{"aws.events.rule-name", TVAR_RULE_NAME},
	{"aws.events.event.ingestion-time", TVAR_INGESTION_TIME},
	{"aws.events.event", TVAR_EVENT},
	{"aws.events.event.json", TVAR_EVENT_JSON},
};

/*
 * Every refusal: "Target input is not valid. Reason: ...", SQLSTATE 22023.
 */
void
transform_error(const char *reason, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("Target input is not valid. Reason: %s", reason),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

/* Compile InputTransformer: variables first, then the template. */
static void
compile_transformer(TargetInput *ti, Jsonb *transformer)
{
	JsonbValue	v;
	JsonbValue *paths = NULL;
	char	   *template = NULL;
	int			template_len = 0;
	int			npaths = 0;

	if (!JB_ROOT_IS_OBJECT(transformer))
		transform_error("InputTransformer must be a JSON object.",
						psprintf("It is a JSON %s.",
								 JB_ROOT_IS_SCALAR(transformer) ? "scalar" : "array"),
						"Use {\"InputPathsMap\": {\"name\": \"$.path\", ...}, \"InputTemplate\": \"...\"}.");

	/* only InputPathsMap and InputTemplate */
	{
		JsonbIterator *it = JsonbIteratorInit(&transformer->root);
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			CHECK_FOR_INTERRUPTS();
			if (tok != WJB_KEY)
				continue;
			if (!((v.val.string.len == 13 &&
				   memcmp(v.val.string.val, "InputPathsMap", 13) == 0) ||
				  (v.val.string.len == 13 &&
				   memcmp(v.val.string.val, "InputTemplate", 13) == 0)))
				transform_error(psprintf("InputTransformer has an unknown field \"%s\".",
										 pnstrdup(v.val.string.val, v.val.string.len)),
								"InputTransformer holds InputPathsMap (optional) and InputTemplate; names are case-sensitive.",
								"Remove the field, or correct its name.");
		}
	}

	if (getKeyJsonValueFromContainer(&transformer->root, "InputTemplate", 13, &v) == NULL ||
		v.type == jbvNull)
		transform_error("InputTransformer must have an InputTemplate.",
						"InputTemplate is required; InputPathsMap is optional.",
						"Add \"InputTemplate\": a JSON template such as \"{\\\"state\\\": <state>}\".");
	if (v.type != jbvString)
		transform_error("InputTemplate must be a string.",
						psprintf("It is a JSON %s.", JsonbTypeName(&v)),
						"Write the template as a JSON string, its quotes escaped: \"{\\\"state\\\": <state>}\".");
	template = pnstrdup(v.val.string.val, v.val.string.len);
	template_len = v.val.string.len;
	if (template_len == 0)
		transform_error("InputTemplate must not be empty.",
						"EventBridge requires at least one character.",
						"Use a JSON template such as \"{\\\"state\\\": <state>}\".");
	if (pg_mbstrlen_with_len(template, template_len) > TI_MAX_INPUT_CHARS)
		transform_error(psprintf("InputTemplate is longer than %d characters.",
								 TI_MAX_INPUT_CHARS),
						psprintf("The template has %d characters.",
								 pg_mbstrlen_with_len(template, template_len)),
						"EventBridge limits templates to 8192 characters.");

	if (getKeyJsonValueFromContainer(&transformer->root, "InputPathsMap", 13, &v) != NULL &&
		v.type != jbvNull)
	{
		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			transform_error("InputPathsMap must be a JSON object.",
							psprintf("It is a JSON %s.",
									 v.type == jbvBinary ? "array" : JsonbTypeName(&v)),
							"Map variable names to JSON paths: {\"state\": \"$.detail.state\"}.");
		npaths = JsonContainerSize(v.val.binary.data);
		if (npaths > TI_MAX_VARIABLES)
			transform_error(psprintf("InputPathsMap has more than %d variables.",
									 TI_MAX_VARIABLES),
							psprintf("It has %d.", npaths),
							"EventBridge allows up to 100 variables per InputTransformer.");
		paths = palloc(sizeof(JsonbValue));
		*paths = v;
	}

	ti->nvars = 0;
	ti->vars = palloc0((npaths + lengthof(predefined_vars)) * sizeof(TemplateVar));

	if (paths != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(paths->val.binary.data);
		JsonbIteratorToken tok;
		JsonbValue	key = {0};

		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			TemplateVar *var;
			char	   *name;

			CHECK_FOR_INTERRUPTS();
			if (tok == WJB_KEY)
			{
				key = v;
				continue;
			}
			if (tok != WJB_VALUE)
				continue;

			name = pnstrdup(key.val.string.val, key.val.string.len);
			if (key.val.string.len == 0)
				transform_error("InputPathsMap has an empty variable name.",
								"Variable names hold 1 to 256 letters, digits, \"_\", \"-\" and \".\".",
								"Name the variable.");
			if (key.val.string.len > TI_MAX_VAR_NAME_CHARS)
				transform_error(psprintf("An InputPathsMap variable name is longer than %d characters.",
										 TI_MAX_VAR_NAME_CHARS),
								psprintf("The name begins \"%s\" and has %d characters.",
										 pnstrdup(name, 32), key.val.string.len),
								"Use a shorter name.");
			for (int i = 0; i < key.val.string.len; i++)
			{
				if (!transform_var_name_char(name[i]))
					transform_error(psprintf("InputPathsMap variable name \"%s\" is not valid.",
											 name),
									"Variable names hold letters, digits, \"_\", \"-\" and \".\".",
									"Rename the variable, here and in InputTemplate.");
			}
			if (pg_strncasecmp(name, "aws.", 4) == 0)
				transform_error(psprintf("InputPathsMap variable name \"%s\" is reserved.",
										 name),
								"Names beginning with \"aws.\" belong to the predefined variables (aws.events.rule-arn, aws.events.rule-name, aws.events.event, aws.events.event.json, aws.events.event.ingestion-time).",
								"Choose another name; the predefined variables need no InputPathsMap entry.");
			if (v.type != jbvString)
				transform_error(psprintf("InputPathsMap variable \"%s\" must be a string holding a JSON path.",
										 name),
								psprintf("It is a JSON %s.", JsonbTypeName(&v)),
								"Use a JSON path such as \"$.detail.state\".");

			var = &ti->vars[ti->nvars++];
			var->name = name;
			var->kind = TVAR_PATH;
			transform_parse_path(v.val.string.val, v.val.string.len,
								 psprintf("The path of InputPathsMap variable \"%s\"", name),
								 psprintf("InputPathsMap variable \"%s\"", name),
								 &var->path);
		}
	}

	for (int i = 0; i < lengthof(predefined_vars); i++)
	{
		TemplateVar *var = &ti->vars[ti->nvars++];

		var->name = (char *) predefined_vars[i].name;
		var->kind = predefined_vars[i].kind;
	}

	transform_parse_template(ti, template, template_len);
	pfree(template);
}

/* ----------------------------------------------------------------
 * Compiling
 * ----------------------------------------------------------------
 */

TargetInput *
target_input_compile(Jsonb *input, text *input_path, Jsonb *input_transformer)
{
	TargetInput *ti;
	int			n = (input != NULL) + (input_path != NULL) +
		(input_transformer != NULL);

	if (n == 0)
		return NULL;
	if (n > 1)
		transform_error("Only one of Input, InputPath, or InputTransformer may be set.",
						psprintf("The target sets %s.",
								 n == 3 ? "Input, InputPath and InputTransformer" :
								 input == NULL ? "InputPath and InputTransformer" :
								 input_path == NULL ? "Input and InputTransformer" :
								 "Input and InputPath"),
						"Keep one of them; set the others to NULL.");

	ti = palloc0(sizeof(TargetInput));
	if (input != NULL)
	{
		char	   *text = JsonbToCString(NULL, &input->root, VARSIZE(input));
		int			chars = pg_mbstrlen(text);

		if (chars > TI_MAX_INPUT_CHARS)
			transform_error(psprintf("Input is longer than %d characters.",
									 TI_MAX_INPUT_CHARS),
							psprintf("Its JSON text has %d characters.", chars),
							"Use InputTransformer to send parts of the event, or a smaller constant.");
		pfree(text);
		ti->kind = TI_CONSTANT;
		ti->constant = palloc(VARSIZE(input));
		memcpy(ti->constant, input, VARSIZE(input));
	}
	else if (input_path != NULL)
	{
		ti->kind = TI_PATH;
		transform_parse_path(VARDATA_ANY(input_path), VARSIZE_ANY_EXHDR(input_path),
							 "InputPath", "InputPath", &ti->path);
	}
	else
	{
		ti->kind = TI_TEMPLATE;
		compile_transformer(ti, input_transformer);
	}
	return ti;
}
