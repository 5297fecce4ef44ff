# StackSnap — the two commands that matter:
#   make run    build everything (dashboard included) and start the server on http://127.0.0.1:8080
#               (the first run prints the one-time setup URL to open)
#   make test   install what is missing, start dockerd and the S3 test server, run every test
# Also: make build, make package, make bench, make fuzz, make clean; make integration-v1 / integration-v2
# (one Compose lane), make asan-full (everything under ASan, slow), make test-package.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
JOBS ?= $(shell nproc)
BUILD ?= build/release
ASAN_BUILD ?= build/asan
FUZZ_BUILD ?= build/fuzz
DATA_DIR ?= /var/lib/stacksnap
LISTEN ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 60

.PHONY: all build build-tests run test bench fuzz clean deps-build deps-test unit asan-unit asan-full fuzz-run \
        integration integration-v2 integration-v1 test-engine20 e2e engine fixtures web package test-package

all: build

deps-build:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

web:
	@scripts/build-web.sh

# -g1 (line tables: backtraces and sanitizer reports name file and line) instead of -g:
# a third less compile time. Configure by hand with -g for a debugger session.
$(BUILD)/build.ninja:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTACKSNAP_WERROR=ON \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DSTACKSNAP_WEB_DIST=$(CURDIR)/web/dist >/dev/null

# `make run` needs the binary only; the benchmarks build with `make bench`.
build: deps-build web $(BUILD)/build.ninja
	@ninja -C $(BUILD) -j$(JOBS) stacksnap | grep -v '^\[' || true
	@ninja -C $(BUILD) -j$(JOBS) stacksnap >/dev/null

# Everything the tests run, in one ninja queue: the binary, the unit tests, the unit tests
# under ASan+UBSan (same build dir; CMakeLists.txt, STACKSNAP_ASAN_UNIT) and the
# integration tests.
TEST_TARGETS := stacksnap stacksnap_unit_tests stacksnap_unit_tests_asan stacksnap_integration_tests
build-tests: deps-build web $(BUILD)/build.ninja
	@ninja -C $(BUILD) -j$(JOBS) $(TEST_TARGETS) | grep -v '^\[' || true
	@ninja -C $(BUILD) -j$(JOBS) $(TEST_TARGETS) >/dev/null

# The server makes the data dir private (0700) and, on the first run, prints the one-time
# setup URL (http://…/?setup_token=…): open that one to create the admin.
run: build engine
	@echo "StackSnap dashboard: http://$(LISTEN)  (data dir $(DATA_DIR)); on the first run open the setup URL printed below"
	@$(BUILD)/stacksnap --data-dir $(DATA_DIR) serve --listen $(LISTEN)

engine:
	@scripts/ensure-dockerd.sh

fixtures: engine
	@tests/fixtures/images/build.sh

unit: build-tests
	@echo "== unit tests"
	@cd $(BUILD) && ctest -L unit --output-on-failure -j$(JOBS) --timeout 300 | tail -n 3

# The unit tests under ASan+UBSan: every source a unit test reaches is instrumented; the
# CLI, the embedded dashboard and the Beast HTTP server layer are linked in uninstrumented
# (no unit test runs them). docs/adr/0007-sanitized-tests.md.
asan-unit: build-tests
	@echo "== unit tests under ASan+UBSan"
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(BUILD)/stacksnap_unit_tests_asan --gtest_brief=1

# The whole code base instrumented, in a build of its own (slow: the Beast layer alone
# takes minutes and gigabytes under ASan): when a change touches the HTTP server.
asan-full: deps-build
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTACKSNAP_WERROR=ON \
	  -DSTACKSNAP_SANITIZE=ON -DSTACKSNAP_BUILD_BENCH=OFF >/dev/null
	@ninja -C $(ASAN_BUILD) -j$(JOBS) stacksnap_unit_tests >/dev/null
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(ASAN_BUILD)/stacksnap_unit_tests --gtest_brief=1

