# Black-box mode (harness/blackbox/): the fault shim
# preloaded into real daemons, and the Debian packages of those daemons.
#   make faultcheck TARGET=nginx|haproxy|haproxy-classic
# installs nginx and haproxy first when run as root (ci/install-deps
# blackbox); without them the run is reported as skipped, never as passed.
.PHONY: deps-blackbox

BBFAULT := $(BUILD)/libbbfault.so

# An explicit rule: it links libfiu (the shim registers libfiu callbacks),
# which the generic shim rule does not.
$(BBFAULT): harness/shims/bbfault.c harness/shims/bbfault.h mk/blackbox.mk Makefile
	@mkdir -p $(dir $@)
	@echo "  SHIM    $@"
	@gcc $(CPPFLAGS_ALL) $(SHIM_CFLAGS) -o $@ $< -lfiu

all: $(BBFAULT)
tests: $(BBFAULT)

deps-blackbox:
	-@ci/install-deps blackbox

ifneq ($(filter-out reference,$(TARGET)),)
faultcheck repro: deps-blackbox
endif
