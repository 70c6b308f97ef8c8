# baton: every entry point.  `make help` lists them.
CC      ?= gcc
BUILD   ?= build
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wpointer-arith -Wvla -Werror \
           -Wno-format-truncation
# FP=off (make nofault, ci/nofault) compiles the fault registry out:
# -DFP_DISABLE, no failpoint.c, no libfiu.  Only batond is built that way.
FP      ?= on
FP_CPPFLAGS := $(if $(filter off,$(FP)),-DFP_DISABLE,-DFIU_ENABLE=1)
FP_LDLIBS   := $(if $(filter off,$(FP)),,-lfiu)
# src/ sees only src/ (it never includes the harness: the build enforces
# it); the harness names its folders in its includes ("lib/proc.h").
CPPFLAGS_SRC := -D_GNU_SOURCE $(FP_CPPFLAGS) -Isrc
CPPFLAGS_ALL := $(CPPFLAGS_SRC) -Iharness
CFLAGS_ALL   := -std=gnu11 $(WARN) $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_ALL   := -ljansson $(FP_LDLIBS) -pthread -lm $(EXTRA_LDLIBS)
# LD_PRELOAD shims run inside other programs: never with the sanitizer or
# coverage flags of the build (EXTRA_*), which would bring a runtime along
SHIM_CFLAGS  := -std=gnu11 $(WARN) -O2 -g -fPIC -shared -Wl,-z,relro,-z,now