fuzz: deps-test
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSTACKSNAP_FUZZ=ON -DSTACKSNAP_BUILD_BENCH=OFF >/dev/null
	@ninja -C $(FUZZ_BUILD) -j$(JOBS) $$(scripts/fuzz.sh --targets) >/dev/null

fuzz-run: fuzz
	@scripts/fuzz.sh --run $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Both lanes: Compose v2 (everything, a foreign project `shop` beside it) and Compose v1
# (backup, restore, copy restore, drill on v1-created stacks). scripts/integration.sh.
integration: build-tests fixtures
	@scripts/integration.sh $(BUILD) both

integration-v2: build-tests fixtures
	@scripts/integration.sh $(BUILD) v2

integration-v1: build-tests fixtures
	@scripts/integration.sh $(BUILD) v1

# Engine 20.10 (Debian 12's docker.io, API 1.41) with Compose v1, as a Debian 12 user runs
# them: a second dockerd on its own socket (scripts/engine20.sh), the fixture images
# copied into it, and the Engine client, discovery, backup, restore, copy and drill tests
# against it. Not part of `make test` (the image copy alone takes minutes).
ENGINE20_TESTS := '^(Docker(System|Containers|Archive|Exec)\..*|StackDiscovery\..*|CliProjects\.JsonDescribesTheSampleStacks|Backup\.ShopHasDumpsVolumesBindsConfigAndVerifies|RestoreTest\..*|ComposeLane\..*)$$'
test-engine20: build-tests fixtures
	@scripts/engine20.sh start >/dev/null
	@scripts/engine20.sh load stacksnap-fixture/app:test stacksnap-fixture/postgres:test \
	  stacksnap-fixture/redis:test stacksnap-fixture/mariadb:test
	@echo "== integration tests against Engine 20.10 (API 1.41) with Compose v1"
	@cd $(BUILD) && DOCKER_HOST=$$($(CURDIR)/scripts/engine20.sh host) STACKSNAP_COMPOSE=v1 \
	  STACKSNAP_IT_PREFIX=$${STACKSNAP_IT_PREFIX:-ss20-} ctest -L integration -R $(ENGINE20_TESTS) \
	  --output-on-failure --timeout 900

e2e: build-tests
	@scripts/e2e.sh $(BUILD)

# Every phase timed; the breakdown is printed at the end (scripts/timed.sh).
test: deps-test
	@scripts/timed.sh start; \
	scripts/timed.sh run "include rule (docs/adr/0006-layers.md)" scripts/check-layers.sh; \
	scripts/timed.sh run "build (release + ASan unit tests)" $(MAKE) --no-print-directory build-tests; \
	scripts/timed.sh run "unit tests" $(MAKE) --no-print-directory unit; \
	scripts/timed.sh run "unit tests under ASan+UBSan" $(MAKE) --no-print-directory asan-unit; \
	scripts/timed.sh run "fuzz (build + run)" $(MAKE) --no-print-directory fuzz-run; \
	scripts/timed.sh run "integration (v2 + v1 lanes)" $(MAKE) --no-print-directory integration; \
	scripts/timed.sh run "e2e + browser" $(MAKE) --no-print-directory e2e; \
	scripts/timed.sh run "package (.deb + image) and its tests" $(MAKE) --no-print-directory test-package; \
	scripts/timed.sh report

# The Debian packages and the container image, in $(BUILD)/package (packaging/README.md).
package: deps-build web $(BUILD)/build.ninja engine
	@scripts/ensure-packages.sh dpkg-dev binutils lintian tini zstd
	@ninja -C $(BUILD) -j$(JOBS) stacksnap >/dev/null
	@packaging/build-deb.sh $(BUILD) $(BUILD)/package
	@packaging/build-image.sh $(BUILD)/package

test-package: package fixtures
	@echo "== package tests (.deb on a fresh Debian 12; the image backs up and restores shop)"
	@tests/package/run.sh $(BUILD)/package

bench: build fixtures
	@ninja -C $(BUILD) -j$(JOBS) >/dev/null
	@scripts/deps.sh bench
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf build
