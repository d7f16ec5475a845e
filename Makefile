# quail: build, test, run. See README.md.
#   make deps     install missing Debian packages (apt-get; silent when all are present)
#   make          build every program into build/bin/
#   make check    deps, build, unit tests under ASan+UBSan, fuzzers (bounded), end-to-end tests
#   make up/down  start/stop a demo instance under ./var/
#   make bench    throughput and memory figures (bench-peers: beside Postfix and OpenSMTPD)
#   make e2e-asan every end-to-end test against programs built with ASan+UBSan (opt-in, slow)
SHELL := /bin/bash
JOBS  ?= $(shell nproc)
ROOT  ?= $(CURDIR)/var
PYTHON ?= /usr/bin/python3
FUZZ_SECONDS ?= 10
CMAKE_FLAGS ?= -DQUAIL_WERROR=$(if $(CI),ON,ON)

DEB_PACKAGES := g++ clang cmake make pkg-config libsodium-dev libcdb-dev tinycdb doctest-dev \
	libssl-dev libunbound-dev libc-ares-dev libclang-rt-14-dev swaks python3 python3-aiosmtpd \
	procps psmisc strace libevent-dev dnsmasq-base openssl mpop msmtp libio-socket-ssl-perl libnet-ssleay-perl \
	python3-dkim python3-nacl opendkim-tools \
	python3-spf python3-dnslib publicsuffix \
	liblmdb-dev lmdb-utils redis-server \
	python3-milter opendkim \
	python3-pyfuse3

.PHONY: all deps build check unit fuzz fuzz-build fuzz-long e2e e2e-asan up down bench bench-peers clean install

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to install $$missing" >&2; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

# The unit tests run from the fuzz tree (clang, ASan+UBSan, every UBSan finding
# fatal), so make check compiles lib/ under sanitizers once. A gcc sanitizer tree
# is still there for whoever wants it: cmake -B build-asan -DQUAIL_SANITIZE=ON.
unit: fuzz-build
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-fuzz/tests/unit-tests

fuzz-build:
	@cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DQUAIL_FUZZ=ON \
		-DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

# CI's run (inside `make check`): FUZZ_SECONDS per harness, fixed seed 1.
fuzz: fuzz-build
	@bash tests/fuzz/run $(FUZZ_SECONDS)

# Exploring, never in CI: every harness with a fresh random seed (FUZZ_SEED=0)
# for 600 s, or FUZZ_SECONDS when given; FUZZ_JOBS harnesses at once. See tests/fuzz/README.md.
fuzz-long: fuzz-build
	@FUZZ_SEED=$(or $(FUZZ_SEED),0) bash tests/fuzz/run \
		$(if $(filter command line environment,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),600)

e2e: build
	$(PYTHON) tests/e2e/run.py

# Opt-in, not in `make check` (19 min here for the whole suite): the whole e2e suite (or
# E2E_FILTER) against build-asan/bin, every program built with ASan+UBSan and
# writing its reports under ASAN_REPORTS (cmake/sanitizer_log.cpp; mode 1777,
# since system-install tests run programs under many uids). Fails when a test
# fails or when any report file was written; the reports are printed.
ASAN_REPORTS ?= /tmp/quail-e2e-asan
E2E_FILTER ?=
e2e-asan:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DQUAIL_SANITIZE=ON \
		-DQUAIL_SANITIZE_LOG=$(ASAN_REPORTS)/report $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS) --target programs
	@rm -rf $(ASAN_REPORTS) && mkdir -p $(ASAN_REPORTS) && chmod 1777 $(ASAN_REPORTS)
	@QUAIL_BIN=$(CURDIR)/build-asan/bin E2E_TIMEOUT=$${E2E_TIMEOUT:-1800} $(PYTHON) tests/e2e/run.py $(E2E_FILTER); \
	status=$$?; reports=$$(find $(ASAN_REPORTS) -type f | sort); \
	for f in $$reports; do echo "=== $$f"; head -n 60 $$f; done; \
	echo "e2e-asan: $$(echo $$reports | wc -w) sanitizer report(s) in $(ASAN_REPORTS)"; \
	test -z "$$reports" && exit $$status || exit 1

check: deps
	$(MAKE) build
	$(MAKE) unit
	$(MAKE) fuzz
	$(MAKE) e2e

up: build
	@test -d $(ROOT) || build/bin/quail --root $(ROOT) init --hostname localhost --domain example.test
	build/bin/quail --root $(ROOT) up --smtp 127.0.0.1:2525

down:
	@test -x build/bin/quail && build/bin/quail --root $(ROOT) down || true

bench: build
	$(PYTHON) bench/run.py

# Opt-in, never in CI: installs Postfix and OpenSMTPD and runs them beside quail.
bench-peers: build
	$(PYTHON) bench/peers/run.py

# Long runs of issue 18, never in CI (the e2e modules 71 and 72 run a bounded
# subset): kill -9 at the queue's fsync/rename/link/unlink points (strace's fault
# injection) and power cuts on powerfs, a FUSE layer that forgets what was not
# fsync'ed. KILLS/CUTS: how many; MINUTES: stop earlier; MODEL: strict or ordered.
.PHONY: crash-long power-long
crash-long: build
	$(PYTHON) tests/long/crash_matrix.py --kills $(or $(KILLS),10000) $(if $(MINUTES),--minutes $(MINUTES)) $(if $(SCENES),--scenes $(SCENES))

power-long: build
	$(PYTHON) tests/long/power_cut.py --cuts $(or $(CUTS),1000) --model $(or $(MODEL),strict) $(if $(MINUTES),--minutes $(MINUTES))

install: build
	install -d $(DESTDIR)/usr/local/lib/quail/bin
	install -m 755 build/bin/* $(DESTDIR)/usr/local/lib/quail/bin/

clean:
	rm -rf build build-asan build-fuzz

FORCE:
