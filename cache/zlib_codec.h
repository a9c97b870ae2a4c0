// zlib compression of KV bytes: the cold tier of the prefix cache and session files.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace silica::cache {

// Deflate at `level` (1 = fastest … 9 = smallest; KV data gains little past 1-3).
// byte_planes > 1 first regroups the data as `byte_planes`-byte elements, all first bytes, then
// all second bytes…: for F16/BF16 rows (2) the sign/exponent bytes, which repeat a lot, end up
// together and deflate well, where interleaved with noisy mantissa bytes they hardly compress.
std::vector<uint8_t> zlib_compress(std::span<const uint8_t> raw, int level = 1, int byte_planes = 1);
// Inflates exactly `raw_size` bytes (and undoes byte_planes, which must match); throws
// silica::Error "<what>: …" when the data is corrupt or does not inflate to exactly raw_size.
std::vector<uint8_t> zlib_decompress(std::span<const uint8_t> compressed, uint64_t raw_size, const std::string& what,
                                     int byte_planes = 1);

}  // namespace silica::cache
