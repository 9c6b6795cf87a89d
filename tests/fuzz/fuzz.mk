# tests/fuzz/fuzz.mk — the libFuzzer targets (included by the Makefile).
#
#   make fuzz                     builds build-fuzz/fuzz/fuzz_* (clang-14,
#                                 -fsanitize=fuzzer,address,undefined) and runs
#                                 each for FUZZ_RUNS executions (default 10 M)
#   make fuzz FUZZ_TIME=60        each for 60 s instead
#   make fuzz FUZZ_TARGETS=json   only some targets
#   make fuzz-build               builds them only
#
# The library is compiled again into build-fuzz/ with clang's coverage
# instrumentation (FUZZ=1 in the Makefile), so build/ and build-san/ are
# untouched. Seeds: tests/fuzz/corpus/<target>/ (read only); what libFuzzer
# finds goes to tests/out/fuzz/<target>/ (crash-* files there are the
# failing inputs). tests/fuzz/run does the running; `tests/run fuzz` runs
# each target briefly, as CI does.

FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_RUNS    ?= 10000000
FUZZ_TIME    ?=

.PHONY: fuzz fuzz-build fuzz-bins

ifeq ($(FUZZ),1)
fuzz-bins: $(FUZZ_ALL:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/libeddy.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(BUILD)/libeddy.a $(LDLIBS)
endif

fuzz-build:
	$(MAKE) FUZZ=1 fuzz-bins

fuzz: fuzz-build
	tests/fuzz/run $(if $(FUZZ_TIME),--seconds $(FUZZ_TIME),--runs $(FUZZ_RUNS)) $(FUZZ_TARGETS)
