-- Internal functions are not for PUBLIC.  The API functions' implementations
-- and the delivery workers run as the extension's owner (or a superuser),
-- which may call all of them; an ordinary role reaches them only through the
-- API functions, whose implementations check its rights.  Trigger functions
-- need no EXECUTE where their trigger fires.
--
-- Left to PUBLIC on purpose:
--   _check_stored_event_pattern  the CHECK of domain event_pattern, which
--                                PostgreSQL runs as whoever casts a value
--                                to the domain (a pure function);
--   _owns_rule                   called by the row-level security policy
--                                of eventbus.dead_letters as the reader
--                                (whether the reader owns a rule);
--   _replaying_as                called by the row-level security policy
--                                of eventbus.events as the inserting role
--                                (whether it runs the named replay);
--   _delivery_workers            read by view delivery_workers as its
--                                reader (the workers' shared-memory status,
--                                as pg_stat_activity shows it);
--   _visible_rule_stats, _visible_queue_stats, _visible_target_stats,
--   _visible_api_destination_stats, _visible_scheduled_rules,
--   _push_backlog                API functions read by the metrics views
--                                and delivery_workers as their reader;
--                                their implementations keep what the
--                                reader may see.
-- (The _impl functions and the privilege helpers of 52_privileges.sql are
-- revoked where they are made.)
REVOKE ALL ON FUNCTION eventbus._raise(text,text,text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._max_targets_per_rule() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._restoring() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._restore_pending(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._create_outbox(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._enqueue(regclass,uuid,timestamp with time zone,text,text,text,jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._dead_letter(regclass,bigint[],text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._notify_queue(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._outbox_plans() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._outbox_floor(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._push_outbox(text,text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._target_removed() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._target_queue(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._bus_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._bus_arn_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._bus_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._rule_not_found(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_bus(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_rule(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._lock_bus(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._lock_rule(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_description(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._parse_target_arn(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._entry_error_code(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._is_entry_error(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._set_rule_state(text,text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._retry_policy(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._event_partition_name(date) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._event_partitions() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._schedule_tick_grace() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._schedule_next(text,timestamp with time zone,timestamp with time zone) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus.route_events() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus.catalog_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._rule_index_anchors(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._caller() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._is_admin(regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_creator(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_admin(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_bus(text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_bus_visible(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_manage_rule(text,regrole,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_rule_owner(text,text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_rule(text,regrole,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._queue(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_seconds(text,integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_message_ids(bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._receive_pass(regclass,timestamp with time zone,integer,integer,integer,text,bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._delete_messages(regclass,bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._set_visibility(text,bigint[],integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._outbox_depth(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._count_queue(text,bigint,bigint,bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._stats_reset_time() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._wake_launcher() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._wake_delivery() FROM PUBLIC;
-- connections and API destinations (56_api_destinations.sql)
REVOKE ALL ON FUNCTION eventbus._role_of(name) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._connection_arn(text,uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_arn(text,uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_name(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._connection_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_not_found(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._auth_string(jsonb,text,text,boolean,integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._auth_keys(jsonb,text,text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_connection_http_parameters(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_auth_parameters(text,jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._public_http_parameters(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._public_auth_parameters(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._merge_parameters(jsonb,jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_connection(text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._may_see_api_destination(text,regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._require_visible(text,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_api_destination_settings(text,text,text,integer,numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._timeout_ms(numeric) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_connection(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_json(eventbus.api_destinations) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_parameter_value(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._check_http_parameters(jsonb,text) FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._api_destination_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION eventbus._event_matches_support(internal) FROM PUBLIC;
