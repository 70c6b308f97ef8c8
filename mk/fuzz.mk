# Fuzzing (docs/design.md, "Fuzzing"; README "Fuzzing").
#
#   make fuzz [ENGINE=afl|libfuzzer] [FUZZ_SECONDS=60] [FUZZ_TARGETS='state spec']
#   make fuzz-build [ENGINE=...]   build the targets only
#   make fuzz-bench [FUZZ_SECONDS=60] [FUZZ_TARGETS=state]
#                                  AFL++ persistent vs fork server, same seconds
#   make fuzz-seeds                regenerate corpus/<target>/ seeds
#
# One source per target (harness/fuzz/<t>.c), four builds of it, each under
# $(FUZZ_OUT)/<variant>/:
#   afl        afl-clang-fast + libAFLDriver.a: persistent mode
#   cmplog     the same with AFL_LLVM_CMPLOG=1, for afl-fuzz -c
#   fork       afl-clang-fast + harness/fuzz/driver.c: fork server only, the
#              baseline persistent mode is measured against
#   libfuzzer  clang-14 -fsanitize=fuzzer,address,undefined
# The library (src/ minus batond.c) and the oracle are compiled again with
# each variant's compiler, so coverage reaches into the parsers.  When
# ci/fetch-jansson-src has unpacked jansson's Debian source into
# $(BUILD)/jansson-src, jansson is compiled the same way (FUZZ_JANSSON=source),
# otherwise the targets link the system's uninstrumented libjansson
# (FUZZ_JANSSON=system); the two build into different directories.
#
# The replay suite (harness/tests/test_fuzz_replay.c, run by make check) includes
# the targets, built with the ordinary compiler and FUZZ_NO_ENTRY: no fuzz
# toolchain needed.

FUZZ_TARGETS ?= state frame manifest main_args spec
FUZZ_ALL     := state frame manifest main_args spec
ENGINE       ?= afl
FUZZ_SECONDS ?= 60
FUZZ_CLANG   ?= clang-14
AFL_CC       ?= afl-clang-fast
AFL_LIB_DIR  ?= $(firstword $(wildcard /usr/lib/afl /usr/local/lib/afl) /usr/lib/afl)
JANSSON_SRC  := $(BUILD)/jansson-src
FUZZ_JANSSON ?= $(if $(wildcard $(JANSSON_SRC)/src/jansson.h),source,system)
FUZZ_OUT     := $(BUILD)/fuzz/$(FUZZ_JANSSON)

.PHONY: fuzz fuzz-build fuzz-run fuzz-bench fuzz-seeds

# --- the replay suite: targets with the ordinary compiler ---

# test_fuzz_replay.c includes the five targets (with FUZZ_NO_ENTRY); both
# suites include the heap counter, which must stay out of libharness.
$(BUILD)/obj/harness/tests/test_fuzz_replay.o: $(FUZZ_ALL:%=harness/fuzz/%.c) harness/fuzz/targets.h \
  harness/fuzz/heapcount.c
$(BUILD)/obj/harness/tests/test_oracle.o: harness/fuzz/heapcount.c

# --- seeds ---

$(BUILD)/fuzz_seedgen: $(BUILD)/obj/harness/fuzz/seedgen.o $(HLIB) $(LIB)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

fuzz-seeds: $(BUILD)/fuzz_seedgen
	@$(BUILD)/fuzz_seedgen corpus
	@echo "fuzz-seeds: corpus/<target>/ written"

# --- the four variants ---

