#!/usr/bin/env bash
# Installs dependencies, builds everything, and runs the whole test suite: unit and model tests
# (Release), the parser tests under ASan/UBSan, and the find_package(Silica) embedding example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests
start=$(date +%s)

cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release -j2

# Parsers and other untrusted-input code under AddressSanitizer + UndefinedBehaviorSanitizer:
# GGUF reader/writer and its fuzz corpus, the safetensors reader and its corpus, silica-convert's
# error paths, tokenizer, quant formats, memory pools, sampler, the generation API (stop strings,
# UTF-8, harmony), the KV cache (blocks, tiers, snapshots, prefix store, fork and copy-on-write,
# the engine's block pool), session files,
# silica-perplexity's KL base file, and silica-server's request parser and scheduler.
cmake --preset asan >/dev/null
cmake --build --preset asan --target test_engine test_cache test_tokenizer test_quant test_memory gguf_fuzz_replay \
  safetensors_fuzz_replay test_perplexity test_server server_request_fuzz_replay
ctest --preset asan -j2 -R "^server:(request|scheduler)|server_request_fuzz|gguf|safetensors|hf convert: every defect|mapped file|^tokenizer|^quant|^memory|^cache|sampler|generation|session|prefix|forked sequences|pool accounting|warm|KV byte budget|perplexity: KL base file|perplexity: base rows"

# The installed package, used the way another project would use it.
bash examples/embed/run.sh build/release

echo "scripts/test.sh: all passed in $(( $(date +%s) - start )) s"
