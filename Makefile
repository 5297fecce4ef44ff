# StackSnap — the two commands that matter:
#   make run    build everything (dashboard included) and start the server on http://127.0.0.1:8080
#   make test   install what is missing, start dockerd and the S3 test server, run every test
# Also: make build, make package, make bench, make fuzz, make clean.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
JOBS ?= $(shell nproc)
BUILD ?= build/release
ASAN_BUILD ?= build/asan
FUZZ_BUILD ?= build/fuzz
DATA_DIR ?= /var/lib/stacksnap
LISTEN ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 60

.PHONY: all build run test bench fuzz clean deps-build deps-test unit asan-unit fuzz-run \
        integration engine fixtures web package test-package

all: build

deps-build:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

web:
	@scripts/build-web.sh

$(BUILD)/build.ninja:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTACKSNAP_WERROR=ON \
	  -DSTACKSNAP_WEB_DIST=$(CURDIR)/web/dist >/dev/null

build: deps-build web $(BUILD)/build.ninja
	@ninja -C $(BUILD) -j$(JOBS) | grep -v '^\[' || true
	@ninja -C $(BUILD) -j$(JOBS) >/dev/null

run: build engine
	@mkdir -p $(DATA_DIR)
	@echo "StackSnap dashboard: http://$(LISTEN)  (data dir $(DATA_DIR))"
	$(BUILD)/stacksnap --data-dir $(DATA_DIR) serve --listen $(LISTEN)

engine:
	@scripts/ensure-dockerd.sh

fixtures: engine
	@tests/fixtures/images/build.sh

unit: build
	@echo "== unit tests"
	@cd $(BUILD) && ctest -L unit --output-on-failure -j$(JOBS) --timeout 300 | tail -n 3

asan-unit: deps-build
	@echo "== unit tests under ASan+UBSan"
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

integration: build fixtures
	@scripts/test-services.sh
	@echo "== integration tests (real dockerd, databases, S3)"
	@cd $(BUILD) && ctest -L integration --output-on-failure --timeout 900

test: deps-test
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory unit; \
	$(MAKE) --no-print-directory asan-unit; \
	$(MAKE) --no-print-directory fuzz-run; \
	$(MAKE) --no-print-directory integration; \
	scripts/e2e.sh $(BUILD); \
	$(MAKE) --no-print-directory test-package; \
	echo "== all tests passed in $$(( $$(date +%s) - start )) s"

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
	@scripts/deps.sh bench
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf build