FZ_WARN   := $(filter-out -Werror -Wno-format-truncation,$(WARN))
FZ_CFLAGS := -std=gnu11 -O2 -g $(FZ_WARN)
FZ_LIBSRC := $(LIB_SRCS) harness/fuzz/oracle.c
JANSSON_C := $(sort $(wildcard $(JANSSON_SRC)/src/*.c))
FZ_JCFG   := $(FUZZ_OUT)/jansson-config
ifeq ($(FUZZ_JANSSON),source)
FZ_JINC   := -I$(JANSSON_SRC)/src -I$(FZ_JCFG)
FZ_JLIBS  :=
else
FZ_JINC   :=
FZ_JLIBS  := -ljansson
endif
FZ_LIBS   := -lfiu -pthread

# What jansson's configure would generate (ci/jansson-config).
$(FZ_JCFG)/jansson_config.h: $(JANSSON_SRC)/src/jansson_config.h.in ci/jansson-config
	@ci/jansson-config $(JANSSON_SRC) $(FZ_JCFG)

# $(call fuzz_variant,NAME,COMPILER,EXTRA_CFLAGS,LINK_FLAGS,DRIVER)
define fuzz_variant
FZ_$(1)_LIBOBJS := $$(FZ_LIBSRC:%.c=$(FUZZ_OUT)/$(1)/obj/%.o)
FZ_$(1)_JOBJS   := $$(if $$(filter source,$(FUZZ_JANSSON)),$$(JANSSON_C:$(JANSSON_SRC)/src/%.c=$(FUZZ_OUT)/$(1)/jansson/%.o))

$(FUZZ_OUT)/$(1)/obj/%.o: %.c $$(wildcard src/*.h) $$(HARNESS_HDRS) mk/fuzz.mk $$(if $$(FZ_JINC),$(FZ_JCFG)/jansson_config.h)
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$< ($(1))"
	@$(2) $$(CPPFLAGS_ALL) $$(FZ_JINC) $$(FZ_CFLAGS) $(3) -c $$< -o $$@

$(FUZZ_OUT)/$(1)/jansson/%.o: $(JANSSON_SRC)/src/%.c $(FZ_JCFG)/jansson_config.h
	@mkdir -p $$(dir $$@)
	@echo "  CC      jansson/$$*.c ($(1))"
	@$(2) -DHAVE_CONFIG_H=1 -I$(FZ_JCFG) -O2 -g -w $(3) -c $$< -o $$@

$(FUZZ_OUT)/$(1)/libbaton.a: $$(FZ_$(1)_LIBOBJS) $$(FZ_$(1)_JOBJS)
	@rm -f $$@
	@ar rcs $$@ $$^

$(FUZZ_OUT)/$(1)/fuzz_%: $(FUZZ_OUT)/$(1)/obj/harness/fuzz/%.o $(5) \
  $(FUZZ_OUT)/$(1)/obj/harness/fuzz/heapcount.o $(FUZZ_OUT)/$(1)/libbaton.a
	@echo "  LINK    $$@"
	@$(2) $(4) -o $$@ $$^ $$(FZ_JLIBS) $$(FZ_LIBS)
endef

comma      := ,
FZ_AFL_ENV := AFL_QUIET=1
$(eval $(call fuzz_variant,afl,$(FZ_AFL_ENV) $(AFL_CC),,,$(AFL_LIB_DIR)/libAFLDriver.a))
$(eval $(call fuzz_variant,cmplog,$(FZ_AFL_ENV) AFL_LLVM_CMPLOG=1 $(AFL_CC),,,$(AFL_LIB_DIR)/libAFLDriver.a))
$(eval $(call fuzz_variant,fork,$(FZ_AFL_ENV) $(AFL_CC),,,$(FUZZ_OUT)/fork/obj/harness/fuzz/driver.o))
$(eval $(call fuzz_variant,libfuzzer,$(FUZZ_CLANG),-fsanitize=fuzzer-no-link$(comma)address$(comma)undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer,-fsanitize=fuzzer$(comma)address$(comma)undefined,))

FZ_BINS_afl       := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/afl/fuzz_%) $(FUZZ_TARGETS:%=$(FUZZ_OUT)/cmplog/fuzz_%)
FZ_BINS_libfuzzer := $(FUZZ_TARGETS:%=$(FUZZ_OUT)/libfuzzer/fuzz_%)

fuzz-build: $(FZ_BINS_$(ENGINE))

# fuzz-run: make fuzz without the package check and the jansson fetch.
fuzz-run: fuzz-build
	@ci/fuzz-run --engine $(ENGINE) --seconds $(FUZZ_SECONDS) \
	  --bin-dir $(FUZZ_OUT) --work $(BUILD)/fuzz/run-$(ENGINE) $(FUZZ_TARGETS)

FUZZ_BENCH_TARGETS ?= state
fuzz-bench: $(FUZZ_BENCH_TARGETS:%=$(FUZZ_OUT)/afl/fuzz_%) $(FUZZ_BENCH_TARGETS:%=$(FUZZ_OUT)/fork/fuzz_%)
	@ci/fuzz-run --engine afl --bench-fork --seconds $(FUZZ_SECONDS) \
	  --bin-dir $(FUZZ_OUT) --work $(BUILD)/fuzz/bench-fork $(FUZZ_BENCH_TARGETS)

fuzz:
	@ci/install-deps fuzz
	@ci/fetch-jansson-src $(BUILD) || \
	  echo "fuzz: building against the system jansson (no coverage inside jansson)" >&2
	@$(MAKE) --no-print-directory fuzz-run ENGINE=$(ENGINE) FUZZ_TARGETS='$(FUZZ_TARGETS)' \
	  FUZZ_SECONDS=$(FUZZ_SECONDS)
