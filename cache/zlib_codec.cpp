#include "cache/zlib_codec.h"

#include <zlib.h>

#include "silica/error.h"

namespace silica::cache {

std::vector<uint8_t> zlib_compress(std::span<const uint8_t> raw, int level) {
    uLongf size = compressBound(raw.size());
    std::vector<uint8_t> out(size);
    if (compress2(out.data(), &size, raw.data(), raw.size(), level) != Z_OK)
        throw Error("zlib: compression failed");
    out.resize(size);
    return out;
}

std::vector<uint8_t> zlib_decompress(std::span<const uint8_t> compressed, uint64_t raw_size, const std::string& what) {
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
    return out;
}

}  // namespace silica::cache
