// Little-endian binary writing and bounds-checked reading for the formats the cache room stores
// (KV snapshots, session files). A reader never reads past its end: it throws silica::Error
// "<what>: truncated" instead, so a corrupt file is an error, not a crash.
#pragma once
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "silica/error.h"

namespace silica::cache {

class ByteWriter {
public:
    explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}
    template <typename T>
    void put(T value) {
        static_assert(std::is_trivially_copyable_v<T>);
        put_bytes(&value, sizeof(T));
    }
    void put_bytes(const void* data, size_t n) {
        if (n == 0) return;
        const size_t at = out_.size();
        out_.resize(at + n);
        std::memcpy(out_.data() + at, data, n);
    }

private:
    std::vector<uint8_t>& out_;
};

class ByteReader {
public:
    // `what` names the data in error messages (e.g. the file's path).
    ByteReader(std::span<const uint8_t> bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}
    template <typename T>
    T get() {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        std::memcpy(&value, take(sizeof(T)), sizeof(T));
        return value;
    }
    // The next n bytes, in place.
    const uint8_t* take(uint64_t n) {
        if (n > remaining()) throw Error(what_ + ": truncated");
        const uint8_t* p = bytes_.data() + pos_;
        pos_ += n;
        return p;
    }
    uint64_t remaining() const { return bytes_.size() - pos_; }
    const std::string& what() const { return what_; }

private:
    std::span<const uint8_t> bytes_;
    uint64_t pos_ = 0;
    std::string what_;
};

}  // namespace silica::cache
