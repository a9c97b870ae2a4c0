"""Trains a GPT-2 (gpt2.py) on the prepared corpus (prepare_corpus.mjs) and exports the checkpoint with
the lowest held-out loss as a Hugging Face directory (hf_export.py).

  train.py --data DIR --out DIR [--n-embd 256 --n-layer 6 --n-head 8] [--steps N] [--measure N]

Fixed seeds: the same command on the same data gives the same weights (for a fixed thread count).
--measure N runs N steps and prints tokens/s only (to size a model for a time budget).
Writes OUT/loss.csv (step, tokens seen, train loss, held-out loss, seconds) as it goes.
"""
import argparse
import copy
import csv
import math
import os
import sys
import time

# glibc serves every allocation above 32 MB with a fresh mmap and returns it on free, so each step
# page-faults (and the kernel zeroes) gigabytes of logits buffers: 4096 tokens x 50257 vocabulary
# is 800 MB in float32. Keeping those allocations on the heap made a step 5x faster (365 -> 1896
# tokens/s, tools/train/README.md). The variables only act at process start, hence the re-exec.
GLIBC_KEEP_MEMORY = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 36), "MALLOC_TOP_PAD_": str(1 << 30)}
if any(os.environ.get(k) != v for k, v in GLIBC_KEEP_MEMORY.items()):
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **GLIBC_KEEP_MEMORY})

import numpy as np
import torch
import torch.nn.functional as F

from gpt2 import GPT2, GPT2Config
import hf_export


def load_tokens(path):
    return torch.from_numpy(np.fromfile(path, dtype="<u2").astype(np.int64))


def batches(tokens, batch, seq, generator):
    """Random training windows of seq + 1 tokens (input and shifted target)."""
    while True:
        starts = torch.randint(0, len(tokens) - seq - 1, (batch,), generator=generator)
        chunk = torch.stack([tokens[s : s + seq + 1] for s in starts.tolist()])
        yield chunk[:, :-1], chunk[:, 1:]


@torch.no_grad()
def heldout_loss(model, tokens, seq, autocast):
    """Mean next-token loss over non-overlapping windows of the held-out tokens."""
    model.eval()
    total, count = 0.0, 0
    n_windows = (len(tokens) - 1) // seq
    for w in range(0, n_windows, 8):
        idx = torch.stack([tokens[(w + i) * seq : (w + i + 1) * seq + 1] for i in range(min(8, n_windows - w))])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            logits = model(idx[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), idx[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += idx[:, 1:].numel()
    model.train()
    return total / count


def learning_rate(step, steps, peak, warmup):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))  # cosine down to 10%


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="directory with train.bin and heldout.bin")
    ap.add_argument("--out", required=True, help="Hugging Face checkpoint directory to write")
    ap.add_argument("--vocab", default=os.path.join(os.path.dirname(__file__), "../../models/tokenizers/gpt2.vocab.gz"))
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-layer", type=int, default=6)
    ap.add_argument("--n-head", type=int, default=8)
    ap.add_argument("--seq", type=int, default=512, help="training window = the model's context")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-bf16", action="store_true", help="train in float32 instead of bf16 autocast")
    ap.add_argument("--measure", type=int, default=0, help="only time this many steps and print tokens/s")
    ap.add_argument("--export-only", action="store_true", help="export OUT/best.pt of an earlier run and exit")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    autocast = not a.no_bf16
    config = GPT2Config(n_positions=a.seq, n_embd=a.n_embd, n_layer=a.n_layer, n_head=a.n_head, dropout=a.dropout)
    model = GPT2(config)
    train = load_tokens(os.path.join(a.data, "train.bin"))
    heldout = load_tokens(os.path.join(a.data, "heldout.bin"))
    print(f"model: {model.parameter_count() / 1e6:.2f}M parameters ({config}); "
          f"train {len(train)} tokens, held-out {len(heldout)} tokens", flush=True)

    if a.export_only:
        saved = torch.load(os.path.join(a.out, "best.pt"))
        model.load_state_dict(saved["state"])
        export(model, a, heldout, saved["step"], saved["heldout_loss"], seconds=None)
        return

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, 0.95))
    data = batches(train, a.batch, a.seq, torch.Generator().manual_seed(a.seed))

    steps = a.measure or a.steps
    os.makedirs(a.out, exist_ok=True)
    log = None if a.measure else csv.writer(open(os.path.join(a.out, "loss.csv"), "w", newline=""))
    if log:
        log.writerow(["step", "tokens", "train_loss", "heldout_loss", "seconds"])
    best = (float("inf"), -1, None)
    start = time.time()
    train_losses = []
    for step in range(steps):
        if a.measure and step == 1:
            start = time.time()  # the first step pays one-time costs
        for g in opt.param_groups:
            g["lr"] = learning_rate(step, steps, a.lr, a.warmup)
        x, y = next(data)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        train_losses.append(loss.item())
        last = step == steps - 1
        if a.measure:
            continue
        if (step + 1) % a.eval_every == 0 or last:
            h = heldout_loss(model, heldout, a.seq, autocast)
            elapsed = time.time() - start
            mean_train = sum(train_losses) / len(train_losses)
            train_losses = []
            log.writerow([step + 1, (step + 1) * a.batch * a.seq, f"{mean_train:.4f}", f"{h:.4f}", f"{elapsed:.0f}"])
            sys.stdout.flush()
            print(f"step {step + 1}/{steps}: train {mean_train:.4f}  held-out {h:.4f} (ppl {math.exp(h):.1f})  "
                  f"{elapsed:.0f} s", flush=True)
            if h < best[0]:
                best = (h, step + 1, copy.deepcopy(model.state_dict()))
                # On disk too, so a run cut short still leaves its best checkpoint (--export-only).
                torch.save({"state": best[2], "step": best[1], "heldout_loss": h}, os.path.join(a.out, "best.pt"))
    if a.measure:
        tps = (steps - 1) * a.batch * a.seq / (time.time() - start)
        print(f"measure: {model.parameter_count() / 1e6:.2f}M parameters, {tps:.0f} tokens/s "
              f"({a.threads} threads, bf16 autocast {'on' if autocast else 'off'})")
        return

    model.load_state_dict(best[2])
    export(model, a, heldout, best[1], best[0], seconds=time.time() - start)


def export(model, a, heldout, step, loss, seconds):
    print(f"best held-out loss {loss:.4f} at step {step}; exporting to {a.out}", flush=True)
    hf_export.export(model, a.out, a.vocab)
    # Reference logits: the first 64 held-out tokens, computed in float32 (no autocast).
    hf_export.write_reference_logits(model, heldout[:64].tolist(), a.out)
    with open(os.path.join(a.out, "training.txt"), "w") as f:
        f.write(f"parameters {model.parameter_count()}\nbest_step {step}\nheldout_loss {loss:.4f}\n"
                f"seconds {seconds if seconds is None else round(seconds)}\nargs {vars(a)}\n")


if __name__ == "__main__":
    main()
