#!/usr/bin/env python3
"""bench --lookup / --draft-model / --verify-cost on tiny models: the JSON fields, speculative.jsonl,
identical greedy text, and one-line errors for bad combinations."""
import argparse
import json
import os
import subprocess
import sys

p = argparse.ArgumentParser()
p.add_argument("--bench", required=True)
p.add_argument("--model", required=True)
p.add_argument("--draft", required=True)       # same vocabulary (the trained draft)
p.add_argument("--moe-model", required=True)   # another vocabulary
p.add_argument("--out-dir", required=True)
a = p.parse_args()
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(*extra):
    return subprocess.run([a.bench, "--model", a.model, "--out-dir", a.out_dir, "--prompt-len", "48",
                           "--gen-len", "24", "--warmup", "0", "--iterations", "1", *extra],
                          capture_output=True, text=True)


r = run("--lookup", "--verify-cost", "--draft-max", "3", "--json")
check(r.returncode == 0, f"lookup run failed: {r.stderr[-400:]}")
if r.returncode == 0:
    j = json.loads(r.stdout)
    vc = j["verify_cost"]
    check(vc["step_ms"] > 0 and [x["k"] for x in vc["passes"]] == [1, 2, 3], f"verify_cost {vc}")
    check(all(x["pass_ms"] > 0 and x["ratio"] > 0 for x in vc["passes"]), "verify ratios")
    s = j["speculative"]
    for key in ["plain_tokens_per_s", "speculative_tokens_per_s", "speedup", "acceptance_rate",
                "mean_accepted_length", "proposed", "accepted", "verify_passes", "identical_greedy_text"]:
        check(key in s, f"missing speculative.{key}")
    check(s.get("proposer") == "lookup", "proposer")
    check(s.get("identical_greedy_text") is True, "lookup changed the greedy text")
    check(0 <= s.get("acceptance_rate", -1) <= 1, "acceptance rate range")
    check(s.get("accepted", 0) <= s.get("proposed", 0), "accepted <= proposed")
    check("lookup, k <= 3" in r.stderr, "readable report on stderr")
    lines = open(os.path.join(a.out_dir, "speculative.jsonl")).read().splitlines()
    check(json.loads(lines[-1])["speculative"]["proposer"] == "lookup", "speculative.jsonl")

r = run("--draft-model", a.draft, "--draft-p-min", "0", "--no-adaptive", "--json")
check(r.returncode == 0, f"draft run failed: {r.stderr[-400:]}")
if r.returncode == 0:
    s = json.loads(r.stdout)["speculative"]
    check(s["proposer"] == "draft" and s["identical_greedy_text"] is True, f"draft run {s}")
    check(s["verify_passes"] > 0 and s["draft_passes"] > 0 and s["switched_off"] == 0, f"draft counts {s}")
    check(s["draft_prompt_ms"] > 0 and 0 < s["draft_cost_per_token"] < 10, f"draft prompt time and cost {s}")
    check(s["verify_cost_per_token"] == 0.1, f"default verify cost of a dense model {s}")

r = run("--lookup", "--verify-cost-per-token", "0.3", "--json")
check(r.returncode == 0 and abs(json.loads(r.stdout)["speculative"]["verify_cost_per_token"] - 0.3) < 1e-6,
      f"--verify-cost-per-token: {r.returncode} {r.stderr[-300:]}")

r = run("--lookup", "--draft-model", a.draft)
check(r.returncode == 2 and r.stderr.startswith("error:"), f"lookup+draft: {r.returncode} {r.stderr}")
r = run("--lookup", "--parallel", "1,2")
check(r.returncode == 2 and r.stderr.startswith("error:"), f"lookup+parallel: {r.returncode} {r.stderr}")
r = run("--draft-model", a.moe_model)
check(r.returncode == 1 and r.stderr.startswith("error: the draft model") and "201088" in r.stderr
      and "50257" in r.stderr and len(r.stderr.strip().splitlines()) == 1, f"vocab mismatch: {r.stderr}")

for f in failures:
    print("FAIL", f)
print(f"check_bench_speculative: {len(failures)} failures")
sys.exit(1 if failures else 0)
