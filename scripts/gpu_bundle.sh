#!/usr/bin/env bash
# Builds, on a machine without a GPU, everything a GPU machine needs to run scripts/gpu_check.sh
# over a copy of the working tree, into one git-ignored folder, gpu-bundle/ (under 64 MiB with the
# working tree; see bench/README.md, "GPU check"):
#
#   gpu-bundle/bundle.tar.xz   bin/gaussot, bin/tests/* (every GoogleTest binary), bin/bench/*
#                              (gaussot_bench, gaussot_time), stripped, from the `portable` preset
#                              (build-portable/: Release, no -march, CUDA for sm_90);
#                              lib/: the shared libraries ldd shows outside glibc and the CUDA
#                              toolkit (OpenBLAS, libgfortran, libquadmath, libgomp, Google
#                              Benchmark, ...), lib/compat/: libstdc++ and libgcc_s (used only when
#                              the GPU machine's are older); dev/: a CMake prefix for building the
#                              Python module there (Eigen, nlohmann-json and CLI11 headers with
#                              their CMake package files, the BLAS: scipy_openblas32/ or
#                              libopenblas.so)
#   gpu-bundle/wheels/*.whl    Python packages the GPU image lacks (POT, for the peers)
#   gpu-bundle/MANIFEST.txt    what is inside, with sizes, the commit and the toolchain
#
# cuBLAS, cuSOLVER (and what they load) are not carried: cuBLASLt alone is 517 MB. gpu_check.sh
# takes them from the GPU machine's CUDA 13 (/usr/local/cuda, or the nvidia-* wheels next to
# torch); the C++ runtime (cudart) is linked statically.
#
# Usage: scripts/gpu_bundle.sh               configure and build the portable preset, then bundle
#        scripts/gpu_bundle.sh --no-build    bundle build-portable/ as it is
#        scripts/gpu_bundle.sh --estimate [BUILD_DIR]
#                                            no build, no bundle: estimate the bundle's size from
#                                            the binaries of BUILD_DIR (default build/) and the
#                                            libraries they load (used by gpu_check.sh in CI)
# Environment: GAUSSOT_BUNDLE_LIMIT_MIB (default 60): the bundle plus the working tree that travels
# with it must stay under it (the device tool takes 64 MiB in all). GAUSSOT_BUNDLE_NO_WHEELS=1:
# do not download wheels. Builds run under `nice -n 10`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
limit_mib=${GAUSSOT_BUNDLE_LIMIT_MIB:-60}
bundle=$root/gpu-bundle
# POT for the GPU peers; numpy and scipy, its needs, are on the image. 0.9.6.post1 (1.5 MB) rather
# than 0.9.7.post1 of the CPU runs, whose wheel is 33 MB (a 175 MB ot/bsp extension); both have
# the batched bures_wasserstein_distance that the peers time.
pot_wheel_spec=${GAUSSOT_BUNDLE_POT:-POT==0.9.6.post1}

mode=build
build=$root/build-portable
case ${1:-} in
  "") ;;
  --no-build) mode=bundle ;;
  --estimate) mode=estimate; build=${2:-$root/build} ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "gpu_bundle: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes_of() { du -sb "$@" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }

# What travels anyway: tracked files and untracked files git does not ignore.
tree_bytes() {
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    (cd "$root" && xargs -0 -r du -cb 2>/dev/null) | awk '$2 == "total" { s += $1 } END { print s + 0 }'
}

