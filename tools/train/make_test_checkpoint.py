"""Writes tests/data/hf-gpt2-tiny/: a tiny GPT-2 (gpt2.py) with the real GPT-2 vocabulary, exported as a
Hugging Face checkpoint directory by hf_export.py, with PyTorch's float32 logits for 8 fixed tokens.

silica-convert's tests convert it and compare Silica's logits with these (tests/engine/hf_convert_test.cpp).
The weights are seeded random, not trained: Linear weights scaled to keep activations O(1), and
LayerNorm weights/biases and all biases perturbed so that none of them is trivial (all ones/zeros)
and a converter that drops or swaps one of them changes the logits. Small on purpose (about 6 MB):
the token embedding (50257 x 16 floats) is most of it.

    /usr/bin/python3 tools/train/make_test_checkpoint.py [OUT_DIR]
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_export  # noqa: E402
from gpt2 import GPT2, GPT2Config  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TOKENS = [464, 2068, 7586, 21831, 18045, 625, 262, 50256]  # "The quick brown fox jumps over the" <|endoftext|>


def make_model(seed=1234):
    torch.manual_seed(seed)
    model = GPT2(GPT2Config(vocab_size=50257, n_positions=32, n_embd=16, n_layer=2, n_head=2))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1.0 + 0.3 * torch.randn_like(m.weight))
                m.bias.copy_(0.2 * torch.randn_like(m.bias))
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn_like(m.weight) / m.in_features ** 0.5)
                m.bias.copy_(0.1 * torch.randn_like(m.bias))
        model.wte.weight.copy_(0.5 * torch.randn_like(model.wte.weight))  # logits with a std of a few units
        model.wpe.weight.copy_(0.3 * torch.randn_like(model.wpe.weight))
    return model.eval()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "hf-gpt2-tiny")
    model = make_model()
    hf_export.export(model, out, os.path.join(ROOT, "models", "tokenizers", "gpt2.vocab.gz"))
    hf_export.write_reference_logits(model, TOKENS, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
