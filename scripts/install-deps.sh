#!/usr/bin/env bash
# Installs every build dependency from Debian 12's packages (run as root). Idempotent.
#   --tests: also what only the test suite uses (Node.js and npm for the OpenAI SDK client tests,
#            Chromium for the chat page test, iproute2 for the two-host tensor-parallel test).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libdnnl-dev ocl-icd-opencl-dev libhwloc-dev libxxhash-dev zlib1g-dev libsentencepiece-dev
  catch2 libbenchmark-dev libpcre2-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  clang libclang-rt-14-dev python3
  libcpp-httplib-dev
  libopenmpi-dev openmpi-bin
)
for_tests=0
[[ "${1:-}" == "--tests" ]] && for_tests=1
((for_tests)) && packages+=(nodejs chromium iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm runs the server's client tests (tests/server/node). A Node.js from elsewhere (NodeSource)
# brings its own npm and conflicts with Debian's package, so only ask for it when there is none.
((for_tests)) && { command -v npm >/dev/null 2>&1 || missing+=(npm); }
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
