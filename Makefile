# Verigate — `make run` serves on embedded defaults; `make test` runs every test.
# Both install the Debian packages they need (as root, or with sudo) when missing.

SWIFT        ?= swift
# Libraries the build links against.
BUILD_PKGS   := libphonenumber-dev libopus-dev libsrtp2-dev libc-ares-dev libsqlite3-dev libssl-dev pkg-config
# Real peers and tools the tests drive (see docs/TESTING.md).
TEST_PKGS    := openssl postgresql sip-tester baresip dnsmasq-base kamailio espeak-ng sox kannel kannel-extras chromium chromium-driver fonts-wqy-zenhei python3-venv tshark kamailio-tls-modules systemd binutils
# Inputs per fuzz target: `make test` runs each of the six briefly (2 minutes in all on 2 busy
# cores, plus the fuzz build), `make fuzz` runs each for 1,000,000 (Fuzz/README.md).
FUZZ_RUNS    ?= 20000
# Load tests (1,000 calls at 100 calls/s) and real-time media tests (keys over a jittery path, the
# spoken code pjsua2 must hear, packet captures) run alone, one at a time, after the rest: sharing 2 cores with 400 parallel
# tests starves them past SIP's 500 ms retransmission timer and a 60 ms jitter budget. The
# dispatcher scale-out test (Kamailio probing gateways every second, two cores on PostgreSQL)
# is one of them, so they run under scripts/with-postgres.sh too.
# What the speed comparisons of README "Numbers" drive (`make load`, scripts/load).
LOAD_PKGS    := wrk sip-tester kamailio
LOAD_TESTS   := 'SIPpInteropTests|KamailioTLSEdgeTests|LossyMediaPathTests|EncryptedCallTests|DispatcherScaleOutTests|PjsuaTests'
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Install and package (README "Install and run as a service"). BIN: the binary installed, the
# release build by default (`make release`; the tests install the debug one). systemd looks for
# units in /usr/local/lib/systemd/system and /usr/lib/systemd/system alike, so the unit goes
# under PREFIX; the Debian package (PREFIX=/usr) puts it in /usr/lib/systemd/system, the merged-/usr
# place Debian moves every unit to (DEP 17), which on Debian 12 is the same folder as /lib/systemd/system.
PREFIX       ?= /usr/local
SYSCONFDIR   ?= /etc
UNITDIR      ?= $(PREFIX)/lib/systemd/system
BIN          ?= .build/release/verigate
RESOURCES     = $(dir $(BIN))Verigate_VerificationServer.resources
VERSION      ?= 0.0.0+git$(shell git log -1 --format=%cd.%h --date=format:%Y%m%d 2>/dev/null)
DEB_ARCH     ?= $(shell dpkg --print-architecture)
DEB_DIR      ?= .build/deb
DEB_COMPRESSION ?= xz

.PHONY: run test deps-build deps-test build release install uninstall deb bench load fuzz clean

# Installs whatever of the listed packages is missing.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
endef

deps-build:
	$(call apt_install,$(BUILD_PKGS))

deps-test: deps-build
	$(call apt_install,$(TEST_PKGS))

build: deps-build
	$(SWIFT) build

run: deps-build
	$(SWIFT) run verigate serve

# The binary `make install` and `make deb` take: optimized, the Swift runtime linked in, so it
# needs only the Debian libraries the package depends on.
release: deps-build
	$(SWIFT) build -c release --static-swift-stdlib --product verigate

# The binary to $(PREFIX)/bin, its resources and the call prompts to $(PREFIX)/share/verigate
# (where the binary looks for them), sip.conf.example and README.md to $(PREFIX)/share/doc/verigate,
# the systemd unit to $(UNITDIR), the environment file to $(SYSCONFDIR)/default/verigate unless
# one is there. Builds nothing: `make release` first.
install:
	@test -x "$(BIN)" || { echo "make install: no $(BIN): run 'make release' first, or give BIN=path/to/verigate" >&2; exit 1; }
	@test -d "$(RESOURCES)" || { echo "make install: no $(RESOURCES) beside $(BIN)" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/verigate/prompts $(DESTDIR)$(PREFIX)/share/doc/verigate \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/verigate
	rm -rf $(DESTDIR)$(PREFIX)/share/verigate/Verigate_VerificationServer.resources
	cp -RL $(RESOURCES) $(DESTDIR)$(PREFIX)/share/verigate/Verigate_VerificationServer.resources
	chmod -R u=rwX,go=rX $(DESTDIR)$(PREFIX)/share/verigate/Verigate_VerificationServer.resources
	for locale in prompts/*/; do \
	  install -d $(DESTDIR)$(PREFIX)/share/verigate/prompts/$$(basename $$locale) && \
	  install -m 0644 $$locale*.wav $(DESTDIR)$(PREFIX)/share/verigate/prompts/$$(basename $$locale)/ || exit 1; \
	done
	install -m 0644 sip.conf.example README.md $(DESTDIR)$(PREFIX)/share/doc/verigate/
	sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/verigate.service.in > $(DESTDIR)$(UNITDIR)/verigate.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/verigate.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/default/verigate ]; then echo "kept $(DESTDIR)$(SYSCONFDIR)/default/verigate"; \
	else install -m 0600 packaging/verigate.default $(DESTDIR)$(SYSCONFDIR)/default/verigate; fi

# What `make install` put there, but the environment file (settings are kept) and the data.
uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/verigate $(DESTDIR)$(PREFIX)/share/verigate $(DESTDIR)$(PREFIX)/share/doc/verigate \
	  $(DESTDIR)$(UNITDIR)/verigate.service

# verigate_$(VERSION)_$(DEB_ARCH).deb in $(DEB_DIR): `make install` staged with PREFIX=/usr, with
# DEBIAN/control (Depends found from the libraries the binary links), conffiles and the
# maintainer scripts of packaging/debian.
deb:
	@test -x "$(BIN)" || { echo "make deb: no $(BIN): run 'make release' first, or give BIN=path/to/verigate" >&2; exit 1; }
	rm -rf $(DEB_DIR)/root
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_DIR))/root PREFIX=/usr SYSCONFDIR=/etc UNITDIR=/usr/lib/systemd/system BIN=$(BIN) >/dev/null
	packaging/debian/build-deb.sh $(DEB_DIR)/root $(BIN) $(VERSION) $(DEB_ARCH) $(DEB_DIR) $(DEB_COMPRESSION)
	rm -rf $(DEB_DIR)/root

test: deps-test
	scripts/python-venv.sh
	scripts/with-postgres.sh scripts/with-kannel.sh $(SWIFT) test --skip $(LOAD_TESTS)
	scripts/with-postgres.sh $(SWIFT) test --skip-build --no-parallel --filter $(LOAD_TESTS)
	SWIFT=$(SWIFT) scripts/with-kannel.sh scripts/browser-tests.sh
	SWIFT=$(SWIFT) scripts/contract-tests.sh
	Fuzz/run.sh $(FUZZ_RUNS)

fuzz: deps-build
	Fuzz/run.sh 1000000

bench: deps-build
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress

# Checks against /healthz (wrk) and missed calls against Kamailio's stateless 603 (SIPp), each as
# a ratio to its reference measured in the same run, on the release build.
load: release
	$(call apt_install,$(LOAD_PKGS))
	scripts/load/checks.py
	scripts/load/missed.py

clean:
	rm -rf .build .build-* Benchmarks/.build
