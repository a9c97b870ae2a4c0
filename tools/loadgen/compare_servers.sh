#!/usr/bin/env bash
# silica-server against llama.cpp's llama-server on the same GGUF, same thread count, same load
# (tools/loadgen/openai_loadgen.py), one concurrency level at a time, each server restarted with
# --parallel N / -np N, the two interleaved. Appends JSON lines to OUT (default server-compare.jsonl).
#
#   tools/loadgen/compare_servers.sh --silica build/release/silica-server --llama PATH/llama-server \
#       --model M [--threads 2] [--levels 1,2,4,8,16] [--prompt-tokens 128] [--max-tokens 64] \
#       [--requests 4] [--ctx 1024] [--llama-args "-rtr"] [--out FILE]
set -euo pipefail
silica="" llama="" llama_args="" model="" threads=2 levels="1,2,4,8,16" prompt=128 gen=64 requests=4 ctx=1024 out=server-compare.jsonl
while (($#)); do
  case "$1" in
    --silica) silica="$2"; shift 2 ;;
    --llama) llama="$2"; shift 2 ;;
    --llama-args) llama_args="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --levels) levels="$2"; shift 2 ;;
    --prompt-tokens) prompt="$2"; shift 2 ;;
    --max-tokens) gen="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --ctx) ctx="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -x "$silica" && -f "$model" ]] || { echo "error: --silica and --model are required" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
port=18431

wait_ready() {  # url
  for _ in $(seq 1 600); do
    curl -sf "$1/health" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "error: $1 did not become ready" >&2
  return 1
}

run_one() {  # label n command...
  local label="$1" n="$2"; shift 2
  "$@" >/dev/null 2>"/tmp/compare-$label.log" &
  local pid=$!
  wait_ready "http://127.0.0.1:$port" || { kill $pid; return 1; }
  python3 "$here/openai_loadgen.py" --url "http://127.0.0.1:$port" --concurrency "$n" --requests "$requests" \
    --prompt-tokens "$prompt" --max-tokens "$gen" --label "$label" --ignore-eos --json "$out" || true
  kill -TERM $pid; wait $pid || true
}

for n in ${levels//,/ }; do
  run_one silica "$n" "$silica" --model "$model" --port $port --parallel "$n" --threads "$threads" --ctx-size "$ctx"
  if [[ -n "$llama" ]]; then
    # shellcheck disable=SC2086  # llama_args: several words on purpose
    run_one llama "$n" "$llama" -m "$model" --port $port -np "$n" -t "$threads" -c $((ctx * n)) $llama_args
  fi
done
