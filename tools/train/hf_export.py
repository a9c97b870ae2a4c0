"""Writes a trained GPT2 (gpt2.py) as a Hugging Face GPT-2 checkpoint directory, laid out exactly as
openai-community/gpt2 ships one: config.json, model.safetensors (HF names, Conv1D [in, out] weights,
no `transformer.` prefix and no lm_head, as the published gpt2 files have), vocab.json, merges.txt.

The safetensors file is written by hand (8-byte little-endian header length, JSON header, raw
little-endian tensor data) because only torch and numpy may be used.
"""
import gzip
import json
import os
import struct

import numpy as np
import torch

from gpt2 import GPT2

DTYPES = {torch.float32: ("F32", np.float32), torch.float16: ("F16", np.float16)}


def hf_state_dict(model: GPT2):
    """Tensor name -> tensor in Hugging Face's naming and layout."""
    out = {}
    for name, t in model.state_dict().items():
        t = t.detach().float()
        is_conv1d = any(name.endswith(s) for s in ("c_attn.weight", "c_proj.weight", "c_fc.weight"))
        out[name] = t.t().contiguous() if is_conv1d else t
    return out


def write_safetensors(path, tensors, dtype=torch.float32, metadata=None):
    tag, np_dtype = DTYPES[dtype]
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].to(dtype).numpy().astype(np_dtype, copy=False).tobytes()
        header[name] = {"dtype": tag, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata or {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # pad the header so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def hf_config(model: GPT2):
    c = model.config
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": c.dropout,
        "bos_token_id": 50256,
        "embd_pdrop": c.dropout,
        "eos_token_id": 50256,
        "initializer_range": 0.02,
        "layer_norm_epsilon": c.layer_norm_epsilon,
        "model_type": "gpt2",
        "n_ctx": c.n_positions,
        "n_embd": c.n_embd,
        "n_head": c.n_head,
        "n_inner": None,
        "n_layer": c.n_layer,
        "n_positions": c.n_positions,
        "resid_pdrop": c.dropout,
        "scale_attn_weights": True,
        "summary_activation": None,
        "summary_first_dropout": 0.1,
        "summary_proj_to_labels": True,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "vocab_size": c.vocab_size,
    }


def write_tokenizer_files(out_dir, vocab_file):
    """vocab.json and merges.txt from the repository's GPT-2 vocabulary (models/tokenizers/gpt2.vocab.gz,
    the tokens and merges llama.cpp stores, in GPT-2's byte-to-unicode spelling)."""
    lines = gzip.open(vocab_file, "rt", encoding="utf-8").read().split("\n")
    i = lines.index(next(l for l in lines if l.startswith("tokens ")))
    n_tokens = int(lines[i].split(" ")[1])
    tokens = [l.split(" ", 1)[1] for l in lines[i + 1 : i + 1 + n_tokens]]
    j = i + 1 + n_tokens
    n_merges = int(lines[j].split(" ")[1])
    merges = lines[j + 1 : j + 1 + n_merges]
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: k for k, t in enumerate(tokens)}, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def export(model: GPT2, out_dir, vocab_file, dtype=torch.float32):
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), hf_state_dict(model), dtype)
    cfg = hf_config(model)
    cfg["torch_dtype"] = "float32" if dtype == torch.float32 else "float16"
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    write_tokenizer_files(out_dir, vocab_file)


def write_reference_logits(model: GPT2, token_ids, out_dir):
    """PyTorch's float32 logits [len(token_ids), vocab] for a fixed token sequence: reference_tokens.npy
    (int32) and reference_logits.npy (float32) beside the checkpoint."""
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor([token_ids], dtype=torch.long))[0].float().numpy()
    np.save(os.path.join(out_dir, "reference_tokens.npy"), np.asarray(token_ids, dtype=np.int32))
    np.save(os.path.join(out_dir, "reference_logits.npy"), logits.astype(np.float32))
