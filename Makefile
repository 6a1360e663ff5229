# eventbus: PGXS build.
#
#   make && make install          build and install into the pg_config on PATH
#   test/run.sh                   everything CI runs (throwaway cluster, all suites)
#
# The extension's install script for the current version is assembled from
# src/sql/*.sql (in name order) so that each concern keeps its SQL next to
# its C.  Released versions are frozen in src/releases/: the install script of
# the first release (eventbus--0.1.0.sql) and one append-only upgrade script
# per release (eventbus--A--B.sql); ALTER EXTENSION ... UPDATE walks them.

EXTENSION  = eventbus
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" eventbus.control)

MODULE_big = eventbus
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
PGFILEDESC = "eventbus - EventBridge-style event routing"

# HTTP targets (src/http_*.c) use libcurl (Debian: libcurl4-openssl-dev).
CURL_CONFIG ?= curl-config
PG_CPPFLAGS += $(shell $(CURL_CONFIG) --cflags)
SHLIB_LINK  += $(shell $(CURL_CONFIG) --libs)

DATA_built = src/eventbus--$(EXTVERSION).sql
DATA       = $(sort $(wildcard src/releases/eventbus--*.sql src/releases/eventbus--*.control))
EXTRA_CLEAN = src/eventbus--$(EXTVERSION).sql

# pg_regress: tests in sql/, expected output in expected/ (its defaults).
REGRESS      = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=eventbus

# Isolation specs live under test/isolation/{specs,expected}.
ISOLATION      = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=eventbus

# Bitcode for JIT inlining would need the exact clang the server was built
# with; the extension's functions gain nothing from it.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

src/eventbus--$(EXTVERSION).sql: $(sort $(wildcard src/sql/*.sql))
	cat $^ > $@

# Used by test/run.sh to list the suites.
.PHONY: print-regress print-isolation
print-regress:
	@echo $(REGRESS)
print-isolation:
	@echo $(ISOLATION)
