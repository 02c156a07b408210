#!/usr/bin/env bash
# The main job on built-in data (until `gaussot demo` exists): what this gaussot can run on, then
# batched square roots and inverse square roots of the example covariances.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" --target gaussot_cli >/dev/null
gaussot="${GAUSSOT_BUILD_DIR:-$root/build}/apps/gaussot"
echo "== gaussot info"
"$gaussot" info
echo "== gaussot sqrtm --cov examples/data/covariances.npy --inv-sqrt"
"$gaussot" sqrtm --cov "$root/examples/data/covariances.npy" --inv-sqrt
