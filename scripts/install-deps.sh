#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12's packages (run as root). Idempotent.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libdnnl-dev ocl-icd-opencl-dev libhwloc-dev libxxhash-dev zlib1g-dev libsentencepiece-dev
  catch2 libbenchmark-dev libpcre2-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  clang libclang-rt-14-dev python3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
