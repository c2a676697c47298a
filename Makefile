# Verigate — `make run` serves on embedded defaults; `make test` runs every test.
# Both install the Debian packages they need (as root, or with sudo) when missing.

SWIFT        ?= swift
# Libraries the build links against.
BUILD_PKGS   := libphonenumber-dev libopus-dev libsrtp2-dev libc-ares-dev libsqlite3-dev libssl-dev pkg-config
# Real peers and tools the tests drive (see docs/TESTING.md).
TEST_PKGS    := openssl postgresql sip-tester baresip dnsmasq-base kamailio espeak-ng sox kannel kannel-extras chromium chromium-driver fonts-wqy-zenhei python3-venv tshark kamailio-tls-modules
# Inputs per fuzz target: `make test` runs each of the six briefly (2 minutes in all on 2 busy
# cores, plus the fuzz build), `make fuzz` runs each for 1,000,000 (Fuzz/README.md).
FUZZ_RUNS    ?= 20000
# Load tests (1,000 calls at 100 calls/s) and real-time media tests (keys over a jittery path,
# packet captures) run alone, one at a time, after the rest: sharing 2 cores with 400 parallel
# tests starves them past SIP's 500 ms retransmission timer and a 60 ms jitter budget.
LOAD_TESTS   := 'SIPpInteropTests|KamailioTLSEdgeTests|LossyMediaPathTests|EncryptedCallTests'
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test deps-build deps-test build bench fuzz clean

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

test: deps-test
	scripts/python-venv.sh
	scripts/with-postgres.sh scripts/with-kannel.sh $(SWIFT) test --skip $(LOAD_TESTS)
	$(SWIFT) test --skip-build --no-parallel --filter $(LOAD_TESTS)
	SWIFT=$(SWIFT) scripts/with-kannel.sh scripts/browser-tests.sh
	Fuzz/run.sh $(FUZZ_RUNS)

fuzz: deps-build
	Fuzz/run.sh 1000000

bench: deps-build
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark --no-progress

clean:
	rm -rf .build .build-* Benchmarks/.build
