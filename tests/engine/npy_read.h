// Reads the NumPy .npy files the PyTorch reference checks use (reference_tokens.npy: int32,
// reference_logits.npy: float32; little-endian, C order, format 1.0 or 2.0).
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "silica/error.h"

namespace silica::test {

template <class T>
struct NpyArray {
    std::vector<int64_t> shape;
    std::vector<T> data;
};

// descr: "<f4" or "<i4".
template <class T>
NpyArray<T> read_npy(const std::string& path, const std::string& descr) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open");
    const std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) throw Error(path + ": not a .npy file");
    size_t header_len = 0, start = 0;
    if (b[6] == 1) {
        header_len = static_cast<uint8_t>(b[8]) | static_cast<uint8_t>(b[9]) << 8;
        start = 10;
    } else {
        if (b.size() < 12) throw Error(path + ": truncated");
        uint32_t n;
        std::memcpy(&n, b.data() + 8, 4);
        header_len = n;
        start = 12;
    }
    if (start + header_len > b.size()) throw Error(path + ": truncated header");
    const std::string header(b.data() + start, header_len);
    if (header.find("'descr': '" + descr + "'") == std::string::npos) throw Error(path + ": expected dtype " + descr);
    if (header.find("'fortran_order': False") == std::string::npos) throw Error(path + ": expected C order");
    NpyArray<T> a;
    const size_t open = header.find("'shape': (");
    if (open == std::string::npos) throw Error(path + ": no shape");
    size_t p = open + 10;
    while (p < header.size() && header[p] != ')') {
        if (header[p] >= '0' && header[p] <= '9') {
            size_t used = 0;
            a.shape.push_back(std::stoll(header.substr(p), &used));
            p += used;
        } else {
            ++p;
        }
    }
    int64_t n = 1;
    for (int64_t d : a.shape) n *= d;
    const size_t data_start = start + header_len;
    if (b.size() - data_start != static_cast<size_t>(n) * sizeof(T)) throw Error(path + ": data size does not match the shape");
    a.data.resize(static_cast<size_t>(n));
    std::memcpy(a.data.data(), b.data() + data_start, a.data.size() * sizeof(T));
    return a;
}

}  // namespace silica::test
