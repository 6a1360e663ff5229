-- Helpers shared by the SQL-language functions.

CREATE FUNCTION eventbus._raise(sqlstate text, message text, detail text DEFAULT NULL,
                                hint text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    RAISE EXCEPTION USING ERRCODE = sqlstate, MESSAGE = message,
                          DETAIL = coalesce(detail, ''), HINT = coalesce(hint, '');
END;
$fn$;

COMMENT ON FUNCTION eventbus._raise(text, text, text, text) IS
'Internal: raises an error with a SQLSTATE, message, detail and hint.';
