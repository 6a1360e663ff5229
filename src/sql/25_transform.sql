-- Target input transformation (EventBridge's Input, InputPath and
-- InputTransformer): validation when a target is put, and an ad-hoc
-- transformation function.  The C code is in src/transform*.c.

CREATE FUNCTION eventbus.validate_target_input(input jsonb, input_path text,
                                               input_transformer jsonb)
RETURNS boolean
AS 'MODULE_PATHNAME', 'eventbus_validate_target_input'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.validate_target_input(jsonb, text, jsonb) IS
'Checks a target''s input settings (at most one of Input, InputPath and InputTransformer; NULL means absent): returns true, or raises "Target input is not valid. Reason: ..." (SQLSTATE 22023).';

CREATE FUNCTION eventbus.transform_input(event jsonb,
                                         input jsonb DEFAULT NULL,
                                         input_path text DEFAULT NULL,
                                         input_transformer jsonb DEFAULT NULL,
                                         rule_name text DEFAULT NULL,
                                         rule_arn text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'eventbus_transform_input'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION eventbus.transform_input(jsonb, jsonb, text, jsonb, text, text) IS
'What a target receives for the event (an EventBridge envelope) under the given Input, InputPath or InputTransformer; the event itself when all three are NULL. <aws.events.event.ingestion-time> is the event''s "time". NULL when the event is NULL.';
