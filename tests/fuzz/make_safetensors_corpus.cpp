// Writes the safetensors seed corpus (tests/fuzz/corpus/safetensors): a few valid files and one of
// each kind of defect, for the fuzzer to start from. Run by hand after changing the format's rules:
//   build/release/tests/fuzz/safetensors_make_corpus tests/fuzz/corpus/safetensors
#include <cstdio>
#include <string>

#include "tests/fuzz/safetensors_bytes.h"

using namespace silica::safetensors::testing;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    auto put = [&](const char* name, const std::vector<uint8_t>& bytes) { write_file(dir + "/" + name + ".bin", bytes); };
    const std::vector<uint8_t> four(16, 0x3f);
    put("ok_two_tensors", build({{"wte.weight", "F32", {2, 2}, four}, {"ln.bias", "F16", {4}, std::vector<uint8_t>(8, 1)}},
                                R"({"format":"pt"})"));
    put("ok_bf16_empty", build({{"a", "BF16", {2}, {0, 0x3f, 0, 0x40}}, {"e", "F32", {0}, {}}}));
    put("ok_scalar", build({{"s", "F32", {}, {0, 0, 0x80, 0x3f}}}));
    put("bad_length", file_bytes("{}", {}, 99));
    put("bad_json", file_bytes("{\"a\":", {}));
    put("bad_not_object", file_bytes("[1]", {}));
    put("bad_dtype", file_bytes(object({entry("w", "I64", {1}, 0, 8)}), std::vector<uint8_t>(8)));
    put("bad_shape", file_bytes(object({entry("w", "F32", {-2}, 0, 8)}), std::vector<uint8_t>(8)));
    put("bad_offsets", file_bytes(object({entry("w", "F32", {4}, 0, 16)}), std::vector<uint8_t>(8)));
    put("bad_size", file_bytes(object({entry("w", "F32", {3}, 0, 8)}), std::vector<uint8_t>(8)));
    put("bad_overlap", file_bytes(object({entry("a", "F32", {2}, 0, 8), entry("b", "F32", {2}, 4, 12)}),
                                  std::vector<uint8_t>(12)));
    put("bad_duplicate", file_bytes(object({entry("a", "F32", {1}, 0, 4), entry("a", "F32", {1}, 4, 8)}),
                                    std::vector<uint8_t>(8)));
    put("bad_metadata", file_bytes(R"({"__metadata__":{"k":[1]}})", {}));
    return 0;
}
