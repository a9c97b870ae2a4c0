// Safetensors reader (Hugging Face checkpoints). Like the GGUF reader, it validates the whole header
// before handing out views: any malformed file becomes a silica::Error whose message is one line,
// "<path>: <what is wrong>" (naming the tensor when one is at fault).
//
// Layout: u64 little-endian header length N | N bytes of JSON | data section (the rest of the
// file). The JSON is an object: tensor name -> {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets relative to the data section), plus an optional "__metadata__" object of strings.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace silica::safetensors {

// The dtypes a checkpoint of float weights uses; anything else is rejected by name.
enum class DType { F32, F16, BF16 };
const char* dtype_name(DType t);  // "F32", "F16", "BF16"
uint64_t dtype_size(DType t);     // bytes per element

// A header longer than this is certainly not a checkpoint's (GPT-2 XL's is ~15 KB) and would only
// let a crafted file make us parse hundreds of megabytes of JSON.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;   // row-major, outermost first (PyTorch order); may be empty (scalar)
    uint64_t begin = 0, end = 0;  // data_offsets, relative to the data section
    const uint8_t* data = nullptr;  // zero-copy view into the file (unaligned: read with memcpy)
    uint64_t nbytes() const { return end - begin; }
    int64_t n_elements() const;
};

class File {
public:
    // Throws silica::Error("<path>: <problem>") on any I/O or validation failure.
    static File open(const std::string& path);
    // Parses bytes already in memory (tests, the fuzzer); `name` is used in messages. The views
    // point into `bytes`, which must outlive the File.
    static File parse(std::span<const uint8_t> bytes, const std::string& name);

    File(File&&) noexcept;
    File& operator=(File&&) noexcept;
    ~File();

    const std::string& path() const;
    uint64_t data_offset() const;  // 8 + header length
    // "__metadata__" in file order (empty when absent).
    const std::vector<std::pair<std::string, std::string>>& metadata() const;
    // Tensors in header order.
    const std::vector<TensorInfo>& tensors() const;
    const TensorInfo* tensor(std::string_view name) const;  // nullptr if absent

private:
    struct Impl;
    explicit File(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace silica::safetensors
