// Builds safetensors bytes by hand, independently of the reader: the malformed-file tests, the
// seed-corpus generator and the converter tests use it to write exactly the (broken or varied)
// files they mean. The header is raw text, so a test can write any JSON, or none.
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace silica::safetensors::testing {

// One tensor entry of a header: {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}.
inline std::string entry(std::string_view name, std::string_view dtype, const std::vector<int64_t>& shape,
                         uint64_t begin, uint64_t end) {
    std::string s = "\"" + std::string(name) + "\":{\"dtype\":\"" + std::string(dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

// u64 header length | header | data. `declared_length` overrides the length field when nonzero.
inline std::vector<uint8_t> file_bytes(std::string_view header, const std::vector<uint8_t>& data,
                                       uint64_t declared_length = 0) {
    const uint64_t n = declared_length ? declared_length : header.size();
    std::vector<uint8_t> out(8);
    std::memcpy(out.data(), &n, 8);
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), data.begin(), data.end());
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
    if (!metadata_json.empty()) header += std::string(header.size() > 1 ? "," : "") + "\"__metadata__\":" + std::string(metadata_json);
    header += "}";
    while ((8 + header.size()) % 8) header += ' ';  // data 8-byte aligned, as writers pad it
    return file_bytes(header, data);
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
}

}  // namespace silica::safetensors::testing
