# Thin wrappers over CMake. `make run` and `make test` are the README's two commands.
JOBS ?= $(shell nproc)
CONFIG ?= examples/config.json
SECONDS ?= 600

.PHONY: all run test test-asan test-gcc tsan package-check bench fuzz format format-check clean

all:
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
	cmake --build build/release -j$(JOBS)

# The service on its embedded default: the gateway on :8000 in front of a local
# zerobus-emulator (no Databricks account needed); rows land in ./local-data/data/.
PORT ?= 8000
run: all
	./build/release/src/zerobus-station --config $(CONFIG) --port $(PORT) --local ./local-data

# Everything CI runs: format, clang-14 ASan+UBSan with libFuzzer corpus replay,
# then gcc-12 with -Werror (tests and corpus replay without sanitizers, the daemons under
# valgrind), then clang-14 ThreadSanitizer (unit and integration tests).
test: format-check test-asan test-gcc tsan package-check

# The .deb (CPack): its files and dependencies, the unit (systemd-analyze verify), a record
# through the packaged station; as root with CI=true, installed with dpkg -i and started.
package-check:
	scripts/package_check.sh

test-asan:
	CC=clang-14 cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DZS_WERROR=ON \
	  -DZS_SANITIZE=ON -DZS_FUZZ=ON -DZS_TESTING=ON -DZS_ARENA_DEBUG=ON
	cmake --build build/asan -j$(JOBS)
	cd build/asan && ctest --output-on-failure -j$(JOBS)

test-gcc:
	CC=gcc cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZS_WERROR=ON -DZS_TESTING=ON
	cmake --build build/gcc -j$(JOBS)
	cd build/gcc && ctest --output-on-failure -j$(JOBS)

# ThreadSanitizer: every test, the daemons included (tests/tsan.supp says what is
# suppressed and why: the uninstrumented gRPC, absl and curl of Debian).
tsan:
	CC=clang-14 cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DZS_WERROR=ON -DZS_TSAN=ON \
	  -DZS_TESTING=ON
	cmake --build build/tsan -j$(JOBS)
	cd build/tsan && ctest --output-on-failure -j$(JOBS)

bench: all
	./build/release/bench/bench_transcode

# make fuzz FUZZER=fuzz_transcode SECONDS=600 (new inputs land in build/fuzz-corpus/)
FUZZER ?= fuzz_transcode
fuzz: test-asan
	mkdir -p build/fuzz-corpus/$(FUZZER)
	./build/asan/fuzz/$(FUZZER) -max_total_time=$(SECONDS) -dict=fuzz/json.dict \
	  build/fuzz-corpus/$(FUZZER) fuzz/corpus/$(FUZZER)

SOURCES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h')

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build
