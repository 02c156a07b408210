#!/usr/bin/env bash
# The Python module's tests, from a fresh machine: system packages (scripts/setup.sh, plus the
# Python headers and venv module), a virtual environment in build/python-venv (reused when
# present), `pip install .` of gaussot into it, then pytest on tests/python.
#
# The module gets the CUDA backend when nvcc is found (on PATH or in /usr/local/cuda/bin), as
# scripts/build.sh does; without a GPU its device tests skip. GAUSSOT_PYTHON_CUDA=OFF builds the
# CPU backend only (about 20 s less on 2 cores). The CMake build folder (build/python-cpu/... or
# build/python-cuda/...) is kept, so a re-run recompiles only what changed. scikit-learn,
# matplotlib, POT, JAX and PyTorch are installed when possible; without them their tests skip,
# saying why.
#
# Usage: scripts/test_python.sh [pytest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"

python=${PYTHON:-python3}
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
apt_install() {
  echo "test_python: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Python's headers (to compile the extension) and venv (Debian ships both separately).
if ! "$python" -c 'import os, sysconfig, sys
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  apt_install python3-dev
fi
venv="$root/build/python-venv"
if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    apt_install python3-venv
    "$python" -m venv "$venv"
  fi
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)

# Build requirements in the environment itself: with --no-build-isolation the CMake cache keeps
# valid paths from one run to the next.
"${pip[@]}" install "scikit-build-core>=0.10" "nanobind>=2.4" "numpy>=1.22" "pytest>=7" "mpmath>=1.2"
if ! "${pip[@]}" install scikit-learn matplotlib pot; then
  echo "test_python: note: scikit-learn/matplotlib/POT could not be installed; the tests that use" \
       "them will be skipped"
fi
# JAX's CPU wheel (~90 MB) for gaussot.jax's tests, and OTT-JAX (an outside implementation of the
# unbalanced entropic value, compared in test_entropic.py).
if ! "${pip[@]}" install jax; then
  echo "test_python: note: JAX could not be installed; the gaussot.jax tests will be skipped"
elif ! "${pip[@]}" install ott-jax; then
  echo "test_python: note: OTT-JAX could not be installed; its comparison will be skipped"
fi
# PyTorch for gaussot.torch's tests, on the CPU. PyPI's Linux wheel (540 MB) requires about 3 GB of
# CUDA libraries; with the CUDA toolkit installed (as here, /usr/local/cuda on the loader's path)
# torch imports with the wheel and the four libraries the toolkit lacks (cuSPARSELt, NVSHMEM,
# cuFile, a newer NCCL: 660 MB), so only those are installed.
if ! "$venv/bin/python" -c 'import torch' >/dev/null 2>&1; then
  "${pip[@]}" install filelock typing-extensions sympy networkx jinja2 fsspec || true
  "${pip[@]}" install --no-deps torch==2.15.0 nvidia-cusparselt-cu13==0.8.1 \
    nvidia-nvshmem-cu13==3.7.2 "nvidia-cufile==1.17.1.22.*" nvidia-nccl-cu13==2.30.7 || true
fi
if ! torch_error=$("$venv/bin/python" -c 'import torch' 2>&1); then
  echo "test_python: note: PyTorch cannot be imported (${torch_error##*$'\n'}); the gaussot.torch" \
       "tests will be skipped"
elif ! "$venv/bin/python" -c 'import pytorch_fid.fid_score' >/dev/null 2>&1; then
  # pytorch-fid (pure Python; its formula is compared with FrechetDistance) and the torchvision it
  # imports, without their dependency on a CUDA torch.
  "${pip[@]}" install pillow && "${pip[@]}" install --no-deps torchvision pytorch-fid ||
    echo "test_python: note: pytorch-fid could not be installed; its comparison will be skipped"
fi

if [[ -x /usr/local/cuda/bin/nvcc ]] && ! command -v nvcc >/dev/null 2>&1; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
cuda=${GAUSSOT_PYTHON_CUDA:-auto}
if [[ $cuda == auto ]]; then
  cuda=$(command -v nvcc >/dev/null 2>&1 && echo ON || echo OFF)
fi
flavour=$([[ $cuda == ON ]] && echo cuda || echo cpu)
echo "test_python: building the module (CUDA backend: $cuda) in build/python-$flavour"
log="$root/build/python-$flavour-install.log"
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
if ! "${pip[@]}" install --no-build-isolation --no-deps \
    -Cbuild-dir="build/python-$flavour/{wheel_tag}" \
    -Ccmake.define.GAUSSOT_ENABLE_CUDA="$cuda" "$root" >"$log" 2>&1; then
  tail -n 60 "$log"
  echo "test_python: pip install failed (full log: $log)"
  exit 1
fi
"$venv/bin/python" -c 'import gaussot; print("test_python: gaussot", gaussot.info())'

"$venv/bin/python" -m pytest "$root/tests/python" -q -rs "$@"
