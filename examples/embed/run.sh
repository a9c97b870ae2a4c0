#!/usr/bin/env bash
# Installs Silica from a build tree into a private prefix, builds this example against it with
# find_package(Silica), and runs it on a tiny synthetic model. Usage: run.sh BUILD_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-build/release}" && pwd)"
prefix="$build/embed-prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S "$here" -B "$build/embed-example" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build/embed-example"
model="$build/embed-example/tiny-gpt2.gguf"
"$prefix/bin/synth" --arch gpt2 --preset tiny --wtype q8_0 --seed 7 --out "$model" -q
out=$("$build/embed-example/embed_example" "$model" "Hello" 8)
echo "embed_example: $out"
[ -n "$out" ]