LIB_SRCS  := $(filter-out src/batond.c $(if $(filter off,$(FP)),src/failpoint.c),\
                         $(wildcard src/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libbaton.a

# The harness by folder (harness/*/README says what each holds and may
# include).  The library folders make libharness.a; cmd/ holds programs,
# tests/ the suites, shims/ LD_PRELOAD objects, fuzz/ the fuzz targets
# (their oracle is library code: the suites use it too).
HLIB_DIRS := lib contract campaign blackbox bench report
HLIB_SRCS := $(wildcard $(HLIB_DIRS:%=harness/%/*.c)) harness/fuzz/oracle.c
HLIB_OBJS := $(HLIB_SRCS:%.c=$(BUILD)/obj/%.o)
HLIB      := $(BUILD)/libharness.a
HARNESS_HDRS := $(wildcard harness/*/*.h)

TEST_SRCS := $(filter-out harness/tests/testutil.c,$(wildcard harness/tests/*.c))
TESTS     := $(TEST_SRCS:harness/tests/%.c=$(BUILD)/%)
TESTUTIL  := $(BUILD)/obj/harness/tests/testutil.o
PROGS     := $(patsubst harness/cmd/%.c,$(BUILD)/%,$(wildcard harness/cmd/*.c))

.PHONY: all proc-mounted check faultcheck repro mutants memcheck sanitize coverage gate deps clean help tests nofault
.DEFAULT_GOAL := all

all: $(BUILD)/batond $(PROGS) $(BUILD)/libforkalloc.so

help:
	@echo "make            build batond and the harness programs"
	@echo "make check      install missing packages (as root), build, run every suite"
	@echo "make faultcheck the fault campaign on batond (SHARD=I/N, ONLY=GLOB)"
	@echo "make repro FAULT='old/write@2:error=ENOSPC:persistent'  one cell, verbose,"
	@echo "                artifacts under build/repro/ (BATOND=path for another build)"
	@echo "make mutants    the mutant gate: every faults/mutants/*.patch must be caught"
	@echo "make nofault    batond with the fault registry compiled out; test_upgrade on it"
	@echo "make memcheck   suites + a faultcheck subset under valgrind; fd leaks fail too"
	@echo "make sanitize   clang ASan+UBSan+LSan build; check, corpus replay, faultcheck subset"
	@echo "make coverage   line and branch coverage of src/ after check + faultcheck"
	@echo "make gate       every stage above, JUnit per stage, a summary table"
	@echo "make fuzz       every fuzz target (AFL++; ENGINE=libfuzzer; FUZZ_SECONDS=60)"
	@echo "make bench      upgrade latency vs its floor, codec, data plane (QUICK=1)"
	@echo "make install    baton, batond, the harness programs, man pages (PREFIX=/usr/local DESTDIR=)"
	@echo "make deb        the Debian package (dpkg-buildpackage), into build/deb/"
	@echo "make deps       install missing Debian packages (as root) or print the command"
	@echo "make clean      remove build/"

deps:
	@ci/install-deps base

$(BUILD)/obj/src/%.o: src/%.c $(wildcard src/*.h) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS_SRC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/obj/harness/%.o: harness/%.c $(wildcard src/*.h) $(HARNESS_HDRS) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(HLIB): $(HLIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/batond: $(BUILD)/obj/src/batond.o $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/test_%: $(BUILD)/obj/harness/tests/test_%.o $(TESTUTIL) $(HLIB) $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL) -lcmocka

$(BUILD)/%: $(BUILD)/obj/harness/cmd/%.o $(HLIB) $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

# LD_PRELOAD shims are shared objects, not part of libharness.
$(BUILD)/lib%.so: harness/shims/%.c Makefile
	@mkdir -p $(dir $@)
	@echo "  SHIM    $@"
	@gcc $(CPPFLAGS_ALL) $(SHIM_CFLAGS) -o $@ $< -pthread

# batond with one mutant patch applied (ci/build-mutant); test_faultcheck
# proves the campaign catches the one below.
$(BUILD)/mutants/%/build/batond: faults/mutants/%.patch $(wildcard src/*.c src/*.h) Makefile
	@echo "  MUTANT  $*"
	@ci/build-mutant $< $(BUILD)/mutants/$*

tests: all $(TESTS) $(BUILD)/mutants/no-waitpid/build/batond

# Before anything is installed or built: without /proc (a chroot, a
# container) every suite and the campaign would fail, one assertion at a time.
proc-mounted:
	@test -r /proc/self/stat || { echo "make $(MAKECMDGOALS): /proc is not mounted here (a" \
	  "chroot or container?): baton observes every process through /proc; mount it" \
	  "first: mount -t proc proc /proc" >&2; exit 2; }

check: proc-mounted deps
	@ci/layers && ci/layers --self-test
	@$(MAKE) --no-print-directory tests
	@harness/tests/run-suites $(BUILD) $(TESTS)

FAULTCHECK_ARGS = $(if $(SHARD),--shard $(SHARD)) $(if $(ONLY),--only '$(ONLY)') \
                  $(if $(TARGET),--target $(TARGET)) \
                  $(if $(BATOND),--batond $(BATOND)) --work $(BUILD)/cells \
                  --reports $(BUILD)/reports --repro-dir $(BUILD)/repro

faultcheck: proc-mounted deps
	@$(MAKE) --no-print-directory all
	@$(BUILD)/baton faultcheck $(FAULTCHECK_ARGS) $(FAULTCHECK_FLAGS)

repro: proc-mounted deps
	@test -n "$(FAULT)" || { echo "usage: make repro FAULT='POINT@N:KIND[=ERRNO][:MODE]'" >&2; exit 2; }
	@$(MAKE) --no-print-directory all
	@$(BUILD)/baton repro '$(FAULT)' $(FAULTCHECK_ARGS)

gate: deps
	@BUILD=$(BUILD) ci/gate $(STAGES)

mutants: deps
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) ci/mutants $(MUTANTS)

nofault: deps
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) ci/nofault

coverage: deps
	@ci/install-deps coverage
	@BUILD=$(BUILD) ci/coverage

sanitize: deps
	@ci/install-deps sanitize
	@BUILD=$(BUILD) ci/sanitize

memcheck: deps
	@ci/install-deps memcheck
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) ci/memcheck

clean:
	rm -rf $(BUILD)

# Each family of targets (fuzz, bench, memcheck, ...) keeps its rules in
# its own file; they see every variable above.
-include $(sort $(wildcard mk/*.mk))
.SECONDARY:
