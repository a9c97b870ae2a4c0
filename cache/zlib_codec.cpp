#include "cache/zlib_codec.h"

#include <zlib.h>

#include "silica/error.h"

namespace silica::cache {

namespace {
// Element i's byte k moves to plane k; a tail shorter than one element stays at the end.
std::vector<uint8_t> to_planes(std::span<const uint8_t> raw, int planes) {
    std::vector<uint8_t> out(raw.size());
    const size_t n = raw.size() / planes;
    for (size_t i = 0; i < n; ++i)
        for (int k = 0; k < planes; ++k) out[k * n + i] = raw[i * planes + k];
    std::copy(raw.begin() + n * planes, raw.end(), out.begin() + n * planes);
    return out;
}

std::vector<uint8_t> from_planes(const std::vector<uint8_t>& in, int planes) {
    std::vector<uint8_t> out(in.size());
    const size_t n = in.size() / planes;
    for (size_t i = 0; i < n; ++i)
        for (int k = 0; k < planes; ++k) out[i * planes + k] = in[k * n + i];
    std::copy(in.begin() + n * planes, in.end(), out.begin() + n * planes);
    return out;
}
}  // namespace

std::vector<uint8_t> zlib_compress(std::span<const uint8_t> raw, int level, int byte_planes) {
    std::vector<uint8_t> planar;
    if (byte_planes > 1) {
        planar = to_planes(raw, byte_planes);
        raw = planar;
    }
    uLongf size = compressBound(raw.size());
    std::vector<uint8_t> out(size);
    if (compress2(out.data(), &size, raw.data(), raw.size(), level) != Z_OK)
        throw Error("zlib: compression failed");
    out.resize(size);
    return out;
}

std::vector<uint8_t> zlib_decompress(std::span<const uint8_t> compressed, uint64_t raw_size, const std::string& what,
                                     int byte_planes) {
    std::vector<uint8_t> out;
    try {
        out.resize(raw_size);
    } catch (const std::bad_alloc&) {
        throw OutOfMemory(what + ": cannot allocate " + std::to_string(raw_size) + " bytes to decompress");
    }
    uLongf size = raw_size;
    uLong used = compressed.size();
    const int rc = uncompress2(out.data(), &size, compressed.data(), &used);
    if (rc != Z_OK || size != raw_size || used != compressed.size())
        throw Error(what + ": compressed data is corrupt");
    return byte_planes > 1 ? from_planes(out, byte_planes) : out;
}

}  // namespace silica::cache
