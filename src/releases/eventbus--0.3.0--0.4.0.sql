-- eventbus 0.3.0 -> 0.4.0.  Append-only: released upgrade steps never change.
\echo Use "ALTER EXTENSION eventbus UPDATE TO '0.4.0'" to load this file. \quit
