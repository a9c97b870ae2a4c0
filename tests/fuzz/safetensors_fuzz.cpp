// libFuzzer entry point for the safetensors reader: any input must either parse or throw
// silica::Error. Anything else (a crash, a sanitizer report, another exception type, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/safetensors/safetensors.h"
#include "silica/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const auto f = silica::safetensors::File::parse(std::span<const uint8_t>(data, size), "fuzz.safetensors");
        // Touch what a converter would: every metadata entry, and every tensor's first and last byte.
        uint64_t checksum = 0;
        for (const auto& [key, value] : f.metadata()) checksum += key.size() + value.size();
        for (const auto& t : f.tensors()) {
            if (t.nbytes() > 0) checksum += t.data[0] + t.data[t.nbytes() - 1];
            checksum += static_cast<uint64_t>(t.n_elements()) + (f.tensor(t.name) == &t);
        }
        volatile uint64_t sink = checksum;
        (void)sink;
    } catch (const silica::Error&) {
        // Expected for malformed input.
    }
    return 0;
}
