-- eventbus 0.4.0 -> 0.5.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.5.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Replays (issue 11): a replayed event carries the replay's name, which its
-- envelope shows as "replay-name".  At the end of eventbus.events, so of
-- every partition.
ALTER TABLE eventbus.events ADD COLUMN replay_name text;
