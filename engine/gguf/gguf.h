// GGUF (v2, v3) reader and writer. The reader validates everything before handing out views:
// any malformed file becomes a silica::Error whose message is "<path>: <what is wrong>".
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "quant/types.h"

namespace silica::gguf {

enum class ValueType : uint32_t {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
    BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

struct Value;
// A typed array; arrays may nest (elem_type == ARRAY).
struct Array {
    ValueType elem_type = ValueType::UINT8;
    std::vector<Value> items;
};

// Alternatives are in ValueType order except ARRAY, so value_type() can map them.
struct Value {
    std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string,
                 Array, uint64_t, int64_t, double>
        v;
    ValueType type() const;
    // Numeric conversions; throw silica::Error naming the actual type when not numeric.
    int64_t as_int() const;
    double as_float() const;
    const std::string& as_string() const;  // throws unless STRING
    const Array& as_array() const;         // throws unless ARRAY
};

constexpr uint32_t kMaxDims = 4;
constexpr uint32_t kDefaultAlignment = 32;

struct TensorInfo {
    std::string name;
    TensorType type = TensorType::F32;
    uint32_t n_dims = 0;
    std::array<int64_t, kMaxDims> ne{1, 1, 1, 1};  // ne[0] is the contiguous (row) dimension
    uint64_t offset = 0;                            // relative to the data section
    uint64_t nbytes = 0;
    const uint8_t* data = nullptr;                  // zero-copy view into the mapped file
    int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

struct OpenOptions {
    bool use_mmap = true;  // false: read the whole file into private memory (--no-mmap)
};

class File {
public:
    // Throws silica::Error("<path>: <problem>") on any I/O or validation failure.
    static File open(const std::string& path, OpenOptions options = {});
    // Parse from bytes already in memory (used by the fuzzer); `name` is used in messages. The
    // tensor views point into `bytes`, which must outlive the File.
    static File parse(std::span<const uint8_t> bytes, const std::string& name);

    File(File&&) noexcept;
    File& operator=(File&&) noexcept;
    ~File();

    const std::string& path() const;
    uint32_t version() const;
    uint64_t file_size() const;
    uint32_t alignment() const;
    uint64_t data_offset() const;  // start of the tensor data section in the file

    // Metadata in file order.
    const std::vector<std::pair<std::string, Value>>& metadata() const;
    const Value* find(std::string_view key) const;  // nullptr if absent
    // Typed getters: std::nullopt-like behaviour through `fallback`; throw if present but wrong type.
    int64_t get_int(std::string_view key, int64_t fallback) const;
    double get_float(std::string_view key, double fallback) const;
    std::string get_string(std::string_view key, const std::string& fallback) const;
    bool get_bool(std::string_view key, bool fallback) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }
    std::vector<std::string> get_string_array(std::string_view key) const;  // throws if absent
    std::vector<int64_t> get_int_array(std::string_view key) const;         // throws if absent
    std::vector<double> get_float_array(std::string_view key) const;        // throws if absent

    const std::vector<TensorInfo>& tensors() const;
    const TensorInfo* tensor(std::string_view name) const;  // nullptr if absent

    // Base of the whole file (mapped or read); release_pages() may be used on parts of it.
    const uint8_t* bytes() const;
    // Drops the whole pages inside [offset, offset + length) of the file from memory, e.g. once a
    // tensor has been repacked elsewhere (see MappedFile::release: never read them again with
    // --no-mmap). A no-op for parse()d bytes. Returns the bytes released.
    size_t release_pages(uint64_t offset, uint64_t length) const;
    // Reads [offset, offset + length) of a mapped file into the page cache without mapping it
    // (MappedFile::read_into_page_cache). Returns the bytes read.
    size_t read_into_page_cache(uint64_t offset, uint64_t length) const;

private:
    struct Impl;
    explicit File(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Streams a GGUF v3 file: header and tensor table first, then each tensor's data produced on
// demand by its fill callback, so multi-gigabyte models are written without holding them.
class Writer {
public:
    using Fill = std::function<void(std::span<uint8_t> out)>;  // out.size() == tensor bytes

    void set_alignment(uint32_t alignment);
    void set(const std::string& key, Value value);  // replaces an existing key in place
    void set(const std::string& key, const std::string& s) { set(key, Value{s}); }
    void set(const std::string& key, const char* s) { set(key, Value{std::string(s)}); }
    void set_u32(const std::string& key, uint32_t x) { set(key, Value{x}); }
    void set_i32(const std::string& key, int32_t x) { set(key, Value{x}); }
    void set_f32(const std::string& key, float x) { set(key, Value{x}); }
    void set_bool(const std::string& key, bool x) { set(key, Value{x}); }
    void set_strings(const std::string& key, const std::vector<std::string>& xs);
    void set_i32s(const std::string& key, const std::vector<int32_t>& xs);
    void set_f32s(const std::string& key, const std::vector<float>& xs);

    // dims in ggml order (dims[0] = row length). Throws if the row length is not a multiple of
    // the type's block size or the name is a duplicate.
    void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> dims, Fill fill);
    void add_tensor(const std::string& name, TensorType type, std::vector<int64_t> dims,
                    std::vector<uint8_t> bytes);

    // Writes to `path` (via a temporary file renamed into place); throws silica::Error.
    void write(const std::string& path) const;
    // Writes the whole file into memory (tests, small files).
    std::vector<uint8_t> write_to_memory() const;

    class Sink;  // where write() and write_to_memory() send the bytes (defined in writer.cpp)

private:
    void write_to(Sink& sink) const;

    struct PendingTensor {
        std::string name;
        TensorType type;
        std::vector<int64_t> dims;
        uint64_t nbytes;
        Fill fill;
    };
    uint32_t alignment_ = kDefaultAlignment;
    std::vector<std::pair<std::string, Value>> metadata_;
    std::vector<PendingTensor> tensors_;
};

}  // namespace silica::gguf
