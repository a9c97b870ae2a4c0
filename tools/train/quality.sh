#!/usr/bin/env bash
# Measures the figures of docs/QUALITY.md on the trained default model: perplexity of every weight
# type and KV cache type on the held-out text, with KL divergence and top-1 agreement against the
# F32 model; with llama.cpp's binaries, also llama-quantize's files of the same types (KL measured
# the same way, to compare the two quantizers) and llama-perplexity on Silica's files.
#
#   tools/train/quality.sh TRAIN_DIR [LLAMA_BIN_DIR]
#
# TRAIN_DIR is train.sh's output (silica-brown-18m-f32.gguf, data/heldout.txt). Writes
# TRAIN_DIR/quality/: the quantized files, one JSON (silica-perplexity --json) or log
# (llama-perplexity) per run, and table.md. Needs a release build (build/release).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
train="$(realpath "$1")"
llama="${2:-}"
bin="$root/build/release"
q="$train/quality"
f32="$train/silica-brown-18m-f32.gguf"
text="$train/data/heldout.txt"
mkdir -p "$q"

ppl() {  # ppl NAME ARGS...: silica-perplexity --json on the held-out text into quality/NAME.json
  local name="$1"
  shift
  echo "quality.sh: $name"
  "$bin/silica-perplexity" -f "$text" --json "$@" >"$q/$name.json"
}

ppl f32 -m "$f32" --kv-type f32 --kl-base "$q/base.kl"
for kv in f16 bf16 q8_0; do
  ppl "kv-$kv" -m "$f32" --kv-type "$kv" --kl "$q/base.kl"
done
# The warm tier: the newest 128 tokens in f16, older KV blocks in q8_0.
ppl kv-warm -m "$f32" --kv-type f16 --kv-hot 128 --kl "$q/base.kl"

types=(F16 Q8_0 Q6_K Q5_K_M Q5_K_S Q4_K_M Q4_K_S Q4_0)
for t in "${types[@]}"; do
  "$bin/silica-quantize" "$f32" "$q/silica-$t.gguf" "$t" >"$q/silica-$t.quantize.log"
  ppl "silica-$t" -m "$q/silica-$t.gguf" --kl "$q/base.kl"
  if [[ -n "$llama" ]]; then
    "$llama/llama-quantize" "$f32" "$q/llama-$t.gguf" "$t" >"$q/llama-$t.quantize.log" 2>&1
    ppl "llama-$t" -m "$q/llama-$t.gguf" --kl "$q/base.kl"
    # llama-perplexity on Silica's own file: the two perplexity tools on the same bytes.
    "$llama/llama-perplexity" -m "$q/silica-$t.gguf" -f "$text" -c 512 -t 2 >"$q/llamappl-silica-$t.log" 2>&1
  fi
done
if [[ -n "$llama" ]]; then
  "$llama/llama-perplexity" -m "$f32" -f "$text" -c 512 -t 2 >"$q/llamappl-f32.log" 2>&1
fi

/usr/bin/python3 "$root/tools/train/quality_table.py" "$q" "${types[@]}" | tee "$q/table.md"
