# eddy — build, test, demo.  `make` builds bin/eddy; see README.md.
#
#   make                      release build (-O2 -g, warnings are errors)
#   make SAN=address,undefined  sanitizer build into build-san/ and bin-san/
#   make SAN=thread           ThreadSanitizer build into build-tsan/ and bin-tsan/
#   make tsan / tsan-full     that build, then tests/run tsan (as CI) / tests/run tsan --long
#   make fuzz                 libFuzzer targets (build-fuzz/), each FUZZ_RUNS executions
#   make deps                 install Debian packages and Kafka jars (idempotent)
#   make test                 unit + integration tests against real servers
#   make unit                 unit tests only (no servers); one program or case:
#                             tests/run unit aggtable, tests/run unit aggtable:many_keys
#   make demo                 the word-count job on real documents
#   make demo-patterns        the streaming-patterns jobs on generated events, checked
#   make demo-serve           the bucket counter and a leaderboard queried over HTTP while they run, checked
#   make demo-records         the record pipelines (lake, PostgreSQL, Cassandra, sentiment), checked
#   make docs                 regenerate the option tables of docs/config.md from the code
#   make bench / bench-smoke  benchmark harness (see bench/README.md)

CC      ?= cc
PKGS    := avro-c libzmq rdkafka libpq hiredis libmariadb yaml-0.1 libxxhash libpcre2-8 ncursesw libmicrohttpd zlib lua5.4 sqlite3 libzstd
CFLAGS  ?= -O2 -g
# ncursesw's pkg-config adds -D_XOPEN_SOURCE=600 -D_DEFAULT_SOURCE, which would
# change the feature macros of every file; the files that need X/Open define it.
CFLAGS  += -I. -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -pthread -MMD -MP \
           $(filter-out -D_XOPEN_SOURCE=% -D_DEFAULT_SOURCE,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread -lm
# DuckDB (the lake sink's Parquet files): fetched by `make deps` into the cache.
DUCKDB  := $(or $(EDDY_CACHE),$(HOME)/.cache/eddy)/duckdb-1.5.6
CFLAGS  += -isystem $(DUCKDB)/include
LDLIBS  += -L$(DUCKDB)/lib -lduckdb -Wl,-rpath,$(DUCKDB)/lib

ifeq ($(FUZZ),1)
# The libFuzzer build (tests/fuzz/fuzz.mk): clang, coverage + ASan + UBSan.
BUILD   := build-fuzz
BIN     := bin-fuzz
CC      := clang-14
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all -O1
LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SAN),thread)
# ThreadSanitizer: its own directories, beside the ASan build.
BUILD   := build-tsan
BIN     := bin-tsan
# runtime/ed_tsan.c's thrd_create (librdkafka's threads, seen by TSan) is linked in by name.
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=thread -Wl,--undefined=thrd_create
else ifneq ($(SAN),)
BUILD   := build-san
BIN     := bin-san
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all -O1
LDFLAGS += -fsanitize=$(SAN)
else
BUILD   := build
BIN     := bin
endif

# The version string lives in a generated header that is rewritten only when
# `git describe` changes, so ed_main.o is rebuilt exactly when it must be.
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
VERSION_H := $(BUILD)/ed_version.h

