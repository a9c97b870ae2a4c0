"""Prints docs/QUALITY.md's tables (markdown) from the runs quality.sh wrote.

  quality_table.py QUALITY_DIR TYPE...
"""
import json
import os
import re
import sys


def load(q, name):
    path = os.path.join(q, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None


def llama_ppl(q, name):
    """llama-perplexity's final estimate from its log, as 'PPL ± err', or None."""
    path = os.path.join(q, name + ".log")
    if not os.path.exists(path):
        return None
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", open(path).read())
    return (float(m.group(1)), float(m.group(2))) if m else None


def kl_cells(r):
    k = r["kl"]
    return [f"{k['delta_ppl']:+.3f}", f"{k['kld_mean']:.2e}", f"{k['kld_p99']:.2e}", f"{k['top1_agreement_pct']:.2f}%"]


def size_mb(q, name):
    path = os.path.join(q, name + ".gguf")
    return f"{os.path.getsize(path) / 1e6:.1f}" if os.path.exists(path) else "–"


def main():
    q, types = sys.argv[1], sys.argv[2:]
    base = load(q, "f32")
    base_llama = llama_ppl(q, "llamappl-f32")
    print("| weights | quantizer | file MB | PPL (Silica) | PPL (llama-perplexity) | Δppl vs F32 | mean KL | KL p99 | top-1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    lp = f"{base_llama[0]:.2f} ± {base_llama[1]:.2f}" if base_llama else "–"
    print(f"| F32 | – | {os.path.getsize(os.path.join(os.path.dirname(q), 'silica-brown-18m-f32.gguf')) / 1e6:.1f} "
          f"| {base['ppl']:.2f} ± {base['ppl_err']:.2f} | {lp} | – | – | – | – |")
    for t in types:
        for who in ("silica", "llama"):
            r = load(q, f"{who}-{t}")
            if r is None:
                continue
            lp = llama_ppl(q, f"llamappl-{who}-{t}")
            lp = f"{lp[0]:.2f} ± {lp[1]:.2f}" if lp else "–"
            tool = "silica-quantize" if who == "silica" else "llama-quantize"
            print(f"| {t} | {tool} | {size_mb(q, f'{who}-{t}')} | {r['ppl']:.2f} ± {r['ppl_err']:.2f} | {lp} | "
                  + " | ".join(kl_cells(r)) + " |")
    print()
    print("| KV cache (F32 weights) | PPL | Δppl vs f32 KV | mean KL | KL p99 | top-1 |")
    print("|---|---|---|---|---|---|")
    print(f"| f32 | {base['ppl']:.3f} ± {base['ppl_err']:.3f} | – | – | – | – |")
    for kv, label in (("f16", "f16"), ("bf16", "bf16"), ("q8_0", "q8_0"), ("warm", "f16, warm tier (q8_0 beyond the newest 128)")):
        r = load(q, f"kv-{kv}")
        if r is not None:
            print(f"| {label} | {r['ppl']:.3f} ± {r['ppl_err']:.3f} | " + " | ".join(kl_cells(r)) + " |")


if __name__ == "__main__":
    main()
