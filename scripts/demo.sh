#!/usr/bin/env bash
# The main job on built-in data: installs what is missing, builds the gaussot command, then runs
# `gaussot demo`: four random-feature networks compared layer by layer (IGW, BW, CKA), a W2
# barycenter and an FID, with a readable report on stdout and SVG heatmaps in ./gaussot-demo.
# Usage: scripts/demo.sh [gaussot demo options, e.g. --out-dir DIR, --json, --backend cpu]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" --target gaussot_cli >/dev/null
gaussot="${GAUSSOT_BUILD_DIR:-$root/build}/apps/gaussot"
"$gaussot" demo "$@"
