#!/usr/bin/env bash
# Installs dependencies, builds Silica and streams a completion from the shipped default model
# (models/silica-brown-18m-q4_k_m.gguf: a GPT-2 trained here on the Brown Corpus, models/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target infer
./build/release/infer --prompt "The history of the city begins" -n 48 --temp 0.8 --top-k 40 --seed 2
