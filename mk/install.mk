# Installing baton for other projects (README "Installing baton").
#
#   make install [PREFIX=/usr/local] [DESTDIR=]
#   make uninstall [PREFIX=...] [DESTDIR=]
#   make deb            the Debian package (dpkg-buildpackage -us -uc -b), copied
#                       to $(BUILD)/deb/; ci/install-deps package first
#
# Layout (baton finds everything relative to its own executable):
#   bin/baton                        the front end
#   sbin/batond                      the reference daemon
#   lib/baton/                       the programs baton runs (faultcheck, bench,
#                                    loadgen), the LD_PRELOAD shims
#                                    (libforkalloc.so, libbbfault.so), and
#                                    batond -> ../../sbin/batond, so faultcheck
#                                    finds the daemon beside itself
#   share/baton/catalogue            the fault-point catalogue
#   share/baton/targets/*.target     target files (targets/ of the tree)
#   share/man/man1/baton.1, man5/baton-target.5, man8/batond.8
.PHONY: install uninstall deb

PREFIX        ?= /usr/local
DESTDIR       ?=
# the version is debian/changelog's, so the package and `baton version` agree
BATON_VERSION ?= $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog 2>/dev/null)
INSTALL_LIBEXEC := faultcheck bench loadgen
INSTALL_SHIMS   := libforkalloc.so libbbfault.so
MAN_PAGES       := docs/man/baton.1 docs/man/baton-target.5 docs/man/batond.8
TARGET_FILES     = $(wildcard targets/*.target)

$(BUILD)/obj/harness/cmd/baton.o: CPPFLAGS_ALL += -DBATON_VERSION='"$(or $(BATON_VERSION),unknown)"'
$(BUILD)/obj/harness/cmd/baton.o: debian/changelog

I := $(DESTDIR)$(PREFIX)

install: all
	install -d $(I)/bin $(I)/sbin $(I)/lib/baton $(I)/share/baton/targets \
	  $(I)/share/man/man1 $(I)/share/man/man5 $(I)/share/man/man8
	install -m 755 $(BUILD)/baton $(I)/bin/baton
	install -m 755 $(BUILD)/batond $(I)/sbin/batond
	install -m 755 $(INSTALL_LIBEXEC:%=$(BUILD)/%) $(I)/lib/baton/
	install -m 644 $(INSTALL_SHIMS:%=$(BUILD)/%) $(I)/lib/baton/
	ln -sfn ../../sbin/batond $(I)/lib/baton/batond
	install -m 644 faults/catalogue $(I)/share/baton/catalogue
	$(if $(TARGET_FILES),install -m 644 $(TARGET_FILES) $(I)/share/baton/targets/)
	install -m 644 docs/man/baton.1 $(I)/share/man/man1/baton.1
	install -m 644 docs/man/baton-target.5 $(I)/share/man/man5/baton-target.5
	install -m 644 docs/man/batond.8 $(I)/share/man/man8/batond.8
	$(if $(wildcard docs/baton-target.5.md),install -D -m 644 docs/baton-target.5.md \
	  $(I)/share/doc/baton/baton-target.5.md)

uninstall:
	rm -f $(I)/bin/baton $(I)/sbin/batond $(I)/share/man/man1/baton.1 \
	  $(I)/share/man/man5/baton-target.5 $(I)/share/man/man8/batond.8
	rm -rf $(I)/lib/baton $(I)/share/baton $(I)/share/doc/baton/baton-target.5.md

deb:
	@ci/install-deps package
	@ci/build-deb $(BUILD)/deb
