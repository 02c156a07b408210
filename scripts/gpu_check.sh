#!/usr/bin/env bash
# The whole GPU check in one command, run on a GPU machine from the repository root with the
# bundle of scripts/gpu_bundle.sh present (gpu-bundle/, built on a machine without a GPU):
#
#   tests   `gaussot info`; every GoogleTest binary (CUDA suites included); the command-line
#           tests (tests/cli, on the bundle's `gaussot`, which picks CUDA when a device is
#           present; cli_hardening only with GAUSSOT_GPU_CHECK_HARDENING=1: 3000 runs, checked
#           under ASan in scripts/test_sanitize.sh); compute-sanitizer memcheck, racecheck,
#           synccheck and initcheck over the CUDA tests (gtest filter GAUSSOT_SANITIZER_FILTER,
#           default '*Cuda*:*cuda*' less the four large tests, each tool bounded by
#           GAUSSOT_SANITIZER_SECONDS, default 45);
#           the Python module built there (pip --no-build-isolation with the image's nanobind,
#           scikit-build-core, cmake and ninja, the bundle's headers and OpenBLAS) and tests/python
#   bench   the ^cuda/ Google benchmarks (gaussot_bench), then bench/gpu_peers.py: gaussot (module
#           and gaussot_time) against torch, cupy, jax, torchmetrics' FID and POT (torch backend,
#           from the bundle's wheel) on the same inputs, with ratios
#   all     both, under one deadline (default 565 s; GAUSSOT_GPU_CHECK_DEADLINE)
#   selfcheck   only the checks that need no GPU (what CI runs, from scripts/test.sh)
#   setup   only unpack the bundle into build-gpu/ and resolve its libraries (also without a GPU),
#           then `gaussot info`; `. build-gpu/env.sh` then runs the binaries by hand
#
# Usage: scripts/gpu_check.sh [tests|bench|all|selfcheck|setup] [OUTDIR]
# OUTDIR (default: $OUT when set, else bench/results/<date>-gpu) receives at most 8 files:
# tests.log (info, GoogleTest, CLI), sanitizer.log, python.log (module build and pytest),
# bench.log, bench_cuda.json, peers.log, peers.json, summary-<mode>.md. Every part runs under
# `timeout` and a failing part does not stop the others; the summary is also printed last.
# Exit status: 1 when a test, a sanitizer, a benchmark or gaussot's agreement with the peers
# failed, else 0.
#
# Without a CUDA device (nvidia-smi lists none), or in mode selfcheck, it says so and runs only
# what needs none, in seconds, building nothing: bash -n of this script and gpu_bundle.sh, that
# the paths it uses exist, py_compile and --check of bench/gpu_peers.py, and the bundle's size
# (gpu-bundle/ when present, else an estimate from build/). Then exit 0 unless one of those fails.
# GAUSSOT_GPU_CHECK_FORCE=1 runs the device parts anyway (to exercise the script without a GPU:
# the CUDA tests then skip themselves).
#
# Other environment: GAUSSOT_GPU_BUNDLE (default gpu-bundle), GAUSSOT_GPU_WORK (default build-gpu:
# the unpacked bundle, the Python build, scratch logs), GAUSSOT_GPU_PYTHON (default python3),
# GAUSSOT_BENCH_MIN_TIME (default 0.1 s per benchmark), GAUSSOT_PEERS_ARGS (extra arguments for
# gpu_peers.py), GAUSSOT_SANITIZER_LEAKS=1 (memcheck --leak-check full).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

mode=${1:-all}
case $mode in
  tests|bench|all|selfcheck|setup) ;;
  -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "gpu_check: unknown mode '$mode' (tests, bench, all, selfcheck or setup)" >&2; exit 2 ;;
esac
outdir_arg=${2:-}
bundle_dir=${GAUSSOT_GPU_BUNDLE:-$root/gpu-bundle}
work=${GAUSSOT_GPU_WORK:-$root/build-gpu}
python=${GAUSSOT_GPU_PYTHON:-python3}
t0=$SECONDS

say() { echo "gpu_check: $*"; }

# ---- checks that need no GPU ----------------------------------------------------------------------

# Files of the repository this script and gpu_bundle.sh rely on.
referenced_paths=(
  scripts/gpu_check.sh scripts/gpu_bundle.sh scripts/test.sh
  bench/gpu_peers.py bench/peers_sqrtm.py bench/peers_fid.py bench/peers_bw_pairs.py bench/README.md
  tests/CMakeLists.txt tests/python tests/python/conftest.py
  CMakePresets.json CMakeLists.txt pyproject.toml python/CMakeLists.txt .gitignore
)
# The command-line tests, as tests/CMakeLists.txt registers them.
cli_tests() {
  sed -n 's|.*CMAKE_CURRENT_SOURCE_DIR}/\(cli/test_[A-Za-z0-9_]*\.py\).*|tests/\1|p' tests/CMakeLists.txt
}

