// Where and when a run happened: model file identity, git revision, timestamp.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace silica::bench {

// The model file's identity is a hash of its GGUF header: everything before the tensor data
// (magic, version, metadata including the tokenizer, tensor table). It changes when the layout,
// the weight types or the metadata change, and hashing it costs milliseconds even for a 13 GB
// model. Headers above this size are hashed up to it (none of this project's models comes near).
inline constexpr uint64_t kMaxHeaderHashBytes = uint64_t{256} << 20;

struct HeaderHash {
    std::string xxh3_hex;  // XXH3-64 of the bytes, as 16 lowercase hex digits
    uint64_t bytes_hashed = 0;
};

// XXH3-64 of the first min(header_bytes, file size, kMaxHeaderHashBytes) bytes of `path`, where
// header_bytes is the GGUF data offset. Throws silica::Error.
HeaderHash hash_file_header(const std::string& path, uint64_t header_bytes);

// The source revision: the compile definition SILICA_GIT_REVISION if the build set one, else
// `git rev-parse --short=12 HEAD` run in the folder of this executable (a build tree inside the
// checkout), with "-dirty" appended when tracked files have uncommitted changes; "unknown" when
// neither works.
std::string git_revision();

// ISO-8601 UTC with seconds, e.g. "2025-01-31T12:34:56Z".
std::string iso8601_utc(std::chrono::system_clock::time_point t);
// The same instant for file names, e.g. "20250131T123456Z".
std::string compact_utc(std::chrono::system_clock::time_point t);

}  // namespace silica::bench
