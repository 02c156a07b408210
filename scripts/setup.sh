#!/usr/bin/env bash
# Installs what gaussot needs to build and test on a Debian 12 machine, when it is missing.
# Idempotent: installs nothing when everything is there. Arguments: more Debian packages to
# ensure. The CUDA toolkit is optional (the CUDA backend is built when nvcc is found); it is not
# installed here.
set -euo pipefail

packages=(cmake g++ make python3 libeigen3-dev libopenblas-openmp-dev libgtest-dev
          libbenchmark-dev libcli11-dev nlohmann-json3-dev libzip-dev
          "$@")  # and any packages the caller names (scripts/test_sanitize.sh: clang ...)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nvcc is often installed without being on PATH.
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  echo "setup: nvcc found at /usr/local/cuda/bin (add it to PATH to build the CUDA backend)"
fi
