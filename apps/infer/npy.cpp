#include "apps/infer/npy.h"

#include <cstdio>
#include <memory>

#include "silica/error.h"

namespace silica::app {

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
    std::string dims;
    int64_t count = 1;
    for (int64_t d : shape) {
        dims += std::to_string(d) + ",";
        count *= d;
    }
    if (shape.size() > 1) dims.pop_back();  // (n,) for 1-D, (a,b) otherwise
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
    // magic(6) + version(2) + header length(2) + header, padded with spaces to a multiple of 64
    // and ended by a newline, as the format requires.
    const size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
    if (!f) throw Error(path + ": cannot open for writing");
    const unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                        static_cast<unsigned char>(header.size() & 0xff),
                                        static_cast<unsigned char>(header.size() >> 8)};
    bool ok = std::fwrite(preamble, 1, 10, f.get()) == 10 &&
              std::fwrite(header.data(), 1, header.size(), f.get()) == header.size() &&
              std::fwrite(data, sizeof(float), static_cast<size_t>(count), f.get()) == static_cast<size_t>(count);
    ok = std::fflush(f.get()) == 0 && ok;
    if (!ok) throw Error(path + ": write failed");
}

}  // namespace silica::app