# Executables of a build folder: the command, the GoogleTest binaries, the benchmark binaries.
# Prints "ROLE PATH" lines, ROLE in {cli, tests, bench}.
list_binaries() {
  local dir=$1 f
  [[ -x $dir/apps/gaussot ]] && echo "cli $dir/apps/gaussot"
  for f in "$dir"/tests/*; do
    [[ -f $f && -x $f ]] && echo "tests $f"
  done
  for f in "$dir"/bench/*; do
    [[ -f $f && -x $f ]] && echo "bench $f"
  done
  return 0
}

# Shared libraries the binaries load, as "KIND SONAME PATH": KIND is carry (goes into lib/),
# compat (lib/compat/: libstdc++, libgcc_s), cuda (expected on the GPU machine) or system (glibc).
list_libraries() {
  local f
  for f in "$@"; do ldd "$f"; done | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
    while read -r soname path; do
      case $soname in
        linux-vdso*|ld-linux*|libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|\
        libutil.so.*|libresolv.so.*|libmvec.so.*)
          echo "system $soname $path" ;;
        libstdc++.so.*|libgcc_s.so.*)
          echo "compat $soname $path" ;;
        libcuda.so.*|libcudart.so.*|libcublas*|libcusolver*|libcusparse*|libnvJitLink*|\
        libcufft*|libcurand*|libnvrtc*)
          echo "cuda $soname $path" ;;
        *)
          if [[ $path == /usr/local/cuda* ]]; then echo "cuda $soname $path"; else echo "carry $soname $path"; fi ;;
      esac
    done
}

# Header trees and CMake package files of the Python module's build dependencies (Debian paths).
dev_sources=(
  "/usr/include/eigen3:include/eigen3"
  "/usr/share/eigen3/cmake:share/eigen3/cmake"
  "/usr/include/nlohmann:include/nlohmann"
  "/usr/share/cmake/nlohmann_json:share/cmake/nlohmann_json"
  "/usr/include/CLI:include/CLI"
  "/usr/share/cmake/CLI11:share/cmake/CLI11"
)

if [[ $mode == estimate ]]; then
  # No build and no compression here beyond one fast pass: sizes of the same files, stripped
  # copies of the binaries piped through xz -1 (the bundle uses -9, so it comes out smaller).
  mapfile -t entries < <(list_binaries "$build")
  if ((${#entries[@]} == 0)); then
    echo "gpu_bundle: estimate: no binaries in $build (nothing built yet); no estimate"
    exit 0
  fi
  paths=()
  for e in "${entries[@]}"; do paths+=("${e#* }"); done
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/bin" "$tmp/lib"
  for p in "${paths[@]}"; do strip -o "$tmp/bin/$(basename "$p")" "$p" 2>/dev/null || cp "$p" "$tmp/bin/"; done
  while read -r kind soname path; do
    [[ $kind == carry || $kind == compat ]] && cp -L "$path" "$tmp/lib/$soname"
  done < <(list_libraries "${paths[@]}")
  dev_paths=()
  for pair in "${dev_sources[@]}"; do [[ -e ${pair%%:*} ]] && dev_paths+=("${pair%%:*}"); done
  raw=$(bytes_of "$tmp" "${dev_paths[@]}")
  packed=$(tar -cf - -C "$tmp" bin lib "${dev_paths[@]}" 2>/dev/null | xz -1 -T0 | wc -c)
  wheels=1600000  # the POT wheel, when none was downloaded yet
  [[ -d $bundle/wheels ]] && wheels=$(bytes_of "$bundle/wheels")
  tree=$(tree_bytes)
  total=$((packed + wheels + tree))
  cuda=$(grep -s '^GAUSSOT_ENABLE_CUDA:BOOL=' "$build/CMakeCache.txt" | cut -d= -f2 || true)
  echo "gpu_bundle: ESTIMATE (no bundle built; from ${#paths[@]} binaries in $build, CUDA backend" \
       "${cuda:-unknown}, the libraries they load and the Python build's headers):"
  echo "  uncompressed $(mib "$raw"), xz -1 $(mib "$packed"), wheels $(mib "$wheels")," \
       "working tree $(mib "$tree"): about $(mib "$total") would travel (limit ${limit_mib} MiB)"
  if ((total > limit_mib * 1048576)); then
    echo "gpu_bundle: estimate over the limit" >&2
    exit 1
  fi
  exit 0
fi

if [[ -x /usr/local/cuda/bin/nvcc ]] && ! command -v nvcc >/dev/null 2>&1; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
if [[ $mode == build ]]; then
  command -v nvcc >/dev/null 2>&1 || { echo "gpu_bundle: nvcc not found: the bundle needs the CUDA backend" >&2; exit 1; }
  echo "gpu_bundle: configuring and building the portable preset in build-portable/ (nice -n 10)"
  nice -n 10 cmake --preset portable -DGAUSSOT_ENABLE_CUDA=ON -DGAUSSOT_BUILD_TESTS=ON \
    -DGAUSSOT_BUILD_BENCH=ON >/dev/null
  nice -n 10 cmake --build --preset portable -j "$(nproc)"
fi
[[ -f $build/CMakeCache.txt ]] || { echo "gpu_bundle: no build in $build (run without --no-build)" >&2; exit 1; }
if ! grep -q '^GAUSSOT_ENABLE_CUDA:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "gpu_bundle: $build was configured without the CUDA backend" >&2
  exit 1
fi

mapfile -t entries < <(list_binaries "$build")
roles=" ${entries[*]%% *} "
for need in cli tests bench; do
  [[ $roles == *" $need "* ]] || { echo "gpu_bundle: no $need binary in $build" >&2; exit 1; }
done

stage=$build/gpu-bundle-stage
rm -rf "$stage"
mkdir -p "$stage/bin/tests" "$stage/bin/bench" "$stage/lib/compat" "$stage/dev/lib"
paths=()
for e in "${entries[@]}"; do
  role=${e%% *} path=${e#* }
  paths+=("$path")
  case $role in
    cli) dest=$stage/bin/gaussot ;;
    *) dest=$stage/bin/$role/$(basename "$path") ;;
  esac
  strip --strip-unneeded -o "$dest" "$path"
done

# The libraries. The binaries keep no RUNPATH: gpu_check.sh links, into its runtime folder, only
# the carried libraries the GPU machine lacks (or has too old), so that its own newer copies win.
cuda_libs=()
while read -r kind soname path; do
  case $kind in
    carry) cp -L "$path" "$stage/lib/$soname" ;;
    compat) cp -L "$path" "$stage/lib/compat/$soname" ;;
    cuda) cuda_libs+=("$soname") ;;
  esac
done < <(list_libraries "${paths[@]}")
# What the carried libraries load in turn (OpenBLAS: libgfortran, libquadmath, libgomp).
while read -r kind soname path; do
  if [[ $kind == carry && ! -e $stage/lib/$soname ]]; then cp -L "$path" "$stage/lib/$soname"; fi
done < <(list_libraries "$stage"/lib/*.so*)
chmod 0644 "$stage"/lib/*.so* "$stage"/lib/compat/*.so* 2>/dev/null || true
strip --strip-unneeded "$stage"/lib/*.so* "$stage"/lib/compat/*.so* 2>/dev/null || true

# A CMake prefix for the Python module's build on the GPU machine (CMAKE_PREFIX_PATH=dev): the
# package files compute their prefix from their own location, so they are relocatable.
for pair in "${dev_sources[@]}"; do
  src=${pair%%:*} dst=$stage/dev/${pair#*:}
  [[ -e $src ]] || { echo "gpu_bundle: $src is missing (scripts/setup.sh installs it)" >&2; exit 1; }
  mkdir -p "$(dirname "$dst")"
  cp -a "$src" "$dst"
done
# The BLAS for the module's build there: scipy-openblas (the default, GAUSSOT_BLAS) as an unpacked
# wheel folder for GAUSSOT_SCIPY_OPENBLAS_DIR, or the system's libopenblas.
openblas=$(find "$stage/lib" -maxdepth 1 -name 'libopenblas.so.*' -printf '%f\n' | head -n 1)
if [[ -e $stage/lib/libscipy_openblas.so ]]; then
  mkdir -p "$stage/dev/scipy_openblas32/lib"
  ln -s "../../../lib/libscipy_openblas.so" "$stage/dev/scipy_openblas32/lib/libscipy_openblas.so"
elif [[ -n $openblas ]]; then
  ln -s "../../lib/$openblas" "$stage/dev/lib/libopenblas.so"
else
  echo "gpu_bundle: warning: no OpenBLAS among the libraries; the Python module's build there will not find LAPACK" >&2
fi

# Wheels of Python packages the GPU image lacks (KINDS.md lists it: no POT).
mkdir -p "$bundle/wheels"
if [[ ${GAUSSOT_BUNDLE_NO_WHEELS:-0} != 1 ]] && ! ls "$bundle"/wheels/pot-*.whl >/dev/null 2>&1; then
  if ! python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
      --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d "$bundle/wheels" "$pot_wheel_spec"; then
    echo "gpu_bundle: warning: could not download $pot_wheel_spec; the POT peer will be skipped there" >&2
  fi
fi

commit=$(git -C "$root" rev-parse --short HEAD)
dirty=$(git -C "$root" status --porcelain --untracked-files=no -- . ':!gpu-bundle' | head -c1)
{
  echo "gaussot GPU bundle"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), commit $commit${dirty:+ (with uncommitted changes)}"
  echo "build: $build ($(grep '^CMAKE_BUILD_TYPE:' "$build/CMakeCache.txt" | cut -d= -f2)," \
       "CUDA architectures $(grep '^CMAKE_CUDA_ARCHITECTURES:' "$build/CMakeCache.txt" | cut -d= -f2)," \
       "GAUSSOT_CPU_ARCH $(grep '^GAUSSOT_CPU_ARCH:' "$build/CMakeCache.txt" | cut -d= -f2))"
  echo "nvcc: $(nvcc --version | tail -n 1)"
  echo "c++: $(c++ --version | head -n 1)"
  echo "glibc: $(ldd --version | head -n 1)"
  echo "expected on the GPU machine (CUDA 13, not carried): $(printf '%s ' "${cuda_libs[@]}" | xargs -n1 | sort -u | xargs)"
  echo
  echo "bundle.tar.xz:"
  (cd "$stage" && find . \( -type f -o -type l \) ! -path './dev/include/*' -printf '%P\t%s\n' | sort |
     awk -F'\t' '{ printf "  %-48s %10.1f KiB\n", $1, $2 / 1024 }')
  (cd "$stage/dev/include" && for d in *; do
     printf '  %-48s %10.1f KiB\n' "dev/include/$d/ (headers)" "$(du -sk "$d" | cut -f1)"; done)
  echo "wheels:"
  (cd "$bundle/wheels" && for w in *.whl; do [[ -e $w ]] && printf '  %s\n' "$w"; done)
} >"$stage/MANIFEST.txt"

echo "gpu_bundle: compressing (xz -9)"
tmp_tar=$bundle/bundle.tar.xz.partial
tar -cf - -C "$stage" bin lib dev MANIFEST.txt | xz -9 -T0 >"$tmp_tar"
mv "$tmp_tar" "$bundle/bundle.tar.xz"
cp "$stage/MANIFEST.txt" "$bundle/MANIFEST.txt"

raw=$(bytes_of "$stage")
packed=$(bytes_of "$bundle")
tree=$(tree_bytes)
total=$((packed + tree))
echo "gpu_bundle: contents (uncompressed):"
for part in bin/gaussot bin/tests bin/bench lib dev; do
  printf '  %-14s %s\n' "$part" "$(mib "$(bytes_of "$stage/$part")")"
done
echo "gpu_bundle: gpu-bundle/ is $(mib "$packed") ($(mib "$raw") uncompressed, wheels" \
     "$(mib "$(bytes_of "$bundle/wheels")")); with the working tree ($(mib "$tree")) $(mib "$total")" \
     "travels; limit ${limit_mib} MiB"
if ((total > limit_mib * 1048576)); then
  echo "gpu_bundle: over the limit: the device tool would refuse the call" >&2
  exit 1
fi
echo "gpu_bundle: done. Device tool: run with carry [\"gpu-bundle\"] and command" \
     "'scripts/gpu_check.sh all \$OUT' (bench/README.md, \"GPU check\")"
