-- eventbus: EventBridge-style event routing inside PostgreSQL.
-- This script is assembled from src/sql/*.sql by the Makefile.

\echo Use "CREATE EXTENSION eventbus" to load this file. \quit
