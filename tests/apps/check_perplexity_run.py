#!/usr/bin/env python3
"""Real silica-perplexity runs on tiny models: the JSON object, the text output (running values,
final estimate), --kv-type, and --kl-base / --kl against the same model (KL 0, top-1 100%) and
against a q4_0 model (KL > 0, a PPL difference).

usage: check_perplexity_run.py --perplexity BIN --model Q8_GGUF --other-model Q4_GGUF --text FILE --work DIR
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED:", what, file=sys.stderr)


def run(args, expect_json=True):
    r = subprocess.run(args, capture_output=True, timeout=120)
    if r.returncode != 0:
        print("command:", " ".join(args), "\nstderr:", r.stderr.decode(errors="replace"), file=sys.stderr)
        raise SystemExit(1)
    out = r.stdout.decode()
    return json.loads(out) if expect_json else out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perplexity", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--other-model", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    ppl = [a.perplexity, "--file", a.text]

    # Default chunk size: the tiny model's context (128 < 512).
    j = run(ppl + ["--model", a.model, "--json"])
    for key in ["model", "n_ctx", "chunks", "tokens", "ppl", "ppl_err", "tokens_per_s", "chunk_ppl", "kv_type"]:
        check(key in j, f"JSON has {key}")
    check(j["n_ctx"] == 128, f"default n_ctx 128 (got {j['n_ctx']})")
    check(j["chunks"] == j["text_tokens"] // 128, "every whole chunk evaluated")
    check(j["tokens"] == j["chunks"] * 63, "63 scored tokens per chunk of 128")
    check(j["evaluated_tokens"] == j["chunks"] * 128, "evaluated tokens")
    check(j["ppl"] > 1 and j["ppl_err"] > 0, "perplexity and its error")
    check(j["tokens_per_s"] > 0, "tokens/s")
    check(len(j["chunk_ppl"]) == j["chunks"] and math.isclose(j["chunk_ppl"][-1], j["ppl"]), "running values")
    check("kl" not in j, "no KL block without --kl")

    # Text output: llama-perplexity's running values and final estimate, same figures as --json.
    small = ["--ctx-size", "32", "--chunks", "3"]
    text = run(ppl + ["--model", a.model] + small, expect_json=False)
    j32 = run(ppl + ["--model", a.model, "--json"] + small)
    check(re.search(r"^\[1\][0-9.]+,\[2\][0-9.]+,\[3\][0-9.]+,$", text, re.M) is not None, "running values line")
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", text)
    check(m is not None, "final estimate line")
    if m:
        check(math.isclose(float(m.group(1)), j32["ppl"], rel_tol=1e-4), "text and JSON agree")
    check(j32["chunks"] == 3 and j32["tokens"] == 3 * 15, "--chunks 3 of --ctx-size 32")

    q8kv = run(ppl + ["--model", a.model, "--json", "--kv-type", "q8_0"] + small)
    check(q8kv["kv_type"] == "q8_0", "--kv-type reaches the run")
    check(math.isclose(q8kv["ppl"], j32["ppl"], rel_tol=0.05), "q8_0 KV cache: close perplexity")

    # KL against its own base: 0 and 100% top-1; --kl takes n_ctx and chunks from the base file.
    base = os.path.join(a.work, "base.kl")
    saved = run(ppl + ["--model", a.model, "--json", "--kl-base", base] + small)
    check(saved.get("kl_base_file") == base, "JSON names the saved base file")
    self_kl = run(ppl + ["--model", a.model, "--json", "--kl", base])
    k = self_kl.get("kl", {})
    check(self_kl["n_ctx"] == 32 and self_kl["chunks"] == 3, "n_ctx and chunks from the base file")
    check(abs(k.get("kld_mean", 1)) < 1e-5, f"self KL ~ 0 (got {k.get('kld_mean')})")
    check(k.get("top1_agreement_pct") == 100.0, "self top-1 100%")
    check(abs(k.get("delta_ppl", 1)) < 1e-4 * self_kl["ppl"], "self delta PPL ~ 0")
    check(math.isclose(k.get("ppl_base", 0), saved["ppl"], rel_tol=1e-5), "base PPL is the saved run's")

    # KL of the q4_0 model against the q8_0 base.
    other = run(ppl + ["--model", a.other_model, "--json", "--kl", base])
    k = other.get("kl", {})
    for key in ["ppl_base", "delta_ppl", "ppl_ratio", "kld_mean", "kld_err", "kld_p99", "kld_median", "kld_max",
                "top1_agreement_pct"]:
        check(key in k, f"KL block has {key}")
    check(k.get("kld_mean", 0) > 1e-4, f"q4_0 vs q8_0: KL > 0 (got {k.get('kld_mean')})")
    check(k.get("delta_ppl", 0) != 0, "q4_0 vs q8_0: a PPL difference")
    check(math.isclose(k.get("delta_ppl", 0), other["ppl"] - k.get("ppl_base", 0), rel_tol=1e-6, abs_tol=1e-9),
          "delta PPL = PPL - PPL(base)")
    check(k.get("kld_max", 0) >= k.get("kld_p99", 1) >= k.get("kld_median", 2), "KL percentiles ordered")
    text_kl = run(ppl + ["--model", a.other_model, "--kl", base], expect_json=False)
    check("Mean    KLD:" in text_kl and "Same top p:" in text_kl and "99.0%   KLD:" in text_kl, "KL text report")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
