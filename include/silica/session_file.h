// Session files: a session's tokens, KV cache and last logits on disk, so the next run continues
// where this one stopped (infer --session). A file only loads into a session of the same model
// file (checked by Model::fingerprint()).
//
// Format (little-endian):
//   8 bytes   magic "SILICASS"
//   u32       version (2)
//   u64       model fingerprint
//   u32       byte planes of the payload before deflate (2 for F16/BF16 KV, else 1; zlib_codec.h)
//   u64       payload size, uncompressed
//   u64       payload size, compressed (the rest of the file)
//   u64       XXH3-64 of the compressed payload
//   payload, regrouped in byte planes and zlib-compressed:
//     i64 n_tokens, then n_tokens i32 token ids
//     i64 n_logits (0, or n_vocab: the last token's logits), then n_logits f32
//     the KV snapshot of positions [0, n_tokens) (cache/kv_snapshot.h: hot and warm types, shape,
//     per-layer first position and warm tier end, rows in their tier's encoding)
#pragma once
#include <string>

namespace silica {

class Session;

// Writes `path` through a temporary file and a rename. Throws silica::Error on I/O failure.
void save_session_file(const Session& session, const std::string& path);

// Replaces the session's state with the file's: afterwards n_past(), tokens() and logits() are
// as when it was saved. A file from another model, longer than the session's context, or corrupt
// or truncated, is a silica::Error "<path>: …" and leaves the session reset. A different KV
// storage type is converted.
void load_session_file(Session& session, const std::string& path);

}  // namespace silica
