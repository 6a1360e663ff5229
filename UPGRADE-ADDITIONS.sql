-- Additions of the engine worktree for src/releases/eventbus--0.2.0--0.3.0.sql
-- (the same statements as src/sql/76_http.sql).

-- HTTP targets (API destinations), worker side: see src/target_http.c and
-- src/http_*.c.  The delivery workers make every request; no function here
-- makes one.

CREATE FUNCTION eventbus._http_guard_check(address text, host text, allowed_networks text)
RETURNS text
AS 'MODULE_PATHNAME', 'eventbus_http_guard_check'
LANGUAGE C IMMUTABLE;

COMMENT ON FUNCTION eventbus._http_guard_check(text, text, text) IS
'Internal: NULL when a request to host may connect to address with eventbus.http_allowed_networks set to allowed_networks, else the class of address that is refused (the check the delivery workers make on every connection).';

REVOKE ALL ON FUNCTION eventbus._http_guard_check(text, text, text) FROM PUBLIC;
