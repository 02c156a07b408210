#!/usr/bin/env bash
# Oversubscription: one gaussot run alone, then two identical runs side by side on the same
# cores, each with the same --threads. A library whose small parallel regions spin (as Eigen's
# GEMM threading and OpenMP barriers do) slows down by far more than 2x when two runs share the
# cores; cpu/parallel.hpp keeps small work on the calling thread to avoid that.
#
# Usage: bench/oversubscription.sh GAUSSOT [THREADS]   (default THREADS: the number of cores)
# It runs `gaussot ngw` on two fixed random centered Gaussians, (256, 64), widths 128, 100 steps,
# and prints wall-clock seconds: alone, and each of the pair.
set -euo pipefail
gaussot=$1
threads=${2:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import struct, sys, random
# Diagonal covariances in .npy (no NumPy needed): spectra in [0.5, 2], fixed seed.
random.seed(0)
for name, d in (("a", 256), ("b", 64)):
    values = [0.0] * (d * d)
    for i in range(d):
        values[i * d + i] = random.uniform(0.5, 2.0)
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (d, d)
    header += " " * ((64 - (11 + len(header)) % 64) % 64) + "\n"
    with open("%s/%s.npy" % (sys.argv[1], name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack("<%dd" % len(values), *values))
PY
run() {
  local start end
  start=$EPOCHREALTIME
  "$gaussot" ngw --a-cov "$work/a.npy" --b-cov "$work/b.npy" --steps 100 --map-widths 128,128 \
    --potential-widths 128,128 --eval-samples 4096 --threads "$threads" --backend cpu >/dev/null
  end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" -v who="$1" 'BEGIN { printf "%s %.2f s\n", who, b - a }'
}
echo "gaussot ngw (256, 64), widths 128, 100 steps, --threads $threads, $(nproc) cores"
run alone
run "pair 1" & run "pair 2" & wait
