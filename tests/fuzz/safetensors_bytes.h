// Builds safetensors bytes by hand, independently of the reader: the malformed-file tests, the
// seed-corpus generator and the converter tests use it to write exactly the (broken or varied)
// files they mean. The header is raw text, so a test can write any JSON, or none.
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace silica::safetensors::testing {

// One tensor entry of a header: {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}.
inline std::string entry(std::string_view name, std::string_view dtype, const std::vector<int64_t>& shape,
                         uint64_t begin, uint64_t end) {
    // Appended piece by piece (GCC 12 warns falsely about chains of std::string operator+).
    std::string s;
    s.append("\"").append(name).append("\":{\"dtype\":\"").append(dtype).append("\",\"shape\":[");
    for (size_t i = 0; i < shape.size(); ++i) s.append(i ? "," : "").append(std::to_string(shape[i]));
    s.append("],\"data_offsets\":[").append(std::to_string(begin)).append(",").append(std::to_string(end)).append("]}");
    return s;
}

// {entry, entry, ...}
inline std::string object(std::initializer_list<std::string> entries) {
    std::string s = "{";
    for (const auto& e : entries) s.append(s.size() > 1 ? "," : "").append(e);
    return s.append("}");
}

// u64 header length | header | data. `declared_length` overrides the length field when nonzero.
inline std::vector<uint8_t> file_bytes(std::string_view header, const std::vector<uint8_t>& data,
                                       uint64_t declared_length = 0) {
    const uint64_t n = declared_length ? declared_length : header.size();
    std::vector<uint8_t> out(8 + header.size() + data.size());
    std::memcpy(out.data(), &n, 8);
    if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
    if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
    return out;
}

// A valid file: entries given as (name, dtype, shape, raw bytes), laid out back to back in order.
struct Tensor {
    std::string name;
    std::string dtype;  // "F32", "F16", "BF16"
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};

inline std::vector<uint8_t> build(const std::vector<Tensor>& tensors, std::string_view metadata_json = "") {
    std::string header = "{";
    std::vector<uint8_t> data;
    for (const auto& t : tensors) {
        if (header.size() > 1) header += ",";
        header += entry(t.name, t.dtype, t.shape, data.size(), data.size() + t.bytes.size());
        data.insert(data.end(), t.bytes.begin(), t.bytes.end());
    }
    if (!metadata_json.empty()) header.append(header.size() > 1 ? "," : "").append("\"__metadata__\":").append(metadata_json);
    header += "}";
    while ((8 + header.size()) % 8) header += ' ';  // data 8-byte aligned, as writers pad it
    return file_bytes(header, data);
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
}

}  // namespace silica::safetensors::testing
