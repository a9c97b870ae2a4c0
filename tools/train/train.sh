#!/usr/bin/env bash
# Reproduces Silica's trained default model and its draft model from the pinned corpus, with fixed
# seeds (tools/train/README.md): corpus -> two Hugging Face GPT-2 checkpoints -> loss curve ->
# GGUF (silica-convert) -> the shipped Q8_0 file (silica-quantize) -> PyTorch-logits check.
#
#   tools/train/train.sh [OUT_DIR]        (default build/train; run from anywhere, as root for apt)
#
# Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread (installed here if missing),
# node + npm (npm ci of the pinned packages), and a release build of Silica (built here).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(realpath -m "${1:-$root/build/train}")"
python=/usr/bin/python3  # Debian's interpreter: the one python3-torch is installed for
mkdir -p "$out"

missing=()
for p in python3-torch python3-numpy libopenblas0-pthread; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

(cd "$root/tools/tokenizer" && npm ci --silent)
(cd "$root/tools/train" && npm ci --silent)
node "$root/tools/train/prepare_corpus.mjs" "$out/data"

# One OpenBLAS thread: torch's own OpenMP threads (--threads 2) already use both cores, and the two
# pools spinning against each other cost more than they give (measured, tools/train/README.md).
export OPENBLAS_NUM_THREADS=1
train() {  # train NAME ARGS...: one checkpoint directory $out/NAME with its loss.csv and log
  local name="$1"
  shift
  echo "train.sh: training $name ($*)"
  "$python" "$root/tools/train/train.py" --data "$out/data" --out "$out/$name" "$@" | tee "$out/$name.log"
}
train silica-brown-18m --n-embd 256 --n-layer 6 --n-head 8 --seq 512 --batch 8 --steps 2000 --eval-every 100
train silica-brown-draft --n-embd 64 --n-layer 2 --n-head 2 --seq 512 --batch 8 --steps 600 --eval-every 100

"$python" "$root/tools/train/loss_curve.py" "$root/docs/training-loss.svg" \
  "18M=$out/silica-brown-18m/loss.csv" "draft=$out/silica-brown-draft/loss.csv"

cmake --preset release -S "$root" >/dev/null
cmake --build --preset release --target silica-convert silica-quantize infer
bin="$root/build/release"
for name in silica-brown-18m silica-brown-draft; do
  "$bin/silica-convert" "$out/$name" "$out/$name-f32.gguf" --outtype f32
done
# The shipped file: Q4_K_M (23 MB; Q8_0 is 35 MB because GPT-2's GGUF stores the tied embedding
# twice, as token_embd and output, the way llama.cpp's converter writes it).
"$bin/silica-quantize" "$out/silica-brown-18m-f32.gguf" "$root/models/silica-brown-18m-q4_k_m.gguf" q4_K_M

# The converted F32 model against PyTorch's own logits (64 held-out tokens), through ctest's opt-in
# `trained` label.
(cd "$root" && SILICA_TRAINED_HF_DIR="$out/silica-brown-18m" ctest --preset release -L trained --output-on-failure)
"$bin/infer" --model "$root/models/silica-brown-18m-q4_k_m.gguf" --prompt "The city council said" -n 40 --seed 1
