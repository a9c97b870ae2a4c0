#!/usr/bin/env bash
# Silica vs llama.cpp vs ik_llama.cpp on the same models, same machine, same sitting.
#
#   scripts/bench-peers.sh [options] MODEL.gguf...
#     --silica PATH        Silica's bench (default build/release/bench)
#     --llama PATH         llama.cpp's llama-bench (optional)
#     --ik PATH            ik_llama.cpp's llama-bench (optional)
#     --ik-flags "FLAGS"   extra ik_llama.cpp flags (default "-rtr 1": run-time repacking)
#     --threads N          threads for every engine (default 2)
#     --rounds N           interleaved rounds per model (default 3)
#     --prompt N --gen N   pp / tg lengths (default 512 / 128)
#
# Peers are never built or downloaded here: build them yourself (CPU only, native, Release) and
# pass their binaries. Each round runs Silica, then each peer (A B C A B C ...), so slow drift of
# the machine hits all of them alike. Each run: Silica `bench` with one warm-up and 3 measured
# iterations (median), llama-bench with -r 3 (mean of its repetitions). The table gives the
# median over rounds of prefill (pp) and decode (tg) tokens/s, Silica's ratio to each peer, and
# the peak RSS of each process (/usr/bin/time). Progress goes to stderr, the table to stdout.
set -euo pipefail

silica="build/release/bench"
llama=""
ik=""
ik_flags="-rtr 1"
threads=2
rounds=3
pp=512
tg=128
models=()
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --silica) silica="$2"; shift 2 ;;
    --llama) llama="$2"; shift 2 ;;
    --ik) ik="$2"; shift 2 ;;
    --ik-flags) ik_flags="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --prompt) pp="$2"; shift 2 ;;
    --gen) tg="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[ ${#models[@]} -gt 0 ] || { echo "error: no model given (see --help)" >&2; exit 2; }
for bin in "$silica" ${llama:+"$llama"} ${ik:+"$ik"}; do
  [ -x "$bin" ] || { echo "error: $bin is not an executable" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_silica MODEL -> "pp tg rss_mib"
run_silica() {
  "$silica" --model "$1" --prompt-len "$pp" --gen-len "$tg" --warmup 1 \
    --iterations 3 --threads "$threads" --json --out-dir "$work/silica" >"$work/out.json" 2>/dev/null
  python3 - "$work/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print(s["prefill_tokens_per_s"]["median"], s["decode_tokens_per_s"]["median"], round(r["memory"]["peak_rss_mb"]))
PY
}

# run_peer BINARY MODEL EXTRA_FLAGS... -> "pp tg rss_mib"
run_peer() {
  local bin="$1" model="$2"
  shift 2
  if ! /usr/bin/time -f %M -o "$work/rss" "$bin" -m "$model" -p "$pp" -n "$tg" -t "$threads" -r 3 -o json "$@" \
    >"$work/peer.json" 2>"$work/peer.err"; then
    echo "bench-peers: $bin failed on $(basename "$model"): $(grep -m1 -iE 'error|abort|assert' "$work/peer.err")" >&2
    echo "nan nan nan"
    return
  fi
  python3 - "$work/peer.json" "$work/rss" <<'PY'
import json, sys
# ik_llama.cpp prints a "=== HAVE_FANCY_SIMD ..." banner into its JSON on stdout: drop such lines.
rows = json.loads("".join(l for l in open(sys.argv[1]) if not l.startswith("=")))
pp = [r["avg_ts"] for r in rows if r.get("n_prompt", 0) > 0 and r.get("n_gen", 0) == 0]
tg = [r["avg_ts"] for r in rows if r.get("n_gen", 0) > 0 and r.get("n_prompt", 0) == 0]
rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
print(pp[0] if pp else "nan", tg[0] if tg else "nan", round(rss))
PY
}

engines=(silica)
[ -n "$llama" ] && engines+=(llama.cpp)
[ -n "$ik" ] && engines+=(ik_llama.cpp)

echo "| model | engine | pp$pp tok/s | tg$tg tok/s | Silica/engine pp | Silica/engine tg | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|"
for model in "${models[@]}"; do
  [ -f "$model" ] || { echo "error: $model: no such file" >&2; exit 1; }
  for e in "${engines[@]}"; do : >"$work/$e.txt"; done
  for ((r = 1; r <= rounds; r++)); do
    for e in "${engines[@]}"; do
      echo "bench-peers: $(basename "$model") round $r/$rounds: $e (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      case "$e" in
        silica) run_silica "$model" >>"$work/$e.txt" ;;
        llama.cpp) run_peer "$llama" "$model" >>"$work/$e.txt" ;;
        # shellcheck disable=SC2086  # ik_flags is a list of flags
        ik_llama.cpp) run_peer "$ik" "$model" $ik_flags >>"$work/$e.txt" ;;
      esac
    done
  done
  python3 - "$(basename "$model")" "$work" "${engines[@]}" <<'PY'
import statistics, sys
name, work, engines = sys.argv[1], sys.argv[2], sys.argv[3:]
med = {}
for e in engines:
    rows = [list(map(float, l.split())) for l in open(f"{work}/{e}.txt") if l.strip()]
    med[e] = [statistics.median([x for x in col if x == x] or [float("nan")]) for col in zip(*rows)]
s = med["silica"]
for e in engines:
    pp, tg, rss = med[e]
    ratio = lambda a, b: f"{a / b:.2f}" if b == b and b > 0 else "-"
    print(f"| {name} | {e} | {pp:.1f} | {tg:.1f} | {ratio(s[0], pp) if e != 'silica' else '-'} | "
          f"{ratio(s[1], tg) if e != 'silica' else '-'} | {rss:.0f} |", flush=True)
PY
done
