// zlib compression of KV bytes: the cold tier of the prefix cache and session files.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace silica::cache {

// Deflate at `level` (1 = fastest … 9 = smallest; KV data gains little past 1-3).
std::vector<uint8_t> zlib_compress(std::span<const uint8_t> raw, int level = 1);
// Inflates exactly `raw_size` bytes; throws silica::Error "<what>: …" when the data is corrupt
// or does not inflate to exactly raw_size bytes.
std::vector<uint8_t> zlib_decompress(std::span<const uint8_t> compressed, uint64_t raw_size, const std::string& what);

}  // namespace silica::cache
