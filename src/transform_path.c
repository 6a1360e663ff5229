/*-------------------------------------------------------------------------
 *
 * transform_path.c
 *	  The JSON paths of target input transformation: InputPath and the
 *	  values of an InputTransformer's InputPathsMap.
 *
 * This file owns the path syntax EventBridge accepts ("$", then ".name" and
 * "[index]" steps; no wildcards, slices or filters), its parser
 * (transform_parse_path, which refuses a bad path with transform_error)
 * and the lookup of a parsed path in an event (transform_lookup_path).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/jsonb.h"

#include "transform.h"

/* EventBridge's limit (API reference: Target, InputTransformer). */
#define TI_MAX_PATH_CHARS		256		/* InputPath, InputPathsMap values */

/* The path "$": the whole event. */
const TransformPath transform_whole_event = {0, NULL};

/* Characters a member name of a path may hold. */
static bool
path_name_char(unsigned char c)
{
	if (c >= 0x80)
		return true;			/* non-ASCII (UTF-8) letters */
	if (c <= ' ' || c == 0x7f)
		return false;
	return strchr(".[]*\"'\\<>(),?@!=", c) == NULL;
}

/*
 * Refuse a path.  what is the subject of the reason ("InputPath", "The path
 * of InputPathsMap variable \"x\""); label introduces the path itself in
 * the detail.
 */
static void path_error(const char *what, const char *label, const char *text,
					   int len, const char *problem, const char *hint)
			pg_attribute_noreturn();

static void
path_error(const char *what, const char *label, const char *text, int len,
		   const char *problem, const char *hint)
{
	transform_error(psprintf("%s %s.", what, problem),
					psprintf("%s: %s", label, pnstrdup(text, len)),
					hint ? hint : "Use a JSON path such as \"$.detail.state\": \"$\" followed by \".name\" and \"[index]\" steps.");
}

/*
 * Parse a path such as "$", "$.detail", "$.detail.instance-id" or
 * "$.resources[0]" (see path_error for what and label).
 */
void
transform_parse_path(const char *text, int len, const char *what,
					 const char *label, TransformPath *path)
{
	int			pos = 1;
	int			maxsteps = 4;
	int			nchars = pg_mbstrlen_with_len(text, len);

	path->nsteps = 0;
	path->steps = NULL;

	if (len == 0)
		path_error(what, label, text, len, "must not be empty", NULL);
	if (nchars > TI_MAX_PATH_CHARS)
		path_error(what, label, text, len,
				   psprintf("is longer than %d characters (it has %d)",
							TI_MAX_PATH_CHARS, nchars),
				   "EventBridge limits paths to 256 characters.");
	if (text[0] != '$')
		path_error(what, label, text, len, "must start with \"$\"", NULL);

	while (pos < len)
	{
		TransformPathStep step;

		CHECK_FOR_INTERRUPTS();

		if (text[pos] == '.')
		{
			int			start = ++pos;

			while (pos < len && path_name_char((unsigned char) text[pos]))
				pos++;
			if (pos < len && text[pos] == '*')
				path_error(what, label, text, len,
						   "uses a wildcard, which is not supported",
						   "Name each member, as in \"$.detail.state\".");
			if (pos == start)
				path_error(what, label, text, len,
						   psprintf("has an empty member name at character %d",
									pg_mbstrlen_with_len(text, start) + 1),
						   "Separate member names with a single \".\", as in \"$.detail.state\".");
			step.key = pnstrdup(text + start, pos - start);
			step.keylen = pos - start;
			step.index = 0;
		}
		else if (text[pos] == '[')
		{
			int64		index = 0;
			int			start = ++pos;

			while (pos < len && text[pos] >= '0' && text[pos] <= '9')
			{
				index = index * 10 + (text[pos] - '0');
				if (index > PG_INT32_MAX)
					path_error(what, label, text, len,
							   "has an array index that is too large",
							   "Array indexes go up to 2147483647.");
				pos++;
			}
			if (pos == start || pos >= len || text[pos] != ']')
				path_error(what, label, text, len,
						   psprintf("has brackets that do not hold an array index at character %d",
									pg_mbstrlen_with_len(text, start)),
						   "Brackets may only hold an array index, as in \"$.resources[0]\"; wildcards, slices, filters and quoted names are not supported.");
			pos++;
			step.key = NULL;
			step.keylen = 0;
			step.index = (int) index;
		}
		else
			path_error(what, label, text, len,
					   psprintf("has an unexpected character at character %d",
								pg_mbstrlen_with_len(text, pos) + 1),
					   "After \"$\", a path is a series of \".name\" and \"[index]\" steps; names hold letters, digits, \"-\", \"_\", \"/\" and similar characters.");

		if (path->steps == NULL)
			path->steps = palloc(maxsteps * sizeof(TransformPathStep));
		else if (path->nsteps == maxsteps)
		{
			maxsteps *= 2;
			path->steps = repalloc(path->steps,
								   maxsteps * sizeof(TransformPathStep));
		}
		path->steps[path->nsteps++] = step;
	}
}

/*
 * Find the value at path in the event.  Returns false when it does not
 * exist; a container is returned as jbvBinary pointing into the event.
 */
bool
transform_lookup_path(const TransformPath *path, Jsonb *event,
					  JsonbValue *result)
{
	JsonbContainer *container = &event->root;

	if (path->nsteps == 0)
	{
		if (JB_ROOT_IS_SCALAR(event))
			return JsonbExtractScalar(container, result);
		result->type = jbvBinary;
		result->val.binary.data = container;
		result->val.binary.len = VARSIZE(event) - VARHDRSZ;
		return true;
	}

	for (int i = 0; i < path->nsteps; i++)
	{
		const TransformPathStep *step = &path->steps[i];
		JsonbValue *v;

		if (container == NULL || (container->header & JB_FSCALAR))
			return false;
		if (step->key != NULL)
		{
			if (!JsonContainerIsObject(container))
				return false;
			v = getKeyJsonValueFromContainer(container, step->key,
											 step->keylen, result);
		}
		else
		{
			if (!JsonContainerIsArray(container) ||
				step->index >= (int) JsonContainerSize(container))
				return false;
			v = getIthJsonbValueFromContainer(container, step->index);
			if (v != NULL)
				*result = *v;
		}
		if (v == NULL)
			return false;
		container = (result->type == jbvBinary) ? result->val.binary.data : NULL;
	}
	return true;
}
