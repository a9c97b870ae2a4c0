#!/usr/bin/env python3
"""Runs `bench` on a tiny model three times and checks what it prints and writes.

1. --json run: stdout is one JSON object with the documented layout (docs/BENCH.md), the same
   object is the last line of results.jsonl, results.csv has the fixed header and one row per run,
   the SVG plots are well-formed XML.
2. --gen-len 0 --prompt TEXT --compare results.jsonl: decode figures are null, a comparison is
   included, the prompt source is "text".
3. --ablate with every name: every ablation but simd (not applicable when the kernels already run
   scalar) has on/off figures; an ablation plot is written.

usage: check_bench_run.py --bench PATH --model PATH --out-dir DIR
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

CSV_HEADER = (
    "timestamp,git_revision,model_name,model_architecture,model_file_size,model_header_xxh3,threads,kv_type,"
    "prompt_len,gen_len,warmup,iterations,prefill_tps_mean,prefill_tps_median,prefill_tps_stdev,prefill_tps_min,"
    "prefill_tps_max,decode_tps_mean,decode_tps_median,decode_tps_stdev,decode_tps_min,decode_tps_max,ttft_ms_mean,"
    "decode_latency_ms_p50,decode_latency_ms_p90,decode_latency_ms_p99,rss_after_load_mb,"
    "rss_after_first_iteration_mb,peak_rss_mb,kv_cache_bytes,cpu_model,isa,memory_bandwidth_gb_s,"
    "weight_bytes_per_token,roofline_decode_tps,roofline_fraction"
)

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_stats(obj, where):
    if not check(isinstance(obj, dict), f"{where} is not an object"):
        return
    for key in ("mean", "median", "stdev", "min", "max"):
        check(is_number(obj.get(key)), f"{where}.{key} is not a number")
    if all(is_number(obj.get(k)) for k in ("mean", "median", "stdev", "min", "max")):
        eps = 1e-9 * max(1.0, abs(obj["max"]))
        check(obj["min"] - eps <= obj["median"] <= obj["max"] + eps, f"{where}: median outside [min, max]")
        check(obj["min"] - eps <= obj["mean"] <= obj["max"] + eps, f"{where}: mean outside [min, max]")
        check(obj["stdev"] >= 0, f"{where}: negative stdev")


def check_run(run, iterations, prompt_len, gen_len, warmup):
    for key in ("format", "timestamp", "git_revision", "model", "threads", "kv_type", "n_ctx", "prompt_len",
                "gen_len", "warmup", "prompt", "iterations", "summary", "memory", "peak_rss_mb", "system",
                "roofline"):
        check(key in run, f"missing key {key}")
    if failures:
        return
    check(run["format"] == "silica-bench/1", "format tag")
    check(run["timestamp"].endswith("Z") and "T" in run["timestamp"], "timestamp is not ISO-8601 UTC")
    model = run["model"]
    for key in ("name", "path", "architecture", "file_size", "header_xxh3", "header_bytes_hashed"):
        check(key in model, f"missing model.{key}")
    check(model.get("architecture") == "gpt2", "model.architecture")
    check(len(model.get("header_xxh3", "")) == 16, "model.header_xxh3 is not 16 hex digits")
    check(0 < model.get("header_bytes_hashed", 0) < model.get("file_size", 0), "header_bytes_hashed")
    check(isinstance(run["threads"], int) and run["threads"] >= 1, "threads")
    check(run["prompt_len"] == prompt_len and run["gen_len"] == gen_len and run["warmup"] == warmup, "workload echo")
    check(run["n_ctx"] == prompt_len + gen_len, "n_ctx")
    check(isinstance(run["iterations"], list) and len(run["iterations"]) == iterations, "iterations list length")
    for i, it in enumerate(run["iterations"]):
        for key in ("prefill_tokens_per_s", "ttft_ms", "prefill_ms"):
            check(is_number(it.get(key)) and it[key] > 0, f"iterations[{i}].{key}")
        lat = it.get("decode_latency_ms")
        check(isinstance(lat, list) and len(lat) == gen_len, f"iterations[{i}].decode_latency_ms length")
        if gen_len > 0:
            check(is_number(it.get("decode_tokens_per_s")) and it["decode_tokens_per_s"] > 0,
                  f"iterations[{i}].decode_tokens_per_s")
            if isinstance(lat, list) and lat and all(is_number(x) for x in lat):
                rate = gen_len / (sum(lat) / 1000.0)
                check(abs(rate - it["decode_tokens_per_s"]) <= 1e-6 * rate, f"iterations[{i}]: decode rate vs latencies")
        else:
            check(it.get("decode_tokens_per_s") is None, f"iterations[{i}].decode_tokens_per_s should be null")
        if is_number(it.get("prefill_ms")) and is_number(it.get("prefill_tokens_per_s")):
            rate = prompt_len / (it["prefill_ms"] / 1000.0)
            check(abs(rate - it["prefill_tokens_per_s"]) <= 1e-6 * rate, f"iterations[{i}]: prefill rate vs time")
            check(it["ttft_ms"] >= it["prefill_ms"], f"iterations[{i}]: ttft shorter than prefill")
    summary = run["summary"]
    check_stats(summary.get("prefill_tokens_per_s"), "summary.prefill_tokens_per_s")
    check_stats(summary.get("ttft_ms"), "summary.ttft_ms")
    if gen_len > 0:
        check_stats(summary.get("decode_tokens_per_s"), "summary.decode_tokens_per_s")
        lat = summary.get("decode_latency_ms")
        if check(isinstance(lat, dict), "summary.decode_latency_ms"):
            check(all(is_number(lat.get(k)) for k in ("p50", "p90", "p99")), "latency percentiles")
            check(lat["p50"] <= lat["p90"] <= lat["p99"], "latency percentiles not ordered")
            check(lat.get("count") == iterations * gen_len, "latency count")
    else:
        check(summary.get("decode_tokens_per_s") is None, "summary.decode_tokens_per_s should be null")
    memory = run["memory"]
    for key in ("rss_after_load_mb", "rss_after_first_iteration_mb", "peak_rss_mb", "rss_anon_mb", "rss_file_mb"):
        check(is_number(memory.get(key)) and memory[key] > 0, f"memory.{key}")
    check(is_number(memory.get("kv_cache_bytes")) and memory["kv_cache_bytes"] > 0, "memory.kv_cache_bytes")
    check(run["peak_rss_mb"] == memory.get("peak_rss_mb"), "peak_rss_mb")
    if is_number(run["peak_rss_mb"]) and is_number(memory.get("rss_after_load_mb")):
        check(run["peak_rss_mb"] >= memory["rss_after_load_mb"], "peak RSS below RSS after load")
    system = run["system"]
    for key in ("cpu_model", "isa"):
        check(isinstance(system.get(key), str) and system[key], f"system.{key}")
    for key in ("sockets", "cores", "logical_cpus", "numa_nodes", "threads"):
        check(isinstance(system.get(key), int) and system[key] >= 1, f"system.{key}")
    check(is_number(system.get("memory_bandwidth_gb_s")) and system["memory_bandwidth_gb_s"] > 0, "bandwidth")
    probe = system.get("bandwidth_probe", {})
    check(probe.get("buffer_bytes", 0) >= 1 << 30, "bandwidth probe buffer below 1 GiB")
    roof = run["roofline"]
    check(isinstance(roof.get("weight_bytes_per_token"), int) and roof["weight_bytes_per_token"] > 0,
          "roofline.weight_bytes_per_token")
    check(roof.get("weight_bytes_per_token") == roof.get("dense_bytes", 0) + roof.get("expert_bytes", 0) +
          roof.get("embedding_row_bytes", 0), "roofline parts do not add up")
    check(roof.get("weight_bytes_per_token", 0) < model.get("file_size", 0), "bytes per token above the file size")
    check(is_number(roof.get("decode_tokens_per_s_ceiling")), "roofline ceiling")
    if gen_len > 0:
        check(is_number(roof.get("decode_fraction_of_roofline")) and roof["decode_fraction_of_roofline"] > 0,
              "roofline fraction")


def run_bench(args, extra):
    command = [args.bench, "--model", args.model, "--json", "--out-dir", args.out_dir] + extra
    result = subprocess.run(command, capture_output=True, timeout=100)
    if result.returncode != 0:
        failures.append(f"{' '.join(command)} exited {result.returncode}: {result.stderr.decode()[-2000:]}")
        return None
    try:
        return json.loads(result.stdout)  # the whole of stdout must be one JSON object
    except json.JSONDecodeError as e:
        failures.append(f"stdout is not one JSON object: {e}: {result.stdout[:500]!r}")
        return None


def check_files(args, run, runs_so_far):
    with open(os.path.join(args.out_dir, "results.jsonl")) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    check(len(lines) == runs_so_far, f"results.jsonl has {len(lines)} lines, expected {runs_so_far}")
    check(lines and lines[-1] == run, "the last line of results.jsonl differs from the printed JSON")
    with open(os.path.join(args.out_dir, "results.csv")) as f:
        rows = f.read().splitlines()
    check(rows and rows[0] == CSV_HEADER, "results.csv header differs from the documented one")
    check(len(rows) == runs_so_far + 1, f"results.csv has {len(rows) - 1} rows, expected {runs_so_far}")
    svgs = [n for n in os.listdir(args.out_dir) if n.endswith(".svg")]
    check(any(n.startswith("run_") for n in svgs), "no run_<timestamp>.svg")
    check(any(n.startswith("history_") for n in svgs), "no history_<model>.svg")
    for name in svgs:
        try:
            root = ET.parse(os.path.join(args.out_dir, name)).getroot()
            check(root.tag.endswith("svg"), f"{name}: root is not <svg>")
        except ET.ParseError as e:
            failures.append(f"{name} is not well-formed XML: {e}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out-dir", required=True)
    args = parser.parse_args()
    shutil.rmtree(args.out_dir, ignore_errors=True)

    # 1. The protocol's example run.
    run = run_bench(args, ["--iterations", "2", "--warmup", "1", "--prompt-len", "16", "--gen-len", "8"])
    if run is not None:
        check_run(run, iterations=2, prompt_len=16, gen_len=8, warmup=1)
        check("ablations" not in run and "comparison" not in run, "ablations/comparison without the flags")
        check_files(args, run, 1)

    # 2. Prefill only, compared with run 1.
    if not failures:
        run = run_bench(args, ["--iterations", "2", "--warmup", "0", "--prompt-len", "16", "--gen-len", "0",
                               "--prompt", "Hello, world", "--compare", os.path.join(args.out_dir, "results.jsonl")])
        if run is not None:
            check_run(run, iterations=2, prompt_len=16, gen_len=0, warmup=0)
            check(run.get("prompt") == "text", "--prompt TEXT is not recorded as a text prompt")
            comparison = run.get("comparison", {})
            metrics = {m.get("metric"): m for m in comparison.get("metrics", [])}
            check("prefill_tokens_per_s" in metrics, "comparison lacks prefill_tokens_per_s")
            check("decode_tokens_per_s" not in metrics, "comparison has decode figures for a prefill-only run")
            for m in metrics.values():
                check(m.get("verdict") in ("regression", "improvement", "within noise"), "verdict")
                check(m.get("threshold", 0) >= 0.05, "noise threshold below the 5% floor")
            diffs = comparison.get("workload_differences", [])
            check(any("gen_len" in d for d in diffs) and any("prompt" in d for d in diffs),
                  "the gen_len and prompt differences are not reported")
            check_files(args, run, 2)

    # 3. Every ablation.
    if not failures:
        run = run_bench(args, ["--iterations", "1", "--warmup", "0", "--prompt-len", "8", "--gen-len", "4",
                               "--ablate", "kv-cache,kv-quant,simd,repack,prefetch,numa"])
        if run is not None:
            check_run(run, iterations=1, prompt_len=8, gen_len=4, warmup=0)
            rows = {a.get("name"): a for a in run.get("ablations", [])}
            check(list(rows) == ["kv-cache", "kv-quant", "simd", "repack", "prefetch", "numa"], "ablation rows")
            for name in ("kv-cache", "kv-quant", "repack", "prefetch", "numa"):
                a = rows.get(name, {})
                check(a.get("available") is True, f"ablation {name} not available")
                for side in ("on", "off"):
                    check_stats(a.get(side, {}).get("decode_tokens_per_s"), f"ablations.{name}.{side}.decode")
                check(is_number(a.get("decode_speedup")), f"ablations.{name}.decode_speedup")
            kvq = rows.get("kv-quant", {})
            if kvq.get("on") and kvq.get("off"):
                check(kvq["on"]["kv_cache_bytes"] < kvq["off"]["kv_cache_bytes"], "q8_0 KV cache not smaller than f16")
            check(any(n.startswith("ablate_") for n in os.listdir(args.out_dir)), "no ablate_<timestamp>.svg")
            check_files(args, run, 3)

    for f in failures:
        print("FAILED:", f, file=sys.stderr)
    if not failures:
        print("bench run checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
