// Builds GGUF bytes by hand, field by field, independently of gguf::Writer: the malformed-file
// tests and the seed-corpus generator use it to write exactly the (broken) bytes they mean.
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace silica::gguf::testing {

class Bytes {
public:
    std::vector<uint8_t> data;

    Bytes& raw(const void* p, size_t n) {
        const size_t old_size = data.size();
        data.resize(old_size + n);
        if (n) std::memcpy(data.data() + old_size, p, n);
        return *this;
    }
    template <class T>
    Bytes& scalar(T x) {
        return raw(&x, sizeof x);
    }
    Bytes& u8(uint8_t x) { return scalar(x); }
    Bytes& u32(uint32_t x) { return scalar(x); }
    Bytes& u64(uint64_t x) { return scalar(x); }
    Bytes& i64(int64_t x) { return scalar(x); }
    Bytes& str(std::string_view s) { return u64(s.size()).raw(s.data(), s.size()); }

    // "GGUF", version, tensor count, metadata count.
    Bytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
        return raw("GGUF", 4).u32(version).u64(n_tensors).u64(n_kv);
    }
    // A key followed by its value type; the caller appends the value.
    Bytes& key(std::string_view k, uint32_t value_type) { return str(k).u32(value_type); }
    Bytes& kv_u32(std::string_view k, uint32_t v) { return key(k, 4).u32(v); }
    Bytes& kv_str(std::string_view k, std::string_view v) { return key(k, 8).str(v); }
    Bytes& tensor_info(std::string_view name, std::vector<int64_t> dims, uint32_t type, uint64_t offset) {
        str(name).u32(static_cast<uint32_t>(dims.size()));
        for (int64_t d : dims) i64(d);
        return u32(type).u64(offset);
    }
    Bytes& pad_to(size_t alignment) {
        while (data.size() % alignment) data.push_back(0);
        return *this;
    }
    Bytes& zeros(size_t n) {
        data.insert(data.end(), n, 0);
        return *this;
    }
    size_t size() const { return data.size(); }
};

}  // namespace silica::gguf::testing
