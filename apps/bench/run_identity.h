// Where and when a run happened: model file identity, git revision, timestamp.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace silica::bench {

// The number of leading bytes of the model file hashed for its identity: the GGUF header,
// metadata and tensor table are within the first MiB of every model this project uses.
inline constexpr uint64_t kHeaderHashBytes = uint64_t{1} << 20;

struct HeaderHash {
    std::string xxh3_hex;  // XXH3-64 of the bytes, as 16 lowercase hex digits
    uint64_t bytes_hashed = 0;
};

// XXH3-64 of the first min(file size, kHeaderHashBytes) bytes of `path`. Throws silica::Error.
HeaderHash hash_file_header(const std::string& path);

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