LIB_SRC  := $(wildcard runtime/*.c actors/*.c actors/*/*.c sinks/*.c config/*.c)
LIB_SRC  := $(filter-out actors/ed_main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
IT_SRC   := $(wildcard tests/integration/it_*.c)
IT_BIN   := $(IT_SRC:tests/integration/%.c=$(BUILD)/tests/%)

.PHONY: all deps test unit integration tsan tsan-full demo demo-patterns demo-serve demo-records bench bench-smoke docs clean format FORCE

all: $(BIN)/eddy $(UNIT_BIN) $(IT_BIN) $(BUILD)/tests/kafka_mock

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@echo '#define ED_VERSION "0.1.0 ($(VERSION))"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/actors/ed_main.o: $(VERSION_H)
$(BUILD)/actors/ed_main.o: CFLAGS += -include $(VERSION_H)

FORCE:

# The cassandra sink's CQL driver: the ScyllaDB Rust driver behind the C ABI
# of sinks/ed_cql.h (the crate in sinks/cassandra). cargo builds it offline
# from the crates `make deps` fetched (scripts/deps: cargo fetch), into one
# target directory in the cache shared by the normal and the sanitizer build
# and by every checkout, so only a change to the crate's own files rebuilds
# it (a cold build takes minutes; after it, seconds). The C side links the
# static library and the system libraries the Rust standard library needs.
EDDY_CACHE ?= $(HOME)/.cache/eddy
CARGO      ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
CARGO_ENV  := CARGO_HOME=$(EDDY_CACHE)/cargo CARGO_TARGET_DIR=$(EDDY_CACHE)/cargo-target
CQL_SRC    := sinks/cassandra/Cargo.toml sinks/cassandra/Cargo.lock $(wildcard sinks/cassandra/src/*.rs)
CQL_LIB    := $(BUILD)/libed_cql.a
LDLIBS     += $(CQL_LIB) -lgcc_s -lutil -lrt -ldl

$(CQL_LIB): $(CQL_SRC)
	@mkdir -p $(dir $@)
	$(CARGO_ENV) $(CARGO) build --release --offline --locked --manifest-path sinks/cassandra/Cargo.toml
	cp $(EDDY_CACHE)/cargo-target/release/libed_cql.a $@.tmp && mv $@.tmp $@

# Every program links libeddy.a and, through LDLIBS, the driver after it.
$(BUILD)/libeddy.a: $(LIB_OBJ) $(CQL_LIB)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BIN)/eddy: $(BUILD)/actors/ed_main.o $(BUILD)/libeddy.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Bench S10's generator alone (bench/scenarios/s10_nexmark.sh builds it).
$(BUILD)/bench/s10_gen: bench/tools/s10_gen.c $(BUILD)/libeddy.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libeddy.a $(LDLIBS)

# Every test program links tests/lib/test_filter.o: EDDY_TEST_FILTER picks
# its cases (`tests/run unit aggtable:many_keys`).
TEST_FILTER_O := $(BUILD)/tests/lib/test_filter.o

# Bench S11's eddy side (bench/scenarios/s11_avro.sh builds it): eddy's decoders alone.
$(BUILD)/bench/s11_decode: bench/tools/s11_decode.c bench/baselines/s11_common.h $(BUILD)/libeddy.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libeddy.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libeddy.a $(TEST_FILTER_O)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_FILTER_O) $(BUILD)/libeddy.a $(LDLIBS) -lcmocka

$(BUILD)/tests/it_%: tests/integration/it_%.c $(BUILD)/libeddy.a $(TEST_FILTER_O)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_FILTER_O) $(BUILD)/libeddy.a $(LDLIBS) -lcmocka

# librdkafka's mock cluster driven from a shell test (t_broker_faults.sh).
$(BUILD)/tests/kafka_mock: tests/integration/kafka_mock.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs rdkafka) -pthread

# One program per sink plugin, each linking the shared sink contract
# (tests/integration/sink_contract.h: sink_contract.c, sink_windows.c,
# sink_records.c).
SC_OBJ := $(BUILD)/tests/integration/sink_contract.o $(BUILD)/tests/integration/sink_windows.o \
          $(BUILD)/tests/integration/sink_records.o

$(SC_OBJ): $(BUILD)/tests/integration/%.o: tests/integration/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/it_sink_%: tests/integration/it_sink_%.c $(SC_OBJ) $(BUILD)/libeddy.a $(TEST_FILTER_O)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SC_OBJ) $(TEST_FILTER_O) $(BUILD)/libeddy.a $(LDLIBS) -lcmocka

deps:
	scripts/deps

unit: all
	tests/run unit

integration: all
	tests/run integration

# The full suite: builds the normal, the ASan+UBSan and the TSan binaries, starts the
# real servers, runs unit and integration tests, prints "N passed, N failed".
test: deps
	$(MAKE) all
	$(MAKE) SAN=address,undefined all
	$(MAKE) SAN=thread all
	tests/run all

# The ThreadSanitizer build and its tests (docs/testing.md): as CI runs them
# (the actor-runtime unit programs, a reduced word count), or all of them.
tsan:
	$(MAKE) SAN=thread all
	tests/run tsan

tsan-full:
	$(MAKE) SAN=thread all
	tests/run tsan --long

demo: deps
	$(MAKE) all
	scripts/demo

# The orders-analytics, leaderboard and web-views jobs of the streaming
# patterns tutorial on `eddy gen` events, each sink checked against
# tests/tools/window_oracle.py (scripts/demo-patterns).
demo-patterns: deps
	$(MAKE) all
	scripts/demo-patterns

# The time-bucket counter and the leaderboard with their HTTP endpoints on,
# queried while they run (/v1/sql, /a/, /c/, /metrics, eddy top --once) and
# checked against tests/tools/window_oracle.py (scripts/demo-serve).
demo-serve: deps
	$(MAKE) all
	scripts/demo-serve

# The record pipelines of the tutorials on `eddy gen` input: tweets → the
# Parquet lake, users → PostgreSQL, MariaDB and Cassandra, reviews → the
# sentiment topic, each checked by an independent reader and computation
# (scripts/demo-records).
demo-records: deps
	$(MAKE) all
	scripts/demo-records

# The option tables of docs/config.md come from the config maps in the code;
# tests/unit/test_config_doc.c fails when the file is not up to date.
docs: $(BIN)/eddy
	$(BIN)/eddy config-reference --update docs/config.md

bench: deps
	$(MAKE) all
	bench/run full

bench-smoke: deps
	$(MAKE) all
	bench/run smoke

format:
	clang-format -i $(LIB_SRC) actors/ed_main.c $(wildcard */*.h */*/*.h tests/unit/*.c)

clean:
	rm -rf build build-san bin bin-san build-tsan bin-tsan build-fuzz bin-fuzz

include tests/fuzz/fuzz.mk

-include $(LIB_OBJ:.o=.d) $(BUILD)/actors/ed_main.d $(SC_OBJ:.o=.d)
