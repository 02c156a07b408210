#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds gaussot_bench and the gaussot command if needed, then runs the CPU benchmarks and the
# peer comparisons (peers_sqrtm.py, peers_fid.py, peers_bw_pairs.py), keeping the raw outputs in
# bench/results/<date>-cpu/:
#   header.txt                  date, git commit, CPU model, core count, versions
#   bench_cpu.json / .txt       gaussot_bench --benchmark_filter='^cpu/' (JSON and console table)
#   peers_sqrtm.json / .txt     peers_sqrtm.py with default threads (gaussot: all cores; NumPy and
#                               SciPy: their BLAS defaults)
#   peers_sqrtm_1thread.json / .txt
#                               the same with one thread everywhere (gaussot --threads 1,
#                               OMP/OPENBLAS/MKL_NUM_THREADS=1): a per-core comparison
#   peers_fid.json / .txt       peers_fid.py: FID at d = 2048 from two 10,000-sample sets, gaussot
#                               vs pytorch-fid's method and a NumPy symmetric path (default threads)
#   peers_bw_pairs.json / .txt  peers_bw_pairs.py: all pairs of 1000 Gaussians in d = 64, gaussot vs
#                               POT and NumPy (default threads); skipped, with a note in the .txt,
#                               when POT is not installed (python3 -m pip install pot)
#
# Usage: bench/run_cpu.sh [extra gaussot_bench flags, e.g. --benchmark_repetitions=3]
# Environment: BUILD_DIR (default build), JOBS (build parallelism, default 2), MIN_TIME
# (--benchmark_min_time in seconds, default 0.5), REPEATS (peers_sqrtm.py --repeats, default 5),
# FID_REPEATS (peers_fid.py --repeats, default 3), BW_REPEATS (peers_bw_pairs.py --repeats,
# default 1), PEERS (which peer scripts to run, default "sqrtm fid bw_pairs"),
# THREADS (gaussot CPU threads, default all cores), PYTHON (default python3), OUT_DIR (default
# bench/results/<date>-cpu, with a -2, -3, ... suffix rather than overwriting an earlier run).
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench_dir")
build_dir=${BUILD_DIR:-$root/build}
jobs=${JOBS:-2}
min_time=${MIN_TIME:-0.5}
repeats=${REPEATS:-5}
threads=${THREADS:-}
python=${PYTHON:-python3}
fid_repeats=${FID_REPEATS:-3}
bw_repeats=${BW_REPEATS:-1}
peers=" ${PEERS:-sqrtm fid bw_pairs} "

# ---- build (cmake --build does nothing when everything is up to date) -------------------------
cmake -S "$root" -B "$build_dir" -DGAUSSOT_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" -j"$jobs" --target gaussot_bench gaussot_cli gaussot_time
bench_bin=$build_dir/bench/gaussot_bench
gaussot_bin=$build_dir/apps/gaussot
time_bin=$build_dir/bench/gaussot_time

# ---- output folder and header ------------------------------------------------------------------
if [[ -n ${OUT_DIR:-} ]]; then
  out=$OUT_DIR
else
  out=$bench_dir/results/$(date +%Y-%m-%d)-cpu
  if [[ -e $out ]]; then
    n=2
    while [[ -e $out-$n ]]; do n=$((n + 1)); done
    out=$out-$n
  fi
fi
mkdir -p "$out"

commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown && -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  commit="$commit (with uncommitted changes)"
fi
cpu_model=$(grep -m1 -i '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
{
  echo "date: $(date -Iseconds)"
  echo "git commit: $commit"
  echo "cpu model: ${cpu_model:-$(uname -m)}"
  echo "logical cpus: $(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
  echo "usable cores (nproc): $(nproc)"
  if command -v lscpu >/dev/null; then
    echo "cores per socket: $(lscpu | awk -F: '/^Core\(s\) per socket/ {gsub(/ /, "", $2); print $2}')"
    echo "sockets: $(lscpu | awk -F: '/^Socket\(s\)/ {gsub(/ /, "", $2); print $2}')"
  fi
  echo "gaussot threads: ${threads:-default (all cores)}"
  echo "kernel: $(uname -sr)"
  echo "compiler: $(grep -m1 '^CMAKE_CXX_COMPILER:' "$build_dir/CMakeCache.txt" | cut -d= -f2-)"
  echo "build type: $(grep -m1 '^CMAKE_BUILD_TYPE:' "$build_dir/CMakeCache.txt" | cut -d= -f2-)"
  echo "gaussot info: $("$gaussot_bin" info | tr -d '\n' | tr -s ' ')"
} >"$out/header.txt"
cat "$out/header.txt"

# ---- the benchmarks ----------------------------------------------------------------------------
echo
echo "== gaussot_bench (CPU) =="
"$bench_bin" --benchmark_filter='^cpu/' --benchmark_min_time="$min_time" \
  --benchmark_out="$out/bench_cpu.json" --benchmark_out_format=json \
  ${threads:+--threads="$threads"} "$@" | tee "$out/bench_cpu.txt"

status=0
common_args=(--gaussot "$gaussot_bin" --gaussot-time "$time_bin")
if [[ $peers == *" sqrtm "* ]]; then
  echo
  echo "== peers_sqrtm.py (default threads) =="
  "$python" "$bench_dir/peers_sqrtm.py" "${common_args[@]}" \
    --repeats "$repeats" ${threads:+--threads "$threads"} --json "$out/peers_sqrtm.json" \
    | tee "$out/peers_sqrtm.txt" || status=1

  echo
  echo "== peers_sqrtm.py (one thread everywhere) =="
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    "$python" "$bench_dir/peers_sqrtm.py" "${common_args[@]}" \
    --repeats "$repeats" --threads 1 --json "$out/peers_sqrtm_1thread.json" \
    | tee "$out/peers_sqrtm_1thread.txt" || status=1
fi

if [[ $peers == *" fid "* ]]; then
  echo
  echo "== peers_fid.py (default threads) =="
  "$python" "$bench_dir/peers_fid.py" "${common_args[@]}" \
    --repeats "$fid_repeats" ${threads:+--threads "$threads"} --json "$out/peers_fid.json" \
    | tee "$out/peers_fid.txt" || status=1
fi

if [[ $peers == *" bw_pairs "* ]]; then
  echo
  echo "== peers_bw_pairs.py (default threads) =="
  if "$python" -c 'import ot.gaussian' 2>/dev/null; then
    "$python" "$bench_dir/peers_bw_pairs.py" "${common_args[@]}" \
      --repeats "$bw_repeats" ${threads:+--threads "$threads"} --json "$out/peers_bw_pairs.json" \
      | tee "$out/peers_bw_pairs.txt" || status=1
  else
    note="peers_bw_pairs.py skipped: POT is not installed ($python -m pip install pot)"
    echo "$note" | tee "$out/peers_bw_pairs.txt"
  fi
fi

echo
echo "results in $out"
exit "$status"
