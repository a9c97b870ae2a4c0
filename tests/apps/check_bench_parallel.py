#!/usr/bin/env python3
"""Runs `bench --parallel 1,2,3 --json` on a tiny model and checks its JSON object (docs/BENCH.md,
"Parallel decode"): one run per sequence count in order, positive aggregate and per-sequence
decode rates with aggregate = N x per-sequence rate per iteration (checked on the medians loosely),
speedup_vs_1 = 1 at N = 1, KV bytes growing with N, and the same object as the last line of
parallel.jsonl. With --moe-model (a tiny GPT-OSS), also the measured distinct experts per layer
per decode step: k at N = 1, between that and N x k at N = 4 (null for the dense model), and k at
N = 4 with --same-prompt (identical sequences route alike).

usage: check_bench_parallel.py --bench PATH --model PATH --out-dir DIR [--moe-model PATH]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys


def fail(message):
    print("check_bench_parallel: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--moe-model")
    a = ap.parse_args()
    shutil.rmtree(a.out_dir, ignore_errors=True)
    p = subprocess.run([a.bench, "--model", a.model, "--parallel", "1,2,3", "--prompt-len", "12", "--gen-len", "6",
                        "--warmup", "0", "--iterations", "2", "--threads", "2", "--json", "--out-dir", a.out_dir],
                       capture_output=True, text=True, timeout=110)
    if p.returncode != 0:
        fail(f"bench exited {p.returncode}: {p.stderr}")
    run = json.loads(p.stdout)
    if run.get("format") != "silica-bench-parallel/1":
        fail(f"format is {run.get('format')!r}")
    runs = run["runs"]
    if [r["parallel"] for r in runs] != [1, 2, 3]:
        fail(f"runs are for {[r['parallel'] for r in runs]}, expected [1, 2, 3]")
    for r in runs:
        s = r["summary"]
        agg, per = s["aggregate_decode_tokens_per_s"]["median"], s["per_sequence_decode_tokens_per_s"]["median"]
        if not (agg > 0 and per > 0):
            fail(f"N={r['parallel']}: non-positive decode rates {agg}, {per}")
        if abs(agg - r["parallel"] * per) > 1e-6 * agg:
            fail(f"N={r['parallel']}: aggregate {agg} is not N x per-sequence {per}")
        if not s["step_latency_ms"]["p50"] <= s["step_latency_ms"]["p99"]:
            fail(f"N={r['parallel']}: step latency p50 > p99")
        if r["weight_bytes_per_step"] <= 0 or r["kv_cache_bytes"] <= 0:
            fail(f"N={r['parallel']}: missing weight or KV bytes")
    if runs[0]["speedup_vs_1"] != 1.0:
        fail(f"speedup_vs_1 at N=1 is {runs[0]['speedup_vs_1']}")
    if not runs[0]["kv_cache_bytes"] < runs[1]["kv_cache_bytes"] < runs[2]["kv_cache_bytes"]:
        fail("KV cache bytes do not grow with the number of sequences")
    with open(os.path.join(a.out_dir, "parallel.jsonl")) as f:
        last = f.read().splitlines()[-1]
    if json.loads(last) != run:
        fail("the last line of parallel.jsonl is not the printed object")
    if any(r["distinct_experts_per_layer_step"] is not None for r in runs):
        fail("a dense model reports distinct experts")
    if a.moe_model:
        p = subprocess.run([a.bench, "--model", a.moe_model, "--parallel", "1,4", "--prompt-len", "12", "--gen-len", "4",
                            "--warmup", "0", "--iterations", "1", "--threads", "2", "--json",
                            "--out-dir", a.out_dir], capture_output=True, text=True, timeout=110)
        if p.returncode != 0:
            fail(f"bench (MoE) exited {p.returncode}: {p.stderr}")
        one, four = (r["distinct_experts_per_layer_step"] for r in json.loads(p.stdout)["runs"])
        if one is None or one != round(one) or one < 1:
            fail(f"MoE: {one} distinct experts per layer at N=1, expected k (a whole number)")
        if not one <= four <= 4 * one:
            fail(f"MoE: {four} distinct experts per layer at N=4, expected between {one} and {4 * one}")
        # --same-prompt: four identical sequences decode identical tokens and route alike
        p = subprocess.run([a.bench, "--model", a.moe_model, "--parallel", "4", "--same-prompt", "--prompt-len", "12",
                            "--gen-len", "4", "--warmup", "0", "--iterations", "1", "--threads", "2", "--json",
                            "--out-dir", a.out_dir], capture_output=True, text=True, timeout=110)
        if p.returncode != 0:
            fail(f"bench (MoE, --same-prompt) exited {p.returncode}: {p.stderr}")
        same = json.loads(p.stdout)
        if same["workload"]["same_prompt"] is not True:
            fail("--same-prompt is not recorded in the workload")
        alike = same["runs"][0]["distinct_experts_per_layer_step"]
        if alike != one:
            fail(f"MoE --same-prompt: {alike} distinct experts per layer at N=4, expected {one} (as one sequence)")
    print("check_bench_parallel: ok")


if __name__ == "__main__":
    main()
