# Benchmarks (README "Benchmarks").  They report figures and never fail a
# build: `make bench` fails only when the benchmark itself cannot run.
#
#   make bench                 everything (a few minutes; take the figures on
#                              a quiet machine)
#   make bench QUICK=1         a smoke run: small counts, seconds
#   make bench BENCH_FLAGS='--only codec,master --runs 51'   see build/bench --help
#
# Steps: the packages (ci/install-deps base, then bench for gnuplot: installed
# when root, else the apt-get line is printed and the plots are skipped), the
# build, the fuzz targets when the fuzz toolchain is there (make fuzz-build,
# both engines; no fuzz figures otherwise), build/bench, then ci/bench-plot.  Output in $(BUILD)/reports: bench.json, bench.md,
# bench-latency.png, bench-worker.png, bench-codec.png (and the .dat files
# the plots read).

BENCH_FLAGS  ?=
BENCH_QUICK  := $(if $(filter-out 0,$(QUICK)),--quick)
# (recursive: FUZZ_ALL comes from mk/fuzz.mk, included after this file)
BENCH_FUZZ_TARGETS = $(if $(BENCH_QUICK),state,$(or $(FUZZ_ALL),state frame manifest main_args spec))

.PHONY: bench bench-plot

bench: deps
	@ci/install-deps bench || echo "bench: no gnuplot, so no plots (see above)" >&2
	@$(MAKE) --no-print-directory all
	@case " $(BENCH_FLAGS) " in *" --fuzz-seconds 0 "*) exit 0 ;; esac; \
	if command -v $(AFL_CC) >/dev/null 2>&1 && command -v $(FUZZ_CLANG) >/dev/null 2>&1; then \
	  for e in afl libfuzzer; do \
	    $(MAKE) --no-print-directory fuzz-build ENGINE=$$e FUZZ_TARGETS='$(BENCH_FUZZ_TARGETS)' || \
	      echo "bench: make fuzz-build ENGINE=$$e failed: no $$e figures" >&2; \
	  done; \
	else \
	  echo "bench: no fuzz toolchain ($(AFL_CC), $(FUZZ_CLANG); make fuzz installs it): no fuzz figures" >&2; \
	fi
	@$(BUILD)/baton bench --reports $(BUILD)/reports --work $(BUILD)/bench-run \
	  --fuzz-bin-dir $(FUZZ_OUT) $(BENCH_QUICK) $(BENCH_FLAGS)
	@ci/bench-plot $(BUILD)/reports || echo "bench: no plots (ci/bench-plot failed)" >&2
	@echo "bench: $(BUILD)/reports/bench.md, bench.json, bench-*.png"

# The plots again, from the last run's data files.
bench-plot:
	@ci/bench-plot $(BUILD)/reports
