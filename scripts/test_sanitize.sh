#!/usr/bin/env bash
# The CPU paths under AddressSanitizer + UndefinedBehaviorSanitizer, and the libFuzzer targets
# (fuzz/: the .npy reader and the whole command line), from a fresh machine. Builds with clang in
# build-sanitize (no CUDA, no Python module), then runs CTest there: every GoogleTest suite, the
# command-line tests on the sanitized `gaussot`, each fuzzer for GAUSSOT_FUZZ_SECONDS (default
# 30) and the replay of fuzz/regressions/. Any sanitizer report fails the run. The two NGW
# training tests (Ngw.Trains*: 150 s and 29 s under ASan on 2 cores, the same code paths as the
# shorter NGW tests that do run here) are left to the plain build, to keep the whole test command
# under 30 minutes.
#
# Usage: scripts/test_sanitize.sh [ctest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# clang with libFuzzer and the sanitizer runtimes, and LLVM's OpenMP runtime for clang.
"$root/scripts/setup.sh" clang libclang-rt-dev libomp-dev

build=${GAUSSOT_SANITIZE_BUILD_DIR:-$root/build-sanitize}
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link"
flags+=" -fno-omit-frame-pointer -g"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DGAUSSOT_ENABLE_CUDA=OFF -DGAUSSOT_BUILD_BENCH=OFF -DGAUSSOT_BUILD_PYTHON=OFF \
  -DGAUSSOT_BUILD_FUZZERS=ON -DGAUSSOT_FUZZ_SECONDS="${GAUSSOT_FUZZ_SECONDS:-30}" >/dev/null
cmake --build "$build" -j "$(nproc)"

# halt_on_error and a non-zero exit for every report; leaks are reported too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One command-line run may take 10x its plain time here (cli_ngw's 1200-step training took 110 s
# of the 120 s the CLI tests allow by default while another test held the other core).
export GAUSSOT_CLI_TIMEOUT=${GAUSSOT_CLI_TIMEOUT:-600}
cd "$build"
ctest --output-on-failure -j "$(nproc)" -E "install_consumer|Ngw\.Trains" "$@"
