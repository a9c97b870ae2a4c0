#!/usr/bin/env bash
# Installs dependencies, builds Silica, writes a synthetic GPT-2 124M model and streams a completion.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target infer synth
model=models/gpt2-124m-q8_0.gguf
[ -f "$model" ] || ./build/release/synth --arch gpt2 --preset gpt2-124m --wtype q8_0 --seed 1 --out "$model"
./build/release/infer --model "$model" --prompt "Hello, my name is" -n 32 --temp 0.8 --seed 42
