#!/usr/bin/env bash
# Configures and builds gaussot in build/ (Release; the CUDA backend when nvcc is found).
# Usage: scripts/build.sh [cmake --build arguments, e.g. --target gaussot_cli]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${GAUSSOT_BUILD_DIR:-$root/build}
if [[ -x /usr/local/cuda/bin/nvcc ]] && ! command -v nvcc >/dev/null 2>&1; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release ${GAUSSOT_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)" "$@"