# A Python with NumPy, for gpu_peers.py --check: the GPU machine's, the test venv, or none.
python_with_numpy() {
  local p
  for p in "$python" "$root/build/python-venv/bin/python" python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy' >/dev/null 2>&1; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

static_checks() {
  local status=0 f missing=() p
  for f in scripts/gpu_check.sh scripts/gpu_bundle.sh; do
    if bash -n "$f"; then say "ok: bash -n $f"; else say "FAIL: bash -n $f"; status=1; fi
  done
  mapfile -t clis < <(cli_tests)
  ((${#clis[@]})) || missing+=("the cli/test_*.py entries of tests/CMakeLists.txt")
  for f in "${referenced_paths[@]}" "${clis[@]}"; do [[ -e $f ]] || missing+=("$f"); done
  grep -q '"name": *"portable"' CMakePresets.json || missing+=("CMakePresets.json: the portable preset")
  if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$root" check-ignore -q gpu-bundle/bundle.tar.xz || missing+=(".gitignore: gpu-bundle/ is not ignored")
    git -C "$root" check-ignore -q build-gpu/x || missing+=(".gitignore: build-gpu/ is not ignored")
  fi
  if ((${#missing[@]})); then
    say "FAIL: missing: ${missing[*]}"
    status=1
  else
    say "ok: the ${#referenced_paths[@]} files and ${#clis[@]} command-line tests it uses exist"
  fi
  local pyc
  pyc=$(mktemp)
  if python3 -c 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)' \
      bench/gpu_peers.py "$pyc"; then
    say "ok: py_compile bench/gpu_peers.py"
  else
    say "FAIL: py_compile bench/gpu_peers.py"
    status=1
  fi
  rm -f "$pyc"
  if p=$(python_with_numpy); then
    if PYTHONDONTWRITEBYTECODE=1 timeout 60 "$p" bench/gpu_peers.py --check; then :; else
      say "FAIL: bench/gpu_peers.py --check"
      status=1
    fi
  else
    say "note: no Python with NumPy here: bench/gpu_peers.py --check not run"
  fi
  local limit=${GAUSSOT_BUNDLE_LIMIT_MIB:-60}
  if [[ -f $bundle_dir/bundle.tar.xz ]]; then
    local bytes tree
    bytes=$(du -sb "$bundle_dir" | cut -f1)
    tree=$(git -C "$root" ls-files -z --cached --others --exclude-standard 2>/dev/null |
           xargs -0 -r du -cb 2>/dev/null | awk '$2 == "total" { s += $1 } END { print s + 0 }')
    say "bundle: $(awk -v b="$bytes" -v t="$tree" 'BEGIN { printf "gpu-bundle/ %.1f MiB + working tree %.1f MiB = %.1f MiB", b/1048576, t/1048576, (b+t)/1048576 }') (limit $limit MiB)"
    sed -n '2p' "$bundle_dir/MANIFEST.txt" 2>/dev/null | sed 's/^/gpu_check: bundle /'
    local built head
    built=$(sed -n '2s/.*commit \([0-9a-f]*\).*/\1/p' "$bundle_dir/MANIFEST.txt" 2>/dev/null)
    head=$(git -C "$root" rev-parse --short HEAD 2>/dev/null)
    if [[ -n $built && -n $head && $built != "$head" ]]; then
      say "note: the bundle's binaries are from $built, the tree is at $head: run scripts/gpu_bundle.sh before a GPU run"
    fi
    if ((bytes + tree > limit * 1048576)); then say "FAIL: the bundle is over the limit"; status=1; fi
  else
    say "no gpu-bundle/ here (scripts/gpu_bundle.sh makes it); estimating instead"
    if ! timeout 90 "$root/scripts/gpu_bundle.sh" --estimate "${GAUSSOT_BUILD_DIR:-$root/build}"; then
      say "FAIL: bundle estimate over the limit (or the estimate failed)"
      status=1
    fi
  fi
  return $status
}

device_present() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '
}

if [[ $mode == selfcheck ]] || { [[ $mode != setup ]] && ! device_present && [[ ${GAUSSOT_GPU_CHECK_FORCE:-0} != 1 ]]; }; then
  if [[ $mode != selfcheck ]]; then
    say "no CUDA device here (nvidia-smi lists none): only the checks that need no GPU run;" \
        "nothing is written to an output folder"
  fi
  static_checks
  status=$?
  say "no-GPU checks $([[ $status == 0 ]] && echo passed || echo FAILED) in $((SECONDS - t0)) s"
  exit $status
fi

# ---- the device parts ---------------------------------------------------------------------------

outdir=${outdir_arg:-${OUT:-$root/bench/results/$(date +%Y-%m-%d)-gpu}}
[[ $mode == setup ]] && outdir=$work/setup
mkdir -p "$outdir" "$work"
outdir=$(cd "$outdir" && pwd)
half_cores=$(( $(nproc) > 3 ? $(nproc) / 2 : 1 ))
omp_saved=${OMP_NUM_THREADS-unset}
restore_omp() {
  if [[ $omp_saved == unset ]]; then unset OMP_NUM_THREADS; else export OMP_NUM_THREADS=$omp_saved; fi
}
case $mode in all) default_deadline=565 ;; tests) default_deadline=450 ;; bench) default_deadline=330 ;; setup) default_deadline=120 ;; esac
deadline=${GAUSSOT_GPU_CHECK_DEADLINE:-$default_deadline}
tests_log=$outdir/tests.log
[[ $mode == bench ]] && tests_log=$outdir/bench.log  # bench alone: the info heads bench.log
summary=$outdir/summary-$mode.md
rows=()      # "part|result|details|seconds"
unresolved=()
cuda_dirs=()
carried_used=()
notes=()     # lines for the summary's end
failed=0

record() {  # part result details seconds
  rows+=("$1|$2|$3|$4")
  [[ $2 == FAIL* ]] && failed=1
  say "$1: $2 ${3:+($3)} [$4 s]"
}
remaining() { echo $((deadline - (SECONDS - t0))); }
# Seconds a part may take: what it wants, less what the parts after it need (reserve); 0: skip.
budget() {
  local want=$1 reserve=${2:-0} left
  left=$(($(remaining) - reserve))
  ((left < want)) && want=$left
  ((want < 10)) && want=0
  echo "$want"
}

# Unpacks the bundle and points the loader at what the machine lacks.
bin=$work/bundle/bin
setup_bundle() {
  if [[ ! -f $bundle_dir/bundle.tar.xz ]]; then
    echo "no $bundle_dir/bundle.tar.xz: run scripts/gpu_bundle.sh on the build machine and carry gpu-bundle"
    return 1
  fi
  rm -rf "${work:?}/bundle" "${work:?}/lib" "${work:?}/run"
  mkdir -p "$work/bundle" "$work/lib" "$work/run"
  if command -v xz >/dev/null 2>&1; then
    tar -xJf "$bundle_dir/bundle.tar.xz" -C "$work/bundle" || return 1
  else  # no xz-utils on the image: Python's lzma
    "$python" -c 'import sys, tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' \
      "$bundle_dir/bundle.tar.xz" "$work/bundle" || return 1
  fi
  # CUDA 13 libraries: the toolkit's, then the nvidia-* wheels of the image's Python.
  cuda_candidates=()
  local d
  for d in ${CUDA_HOME:+"$CUDA_HOME/lib64"} /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
           /usr/local/cuda-13*/lib64; do
    [[ -d $d ]] && cuda_candidates+=("$d")
  done
  while read -r d; do [[ -n $d ]] && cuda_candidates+=("$d"); done < <("$python" - 2>/dev/null <<'EOF'
import glob, os
try:
    import nvidia
    for base in nvidia.__path__:
        for d in sorted(glob.glob(os.path.join(base, "*", "lib"))):
            print(d)
except Exception:
    pass
EOF
)
  export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  local report so changed dir _
  for _ in 1 2 3 4 5 6; do
    changed=0
    report=$(for f in "$bin"/gaussot "$bin"/tests/* "$bin"/bench/*; do ldd "$f" 2>&1; done)
    # "libX.so.N => not found", and "...: /path/libX.so.N: version `V' not found" (too old here).
    while read -r so; do
      [[ -z $so || -e $work/lib/$so ]] && continue
      if [[ -e $work/bundle/lib/$so ]]; then
        ln -s "$work/bundle/lib/$so" "$work/lib/$so"; carried_used+=("$so"); changed=1
      elif [[ -e $work/bundle/lib/compat/$so ]]; then
        ln -s "$work/bundle/lib/compat/$so" "$work/lib/$so"; carried_used+=("$so"); changed=1
      else
        dir=""
        for d in "${cuda_candidates[@]}"; do [[ -e $d/$so ]] && { dir=$d; break; }; done
        if [[ -n $dir && " ${cuda_dirs[*]} " != *" $dir "* ]]; then
          cuda_dirs+=("$dir"); export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$dir"; changed=1
        elif [[ -z $dir && " ${unresolved[*]} " != *" $so "* ]]; then
          unresolved+=("$so")
        fi
      fi
    done < <({ awk '$2 == "=>" && $3 == "not" { print $1 }' <<<"$report"
               sed -n "s|^[[:space:]]*[^ ]*: \(/[^:]*\): version .* not found.*|\1|p" <<<"$report" | xargs -r -n1 basename
             } | sort -u)
    ((changed)) || break
  done
  # Wrappers with the loader path, for the Python scripts that start the binaries.
  local f name
  for f in "$bin"/gaussot "$bin"/tests/* "$bin"/bench/*; do
    name=$(basename "$f")
    # shellcheck disable=SC2016  # $LD_LIBRARY_PATH and $@ belong to the wrapper
    printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' \
      "$LD_LIBRARY_PATH" "$f" >"$work/run/$name"
    chmod +x "$work/run/$name"
  done
  # shellcheck disable=SC2016  # $PATH belongs to whoever sources env.sh
  printf 'export LD_LIBRARY_PATH="%s"\nexport PATH="%s:$PATH"\n' "$LD_LIBRARY_PATH" "$bin" >"$work/env.sh"
  echo "carried libraries used: ${carried_used[*]:-none} (the machine has the others)"
  echo "CUDA library folders added: ${cuda_dirs[*]:-none, the default loader path has them}"
  if ((${#unresolved[@]})); then
    echo "NOT FOUND: ${unresolved[*]}"
    return 1
  fi
}

# The Python module's build, in the background from the start: pip --no-build-isolation with the
# image's build tools, the bundle's dev prefix (Eigen, nlohmann-json, CLI11, the BLAS).
python_build() {  # seconds
  local log=$work/python-build.log
  rm -rf "$work/python-site"
  {
    echo "== python module build: $(date -u +%H:%M:%S)"
    "$python" -c 'import nanobind, scikit_build_core; print("nanobind", nanobind.__version__, "scikit-build-core", scikit_build_core.__version__)' || exit 3
    local nvcc_path
    nvcc_path=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
    if [[ -n $nvcc_path ]]; then
      export CUDACXX=$nvcc_path
      PATH="$(dirname "$nvcc_path"):$PATH"
    fi
    # The linker resolves libopenblas's own needs (libgfortran, ...) through the runtime folder.
    export LDFLAGS="-Wl,-rpath-link,$work/lib ${LDFLAGS:-}"
    # When the toolkit beside nvcc lacks cuBLAS/cuSOLVER (only the nvidia-* wheels have them),
    # give CMake's FindCUDAToolkit the unversioned names it looks for.
    local extra=() toolkit_lib so d
    toolkit_lib=$(dirname "$(dirname "${nvcc_path:-/usr/local/cuda/bin/nvcc}")")/lib64
    if [[ ! -e $toolkit_lib/libcublas.so && ${#cuda_dirs[@]} -gt 0 ]]; then
      mkdir -p "$work/cuda-dev"
      for d in "${cuda_dirs[@]}"; do
        for so in "$d"/lib*.so.[0-9]*; do
          [[ -e $so ]] && ln -sf "$so" "$work/cuda-dev/$(basename "${so%%.so.*}").so"
        done
      done
      extra=(-Ccmake.define.CMAKE_LIBRARY_PATH="$work/cuda-dev")
      echo "cuBLAS/cuSOLVER for CMake from: ${cuda_dirs[*]}"
    fi
    if [[ -e $work/bundle/dev/scipy_openblas32/lib/libscipy_openblas.so ]]; then
      extra+=(-Ccmake.define.GAUSSOT_SCIPY_OPENBLAS_DIR="$work/bundle/dev/scipy_openblas32")
    else
      extra+=(-Ccmake.define.GAUSSOT_BLAS=system)
    fi
    export CMAKE_BUILD_PARALLEL_LEVEL=$half_cores  # the tests beside it take the other half
    # timeout runs pip in a process group of its own and ends all of it (cmake, nvcc) at the bound.
    nice -n 10 timeout -k 10 "$1" "$python" -m pip install --no-build-isolation --no-deps --no-compile \
      --disable-pip-version-check --target "$work/python-site" \
      -Cbuild-dir="$work/python-build" \
      -Ccmake.define.CMAKE_PREFIX_PATH="$work/bundle/dev" \
      -Ccmake.define.GAUSSOT_ENABLE_CUDA=ON \
      -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=90 "${extra[@]}" "$root"
  } >"$log" 2>&1
}

py_env() {  # the Python processes: the module, the wheels; no CUDA folders (torch brings its own)
  env LD_LIBRARY_PATH="$work/lib" \
      PYTHONPATH="$work/python-site:$work/wheels-site${PYTHONPATH:+:$PYTHONPATH}" \
      PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 "$@"
}

part_info() {  # -> tests_log
  local start=$SECONDS ok=1
  {
    echo "== gaussot GPU check, mode $mode, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "no git here")"
    echo "bundle: $(sed -n '2p' "$bundle_dir/MANIFEST.txt" 2>/dev/null)"
    echo "== nvidia-smi"
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1
    echo "== nvcc: $(nvcc --version 2>/dev/null | tail -n 1 || echo none)"
    echo "== host: $(nproc) CPUs, $(uname -r), $("$python" --version 2>&1)"
    py_env timeout 60 "$python" - <<'EOF' 2>&1
import importlib
for name in ("numpy", "torch", "cupy", "jax", "torchmetrics", "nanobind", "scikit_build_core", "pytest", "ot"):
    try:
        print(f"{name} {importlib.import_module(name).__version__}")
    except Exception as e:
        print(f"{name}: {type(e).__name__}: {e}")
EOF
    echo "== bundle set-up"
    echo "$setup_report"
    echo "== gaussot info"
  } >>"$tests_log"
  local info
  info=$(timeout 60 "$bin/gaussot" info 2>&1)
  echo "$info" >>"$tests_log"
  device_name=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
  if ! grep -q '"devices"' <<<"$info"; then
    record info "FAIL" "gaussot info did not run: $(head -c 200 <<<"$info")" $((SECONDS - start)); ok=0
  elif grep -q '"devices": *\[\]' <<<"$info"; then
    if device_present; then
      record info "FAIL" "nvidia-smi shows ${device_name:-a GPU} but gaussot info lists no CUDA device" $((SECONDS - start))
    else
      record info "no device" "nvidia-smi lists no GPU: the CUDA tests skip" $((SECONDS - start))
    fi
  else
    record info "ok" "${device_name:-?}; $(grep -o '"backends": *\[[^]]*\]' <<<"$info")" $((SECONDS - start))
  fi
  return $((1 - ok))
}

gtest_counts() {  # log -> "passed failed skipped"
  awk '/^\[  PASSED  \] [0-9]+ test/ { p = $4 } /^\[  FAILED  \] [0-9]+ test/ { f = $4 }
       /^\[  SKIPPED \] [0-9]+ test/ { s = $4 } END { print p + 0, f + 0, s + 0 }' "$1"
}

part_gtest() {
  local start=$SECONDS t f name rc p fl s out cuda_skips
  for f in "$bin"/tests/*; do
    name=$(basename "$f")
    t=$(budget 240 "$1")
    if ((t == 0)); then record "gtest $name" "skipped" "out of time" 0; continue; fi
    out=$work/gtest-$name.log
    echo "== $name (timeout $t s)" >>"$tests_log"
    timeout -k 10 "$t" "$f" --gtest_color=no >"$out" 2>&1
    rc=$?
    cat "$out" >>"$tests_log"
    read -r p fl s < <(gtest_counts "$out")
    cuda_skips=$(grep -c 'CUDA test skipped' "$out")
    local detail="$p passed, $fl failed, $s skipped ($cuda_skips CUDA skips)"
    if ((fl > 0)); then
      detail+="; failed: $(grep -E '^\[  FAILED  \] [A-Za-z_]' "$out" | sed 's/^\[  FAILED  \] //; s/,.*//' | sort -u | head -n 15 | xargs)"
    fi
    if ((rc == 124 || rc == 137)); then record "gtest $name" "FAIL (timeout)" "killed after $t s; $detail" $((SECONDS - start))
    elif ((rc != 0 || fl > 0)); then record "gtest $name" "FAIL" "exit $rc; $detail" $((SECONDS - start))
    else record "gtest $name" "ok" "$detail" $((SECONDS - start)); fi
    start=$SECONDS
  done
}

part_cli() {
  local start=$SECONDS t f name pids=() names=() i rc passed=0 failed_names=() skipped=()
  t=$(budget 150 "$1")
  if ((t == 0)); then record "cli tests" "skipped" "out of time" 0; return; fi
  if ! "$python" -c 'import sys' >/dev/null 2>&1; then record "cli tests" "skipped" "no $python" 0; return; fi
  echo "== command-line tests (tests/cli, in parallel, timeout $t s each, gaussot: $work/run/gaussot)" >>"$tests_log"
  for f in $(cli_tests); do
    name=$(basename "$f" .py)
    if [[ $name == test_cli_hardening && ${GAUSSOT_GPU_CHECK_HARDENING:-0} != 1 ]]; then skipped+=("$name"); continue; fi
    timeout -k 10 "$t" "$python" "$f" --gaussot "$work/run/gaussot" >"$work/cli-$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    rc=$?
    { echo "-- ${names[$i]}: exit $rc"; cat "$work/cli-${names[$i]}.log"; } >>"$tests_log"
    if ((rc == 0)); then passed=$((passed + 1)); else failed_names+=("${names[$i]} (exit $rc)"); fi
  done
  local detail="$passed passed${skipped:+, not run: ${skipped[*]}}"
  if ((${#failed_names[@]})); then
    record "cli tests" "FAIL" "$detail; failed: ${failed_names[*]}" $((SECONDS - start))
  else
    record "cli tests" "ok" "$detail" $((SECONDS - start))
  fi
}

part_sanitizer() {
  local log=$outdir/sanitizer.log san tool t rc f name out errors p fl s extra start
  san=$(command -v compute-sanitizer)
  for f in /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [[ -z $san && -x $f ]] && san=$f
  done
  if [[ -z $san ]]; then record "compute-sanitizer" "skipped" "not found" 0; return; fi
  # The CUDA tests, less the four built to be large (beyond 2^31 elements, 70,000 problems, up to
  # out of memory, m·r >= 1e6): they run in the plain pass; under a tool they would take its time.
  local filter=${GAUSSOT_SANITIZER_FILTER:-*Cuda*:*cuda*-*EighChunksBeyond32Bit*:*OutOfMemory*:*SinkhornOnManySmallProblems*:*QrRetractionAcceptsLarge*}
  echo "== $("$san" --version 2>&1 | tail -n 1); filter $filter" >>"$log"
  for f in "$bin"/tests/*; do
    name=$(basename "$f")
    local later=3
    for tool in memcheck racecheck synccheck initcheck; do
      start=$SECONDS
      t=$(budget "${GAUSSOT_SANITIZER_SECONDS:-45}" $(($1 + 25 * later)))
      later=$((later - 1))
      if ((t == 0)); then record "$tool $name" "skipped" "out of time" 0; continue; fi
      extra=()
      [[ $tool == memcheck && ${GAUSSOT_SANITIZER_LEAKS:-0} == 1 ]] && extra=(--leak-check full)
      out=$work/sanitizer-$tool.log
      echo "== $tool on $name (timeout $t s)" >>"$log"
      timeout -k 10 "$t" "$san" --tool "$tool" --error-exitcode 99 --print-limit 25 "${extra[@]}" \
        "$f" --gtest_filter="$filter" --gtest_color=no >"$out" 2>&1
      rc=$?
      cat "$out" >>"$log"
      errors=$(grep -o 'ERROR SUMMARY: [0-9]* error' "$out" | tail -n 1 | awk '{ print $3 }')
      read -r p fl s < <(gtest_counts "$out")
      local done_tests
      done_tests=$(grep -c '^\[       OK \]' "$out")
      local detail="${errors:-no} errors reported, $done_tests tests done, $fl failed, $s skipped"
      if [[ -n $errors && $errors != 0 ]] || ((rc == 99)); then
        detail+="; first: $(grep -m 3 -E '^========= +(Invalid|Race|Barrier|Uninitiali[sz]ed|Program hit|Error|[A-Z][a-z]+ [a-z]+ (error|hazard))' "$out" | cut -c1-140 | paste -sd ';' -)"
        record "$tool $name" "FAIL" "$detail" $((SECONDS - start))
      elif ((rc == 124 || rc == 137)); then
        record "$tool $name" "partial" "stopped at the $t s bound; $detail" $((SECONDS - start))
      elif ((rc != 0)); then
        record "$tool $name" "FAIL" "exit $rc under the tool; $detail" $((SECONDS - start))
      else
        record "$tool $name" "ok" "$detail" $((SECONDS - start))
      fi
    done
  done
}

part_bench() {
  local log=$outdir/bench.log start=$SECONDS t rc errors nodevice
  t=$(budget 100 "$1")
  if ((t == 0)); then record "benchmarks" "skipped" "out of time" 0; return; fi
  echo "== gaussot_bench --benchmark_filter=^cuda/ (timeout $t s)" >>"$log"
  timeout -k 10 "$t" "$bin/bench/gaussot_bench" --benchmark_filter='^cuda/' \
    --benchmark_min_time="${GAUSSOT_BENCH_MIN_TIME:-0.1}" --benchmark_color=false \
    --benchmark_out="$outdir/bench_cuda.json" --benchmark_out_format=json >>"$log" 2>&1
  rc=$?
  errors=$(grep -c 'ERROR OCCURRED' "$log")
  nodevice=$(grep -c "ERROR OCCURRED: 'no CUDA device'" "$log")
  local ran
  ran=$(grep -cE '^cuda/.* (ms|us|ns) ' "$log")
  local detail="$ran benchmarks timed, $errors errors"
  if ((rc == 124 || rc == 137)); then record "benchmarks" "FAIL (timeout)" "killed after $t s; $detail" $((SECONDS - start))
  elif ((errors > 0 && errors == nodevice)); then record "benchmarks" "no device" "$detail, all 'no CUDA device'" $((SECONDS - start))
  elif ((rc != 0 || errors > 0)); then
    record "benchmarks" "FAIL" "exit $rc; $detail: $(grep 'ERROR OCCURRED' "$log" | head -n 3 | cut -c1-120 | paste -sd ';' -)" $((SECONDS - start))
  else record "benchmarks" "ok" "$detail" $((SECONDS - start)); fi
  # A selection for the summary: the physical-limit case, the largest orders, the Bures functions.
  bench_selection=$(grep -E '^cuda/.*(d:64/batch:10000|d:2048|w2_|frechet)' "$log" | awk '{ print $1, $2, $3 }' | head -n 30)
}

part_peers() {
  local log=$outdir/peers.log start=$SECONDS t rc
  t=$(budget 180 "$1")
  if ((t == 0)); then record "peers" "skipped" "out of time" 0; return; fi
  if ls "$bundle_dir"/wheels/*.whl >/dev/null 2>&1; then
    rm -rf "$work/wheels-site"
    "$python" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check \
      --target "$work/wheels-site" "$bundle_dir"/wheels/*.whl >>"$log" 2>&1 ||
      echo "wheel install failed: the peers that need them are skipped" >>"$log"
  fi
  rm -f "$work/peers.md"
  # shellcheck disable=SC2086  # GAUSSOT_PEERS_ARGS is a list of arguments
  py_env timeout -k 10 "$t" "$python" bench/gpu_peers.py --gaussot-time "$work/run/gaussot_time" \
    --time-limit $((t > 60 ? t - 40 : t / 2)) --json "$outdir/peers.json" --markdown "$work/peers.md" \
    ${GAUSSOT_PEERS_ARGS:-} >>"$log" 2>&1
  rc=$?
  local detail
  detail="$(grep -c '| gaussot' "$work/peers.md" 2>/dev/null || echo 0) gaussot rows; $(grep -m1 '^skipped:' "$log" | cut -c1-200)"
  if ((rc == 124 || rc == 137)); then record "peers" "FAIL (timeout)" "killed after $t s; $detail" $((SECONDS - start))
  elif ((rc != 0)); then record "peers" "FAIL" "exit $rc (1: gaussot failed or disagreed); $detail" $((SECONDS - start))
  else record "peers" "ok" "$detail" $((SECONDS - start)); fi
}

part_python() {
  local log=$outdir/python.log start=$SECONDS t rc
  if [[ -n ${python_build_pid:-} ]]; then
    wait "$python_build_pid"  # bounded by the build's own timeout
    python_build_rc=$?
    python_build_pid=""
    cat "$work/python-build.log" >>"$log"
    record "python module build" "$([[ $python_build_rc == 0 ]] && echo ok || echo "FAIL")" \
      "exit $python_build_rc$( ((python_build_rc == 124)) && echo ': timed out')" $((SECONDS - python_build_start))
  fi
  [[ ${2:-} == build-only ]] && return
  start=$SECONDS
  if [[ ${python_build_rc:-1} != 0 && ! -d $work/python-site/gaussot ]]; then
    record "tests/python" "skipped" "no module" 0
    return
  fi
  t=$(budget 150 "$1")
  if ((t == 0)); then record "tests/python" "skipped" "out of time" 0; return; fi
  echo "== pytest tests/python (timeout $t s)" >>"$log"
  py_env timeout -k 10 "$t" "$python" -c 'import gaussot; print("gaussot", gaussot.info())' >>"$log" 2>&1
  py_env timeout -k 10 "$t" "$python" -m pytest tests/python -q -rs -p no:cacheprovider >"$work/pytest.log" 2>&1
  rc=$?
  cat "$work/pytest.log" >>"$log"
  local last
  last=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error)|(passed|failed|skipped).* in [0-9.]+s' "$work/pytest.log" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')
  if ((rc == 124 || rc == 137)); then record "tests/python" "FAIL (timeout)" "killed after $t s; ${last:-no summary}" $((SECONDS - start))
  elif ((rc != 0)); then record "tests/python" "FAIL" "exit $rc; ${last:-no summary}" $((SECONDS - start))
  else record "tests/python" "ok" "${last:-?}" $((SECONDS - start)); fi
}

write_summary() {
  {
    echo "# gaussot GPU check ($mode), $(date -u +%Y-%m-%d)"
    echo
    echo "- device: ${device_name:-none}"
    echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "no git in this copy")"
    echo "- bundle: $(sed -n '2p' "$bundle_dir/MANIFEST.txt" 2>/dev/null)"
    echo "- host: $(nproc) CPUs; $("$python" --version 2>&1); wall time $((SECONDS - t0)) s (deadline $deadline s)"
    echo "- result: $([[ $failed == 0 ]] && echo "no failure" || echo "FAILURES (below)")"
    echo
    echo "| part | result | details | s |"
    echo "| --- | --- | --- | ---: |"
    local r
    for r in "${rows[@]}"; do
      IFS='|' read -r part result details seconds <<<"$r"
      echo "| $part | $result | ${details//|//} | $seconds |"
    done
    if [[ -n ${bench_selection:-} ]]; then
      echo
      echo "## Benchmarks (selection; all in bench.log, bench_cuda.json)"
      echo
      echo '```'
      echo "$bench_selection"
      echo '```'
    fi
    if ((${#notes[@]})); then
      echo
      for r in "${notes[@]}"; do echo "- $r"; done
    fi
    if [[ -s $work/peers.md ]]; then
      echo
      echo "## Peers (peers.log, peers.json)"
      echo
      cat "$work/peers.md"
    fi
  } >"$summary"
}

say "mode $mode, output in $outdir, deadline $deadline s"
: >"$tests_log"
setup_start=$SECONDS
setup_bundle >"$work/setup.log" 2>&1
setup_rc=$?
setup_report=$(cat "$work/setup.log")
if ((setup_rc != 0)); then
  echo "$setup_report" >>"$tests_log"
  record "bundle" "FAIL" "$(tail -n 1 <<<"$setup_report")" $((SECONDS - setup_start))
  write_summary
  cat "$summary"
  exit 1
fi
record "bundle" "ok" "$(grep -m1 '^carried' <<<"$setup_report")" $((SECONDS - setup_start))
part_info
if [[ $mode == setup ]]; then
  echo "$setup_report"
  timeout 60 "$bin/gaussot" info
  say "ready: . $work/env.sh puts the bundle's binaries on PATH with their libraries"
  exit $failed
fi

if [[ $mode == tests || $mode == all || ! -d $work/python-site/gaussot ]]; then
  python_build_start=$SECONDS
  # Its bound: done before the parts that follow it need the machine to themselves (see below).
  case $mode in tests) build_cap=$(budget 400 60) ;; bench) build_cap=$(budget 240 150) ;; all) build_cap=$(budget 360 210) ;; esac
  python_build "$build_cap" &
  python_build_pid=$!
  # Half the cores each: OpenMP teams that spin at barriers lose whole time slices when a
  # compiler holds their cores (README, "Oversubscription").
  export OMP_NUM_THREADS=$half_cores
fi
# Each part's argument is its reserve: the least the parts after it need (CLI 40 s, each
# sanitizer 25, benchmarks 60, peers 90, tests/python 60), so that the deadline shortens the late
# parts instead of dropping them.
case $mode in
  tests)
    part_gtest 200
    part_cli 160
    part_sanitizer 60
    part_python 0
    ;;
  bench)
    [[ -n ${python_build_pid:-} ]] && part_python 150 build-only  # the peers time the module too
    restore_omp
    part_bench 90
    part_peers 0
    ;;
  all)
    part_gtest 350
    part_cli 310
    part_sanitizer 210
    part_python 210 build-only  # before the timings, so that no compiler runs beside them
    restore_omp
    part_bench 150
    part_peers 60
    part_python 0
    ;;
esac
[[ -n ${python_build_pid:-} ]] && wait "$python_build_pid"
if ((${#unresolved[@]} > 0)); then notes+=("libraries not found: ${unresolved[*]}"); fi
notes+=("raw output: $(find "$outdir" -maxdepth 1 -type f -printf '%f ')")
write_summary
echo
# The summary without the peers' full table (in the file), so that the end of the output holds it.
awk '/^### All rows/ { skip = 1; print "(all rows: " FILENAME ")" } /^## / { skip = 0 } !skip' "$summary"
exit $failed
