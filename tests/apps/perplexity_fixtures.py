#!/usr/bin/env python3
"""Writes the inputs of silica-perplexity's bad-input tests into OUT_DIR.

usage: perplexity_fixtures.py --perplexity BIN --model GGUF --text FILE --out-dir DIR

  bad-utf8.txt     invalid UTF-8 at byte offset 4
  short.txt        5 tokens ("one two three four five")
  other.txt        another text, long enough for two chunks of 16
  base16.kl        the model's base file over --text, 2 chunks of 16 tokens
  truncated.kl     base16.kl cut in the middle of its rows
  badmagic.kl      base16.kl with another magic
  vocab1000.kl     a well-formed base file of a model with a 1000-token vocabulary
"""
import argparse
import os
import struct
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--perplexity", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    out = lambda name: os.path.join(a.out_dir, name)

    with open(out("bad-utf8.txt"), "wb") as f:
        f.write(b"abcd\xff\xfe and more text after the bad bytes " * 20)
    with open(out("short.txt"), "w") as f:
        f.write("one two three four five")
    with open(out("other.txt"), "w") as f:
        f.write("A completely different text about numbers: " + ", ".join(str(i) for i in range(200)) + ".\n")

    base = out("base16.kl")
    r = subprocess.run([a.perplexity, "--model", a.model, "--file", a.text, "--ctx-size", "16", "--chunks", "2",
                        "--kl-base", base, "--json"], capture_output=True, timeout=120)
    if r.returncode != 0:
        print("silica-perplexity --kl-base failed:", r.stderr.decode(errors="replace"), file=sys.stderr)
        return 1
    data = open(base, "rb").read()
    n_vocab, n_ctx, n_chunks = struct.unpack_from("<III", data, 12)
    rows = n_chunks * (n_ctx - 1 - n_ctx // 2)
    expected = 24 + 4 * n_ctx * n_chunks + rows * (16 + 2 * n_vocab)
    if data[:8] != b"SILICAKL" or len(data) != expected:
        print(f"unexpected base file: {len(data)} bytes, expected {expected}", file=sys.stderr)
        return 1
    with open(out("truncated.kl"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(out("badmagic.kl"), "wb") as f:
        f.write(b"_logits_" + data[8:])

    # Same layout, another vocabulary: valid on its own, wrong for the model.
    v = 1000
    with open(out("vocab1000.kl"), "wb") as f:
        f.write(b"SILICAKL" + struct.pack("<IIII", 1, v, n_ctx, n_chunks))
        f.write(struct.pack(f"<{n_ctx * n_chunks}i", *([0] * (n_ctx * n_chunks))))
        row = struct.pack("<fffi", -10.0, 0.0001, -1.0, 0) + bytes(2 * v)
        f.write(row * rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
