// libFuzzer entry point for the GGUF parser: any input must either parse or throw silica::Error.
// Anything else (a crash, a sanitizer report, another exception type, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/gguf/gguf.h"
#include "silica/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        silica::gguf::File f = silica::gguf::File::parse(std::span<const uint8_t>(data, size), "fuzz.gguf");
        // Touch what a loader would: every metadata value and every tensor's bytes.
        uint64_t checksum = 0;
        for (const auto& [key, value] : f.metadata()) {
            checksum += key.size() + static_cast<uint64_t>(value.type());
            if (value.type() == silica::gguf::ValueType::ARRAY) checksum += value.as_array().items.size();
        }
        for (const auto& t : f.tensors()) {
            if (t.nbytes > 0) checksum += t.data[0] + t.data[t.nbytes - 1];
            checksum += static_cast<uint64_t>(t.n_elements());
        }
        for (const auto& [key, value] : f.metadata()) {
            try {
                checksum += static_cast<uint64_t>(f.get_int(key, 0));
            } catch (const silica::Error&) {
            }
        }
        volatile uint64_t sink = checksum;
        (void)sink;
    } catch (const silica::Error&) {
        // Expected for malformed input.
    }
    return 0;
}
