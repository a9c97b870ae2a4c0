// GGUF reader: validates the whole header and tensor table before handing out any view.
//
// Every count and length read from the file is untrusted: it is checked against the bytes that
// remain before anything is allocated or looped over, and all offset arithmetic is
// overflow-checked, so a crafted file fails with a message instead of exhausting memory or time.
#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
#include <unordered_map>

#include "engine/gguf/format.h"
#include "engine/gguf/gguf.h"
#include "memory/mapped_file.h"
#include "silica/error.h"

namespace silica::gguf {

static_assert(std::endian::native == std::endian::little, "GGUF is read by plain loads on little-endian hosts");

namespace {

// What parsing produces; File::Impl adds the mapping that owns the bytes.
struct Contents {
    std::string path;
    const uint8_t* base = nullptr;
    uint64_t size = 0;
    uint32_t version = 0;
    uint32_t alignment = kDefaultAlignment;
    uint64_t data_offset = 0;
    std::vector<std::pair<std::string, Value>> metadata;
    std::unordered_map<std::string, size_t> key_index;
    std::vector<TensorInfo> tensors;
    std::unordered_map<std::string, size_t> tensor_index;
};

bool is_integer_type(ValueType t) {
    switch (t) {
        case ValueType::UINT8: case ValueType::INT8: case ValueType::UINT16: case ValueType::INT16:
        case ValueType::UINT32: case ValueType::INT32: case ValueType::UINT64: case ValueType::INT64: return true;
        default: return false;
    }
}

std::string hex_bytes(const uint8_t* p, size_t n) {
    static const char* const kDigits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += kDigits[p[i] >> 4];
        s += kDigits[p[i] & 15];
    }
    return s;
}

// Sequential little-endian reader over the file's bytes. Errors name the file and, when set,
// the item being read ("metadata key 'x'", "tensor 'y'").
class Parser {
public:
    Parser(const uint8_t* data, uint64_t size, const std::string& name) : data_(data), size_(size), name_(name) {}

    [[noreturn]] void fail(const std::string& problem) const {
        throw Error(name_ + ": " + (context_.empty() ? problem : context_ + ": " + problem));
    }
    void set_context(std::string context) { context_ = std::move(context); }

    uint64_t pos() const { return pos_; }
    uint64_t remaining() const { return size_ - pos_; }

    void need(uint64_t n, const char* what) const {
        if (n > remaining())
            fail("truncated file: " + std::string(what) + " at offset " + std::to_string(pos_) + " needs " +
                 std::to_string(n) + " bytes but only " + std::to_string(remaining()) + " remain");
    }

    template <class T>
    T read(const char* what) {
        need(sizeof(T), what);
        T x;
        std::memcpy(&x, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return x;
    }

    std::string read_string(const char* what) {
        uint64_t len = read<uint64_t>(what);
        if (len > remaining())
            fail("truncated file: " + std::string(what) + " of length " + std::to_string(len) + " at offset " +
                 std::to_string(pos_) + " extends beyond the end of the file (" + std::to_string(remaining()) +
                 " bytes remain)");
        std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
        pos_ += len;
        return s;
    }

    ValueType read_value_type(const char* what) {
        uint32_t raw = read<uint32_t>(what);
        if (raw >= kNumValueTypes) fail("unknown value type " + std::to_string(raw));
        return static_cast<ValueType>(raw);
    }

    Value read_value(ValueType type, int depth) {
        switch (type) {
            case ValueType::UINT8: return Value{read<uint8_t>("uint8 value")};
            case ValueType::INT8: return Value{read<int8_t>("int8 value")};
            case ValueType::UINT16: return Value{read<uint16_t>("uint16 value")};
            case ValueType::INT16: return Value{read<int16_t>("int16 value")};
            case ValueType::UINT32: return Value{read<uint32_t>("uint32 value")};
            case ValueType::INT32: return Value{read<int32_t>("int32 value")};
            case ValueType::FLOAT32: return Value{read<float>("float32 value")};
            // Read as a byte: any nonzero byte is true (a bool object must never hold another value).
            case ValueType::BOOL: return Value{read<uint8_t>("bool value") != 0};
            case ValueType::STRING: return Value{read_string("string value")};
            case ValueType::ARRAY: return Value{read_array(depth + 1)};
            case ValueType::UINT64: return Value{read<uint64_t>("uint64 value")};
            case ValueType::INT64: return Value{read<int64_t>("int64 value")};
            case ValueType::FLOAT64: return Value{read<double>("float64 value")};
        }
        fail("unknown value type " + std::to_string(static_cast<uint32_t>(type)));
    }

    Array read_array(int depth) {
        if (depth > kMaxArrayDepth)
            fail("arrays nested deeper than " + std::to_string(kMaxArrayDepth) + " levels");
        Array a;
        a.elem_type = read_value_type("array element type");
        uint64_t count = read<uint64_t>("array length");
        // Reject a count the rest of the file cannot hold before reserving anything for it.
        uint64_t min_size = min_encoded_size(a.elem_type);
        if (count > remaining() / min_size)
            fail("array of " + std::to_string(count) + " " + value_type_name(a.elem_type) +
                 " elements cannot fit in the remaining " + std::to_string(remaining()) + " bytes of the file");
        a.items.reserve(static_cast<size_t>(count));
        for (uint64_t i = 0; i < count; ++i) a.items.push_back(read_value(a.elem_type, depth));
        return a;
    }

private:
    const uint8_t* data_;
    uint64_t size_;
    uint64_t pos_ = 0;
    const std::string& name_;
    std::string context_;
};

void read_header(Parser& p, const uint8_t* data, uint64_t size, Contents& f) {
    if (size < 4) p.fail("not a GGUF file (only " + std::to_string(size) + " bytes long)");
    if (std::memcmp(data, kMagic, 4) != 0)
        p.fail("not a GGUF file (bad magic " + hex_bytes(data, 4) + ", expected 47 47 55 46 \"GGUF\")");
    p.read<uint32_t>("magic");
    f.version = p.read<uint32_t>("version");
    if (f.version == 1)
        p.fail("GGUF version 1 is not supported (only versions 2 and 3); convert the model again");
    if (f.version != 2 && f.version != 3) {
        std::string hint = (__builtin_bswap32(f.version) == 2 || __builtin_bswap32(f.version) == 3) ? " (a big-endian file?)" : "";
        p.fail("unsupported GGUF version " + std::to_string(f.version) + hint + " (supported: 2, 3)");
    }
}

// The smallest encodings: a key-value pair is an empty key, a type and a 1-byte value; a tensor
// info is an empty name, n_dims, one dimension, a type and an offset.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

void read_metadata(Parser& p, uint64_t kv_count, Contents& f) {
    f.metadata.reserve(static_cast<size_t>(kv_count));
    for (uint64_t i = 0; i < kv_count; ++i) {
        p.set_context("metadata entry #" + std::to_string(i));
        std::string key = p.read_string("metadata key");
        p.set_context("metadata key '" + key + "'");
        if (f.key_index.count(key)) p.fail("duplicate metadata key");
        ValueType type = p.read_value_type("value type");
        Value value = p.read_value(type, 0);
        f.key_index.emplace(key, f.metadata.size());
        f.metadata.emplace_back(std::move(key), std::move(value));
    }
    p.set_context("");

    if (auto it = f.key_index.find(kAlignmentKey); it != f.key_index.end()) {
        const Value& v = f.metadata[it->second].second;
        p.set_context(std::string("metadata key '") + kAlignmentKey + "'");
        if (!is_integer_type(v.type()))
            p.fail("alignment must be an integer, got " + value_type_name(v.type()));
        int64_t a = 0;
        try {
            a = v.as_int();
        } catch (const Error& e) {
            p.fail(e.what());
        }
        if (a <= 0 || a > int64_t{1} << 30 || !is_power_of_two(static_cast<uint64_t>(a)))
            p.fail("alignment must be a nonzero power of two, got " + std::to_string(a));
        f.alignment = static_cast<uint32_t>(a);
        p.set_context("");
    }
}

void read_tensor_infos(Parser& p, uint64_t tensor_count, Contents& f) {
    f.tensors.reserve(static_cast<size_t>(tensor_count));
    for (uint64_t i = 0; i < tensor_count; ++i) {
        p.set_context("tensor #" + std::to_string(i));
        TensorInfo t;
        t.name = p.read_string("tensor name");
        p.set_context("tensor '" + t.name + "'");
        if (f.tensor_index.count(t.name)) p.fail("duplicate tensor name");

        t.n_dims = p.read<uint32_t>("number of dimensions");
        if (t.n_dims == 0 || t.n_dims > kMaxDims)
            p.fail("has " + std::to_string(t.n_dims) + " dimensions (must be 1 to " + std::to_string(kMaxDims) + ")");
        int64_t n_elements = 1;
        for (uint32_t d = 0; d < t.n_dims; ++d) {
            t.ne[d] = p.read<int64_t>("dimension");
            if (t.ne[d] <= 0)
                p.fail("dimension " + std::to_string(d) + " is " + std::to_string(t.ne[d]) + " (must be positive)");
            if (__builtin_mul_overflow(n_elements, t.ne[d], &n_elements)) p.fail("element count overflows int64");
        }

        uint32_t raw_type = p.read<uint32_t>("tensor type");
        auto traits = type_traits(raw_type);
        if (!traits) p.fail("unknown tensor type " + std::to_string(raw_type));
        t.type = traits->type;
        if (t.ne[0] % traits->block_size != 0)
            p.fail("row length " + std::to_string(t.ne[0]) + " is not a multiple of the " + std::string(traits->name) +
                   " block size " + std::to_string(traits->block_size));
        uint64_t nbytes = static_cast<uint64_t>(t.ne[0] / traits->block_size);
        bool ok = checked_mul(nbytes, static_cast<uint64_t>(traits->block_bytes), nbytes);
        for (uint32_t d = 1; d < kMaxDims && ok; ++d) ok = checked_mul(nbytes, static_cast<uint64_t>(t.ne[d]), nbytes);
        if (!ok) p.fail("data size overflows uint64");
        t.nbytes = nbytes;

        t.offset = p.read<uint64_t>("tensor data offset");
        if (t.offset % f.alignment != 0)
            p.fail("data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                   std::to_string(f.alignment));
        f.tensor_index.emplace(t.name, f.tensors.size());
        f.tensors.push_back(std::move(t));
    }
    p.set_context("");
}

// Places every tensor in the data section: inside the file, and not overlapping another.
void check_tensor_data(Parser& p, Contents& f) {
    for (TensorInfo& t : f.tensors) {
        uint64_t begin = 0, end = 0;
        if (!checked_add(f.data_offset, t.offset, begin) || !checked_add(begin, t.nbytes, end) || end > f.size) {
            p.set_context("tensor '" + t.name + "'");
            p.fail("data (offset " + std::to_string(t.offset) + ", " + std::to_string(t.nbytes) +
                   " bytes, data section at " + std::to_string(f.data_offset) + ") extends beyond the end of the file (" +
                   std::to_string(f.size) + " bytes)");
        }
        t.data = f.base + begin;
    }
    std::vector<size_t> order(f.tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f.tensors[a].offset < f.tensors[b].offset; });
    for (size_t i = 1; i < order.size(); ++i) {
        const TensorInfo& a = f.tensors[order[i - 1]];
        const TensorInfo& b = f.tensors[order[i]];
        if (a.offset + a.nbytes > b.offset)  // cannot overflow: checked above
            p.fail("tensors '" + a.name + "' and '" + b.name + "' overlap (bytes " + std::to_string(a.offset) + "+" +
                   std::to_string(a.nbytes) + " and " + std::to_string(b.offset) + "+" + std::to_string(b.nbytes) +
                   " of the data section)");
    }
}

void parse_into(Contents& f) {
    Parser p(f.base, f.size, f.path);
    read_header(p, f.base, f.size, f);
    uint64_t tensor_count = p.read<uint64_t>("tensor count");
    uint64_t kv_count = p.read<uint64_t>("metadata count");
    if (tensor_count > p.remaining() / kMinTensorInfoBytes)
        p.fail("tensor count " + std::to_string(tensor_count) + " is impossible for a file of " + std::to_string(f.size) +
               " bytes");
    if (kv_count > p.remaining() / kMinKvBytes)
        p.fail("metadata count " + std::to_string(kv_count) + " is impossible for a file of " + std::to_string(f.size) +
               " bytes");
    read_metadata(p, kv_count, f);
    read_tensor_infos(p, tensor_count, f);
    if (!checked_align_up(p.pos(), f.alignment, f.data_offset)) p.fail("data section offset overflows");
    check_tensor_data(p, f);
}

[[noreturn]] void fail_key(const Contents& f, std::string_view key, const std::string& problem) {
    throw Error(f.path + ": metadata key '" + std::string(key) + "': " + problem);
}

const Value& require(const Contents& f, const File& file, std::string_view key) {
    const Value* v = file.find(key);
    if (!v) fail_key(f, key, "missing");
    return *v;
}

const Array& require_array(const Contents& f, const File& file, std::string_view key) {
    const Value& v = require(f, file, key);
    if (v.type() != ValueType::ARRAY) fail_key(f, key, "expected an array, got " + value_type_name(v.type()));
    return std::get<Array>(v.v);
}

}  // namespace

struct File::Impl : Contents {
    MappedFile mapped;  // owns the bytes for open(); empty for parse()
};

File::File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::open(const std::string& path, OpenOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->mapped = MappedFile::open(path, options.use_mmap);
    impl->base = impl->mapped.data();
    impl->size = impl->mapped.size();
    parse_into(*impl);
    return File(std::move(impl));
}

File File::parse(std::span<const uint8_t> bytes, const std::string& name) {
    static const uint8_t kEmpty[1] = {0};
    auto impl = std::make_unique<Impl>();
    impl->path = name;
    impl->base = bytes.empty() ? kEmpty : bytes.data();
    impl->size = bytes.size();
    parse_into(*impl);
    return File(std::move(impl));
}

const std::string& File::path() const { return impl_->path; }
uint32_t File::version() const { return impl_->version; }
uint64_t File::file_size() const { return impl_->size; }
uint32_t File::alignment() const { return impl_->alignment; }
uint64_t File::data_offset() const { return impl_->data_offset; }
const uint8_t* File::bytes() const { return impl_->base; }

size_t File::release_pages(uint64_t offset, uint64_t length) const {
    return impl_->mapped.release(static_cast<size_t>(offset), static_cast<size_t>(length));
}

size_t File::read_into_page_cache(uint64_t offset, uint64_t length) const {
    return impl_->mapped.read_into_page_cache(static_cast<size_t>(offset), static_cast<size_t>(length));
}

const std::vector<std::pair<std::string, Value>>& File::metadata() const { return impl_->metadata; }

const Value* File::find(std::string_view key) const {
    auto it = impl_->key_index.find(std::string(key));
    return it == impl_->key_index.end() ? nullptr : &impl_->metadata[it->second].second;
}

int64_t File::get_int(std::string_view key, int64_t fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    try {
        return v->as_int();
    } catch (const Error& e) {
        fail_key(*impl_, key, e.what());
    }
}

double File::get_float(std::string_view key, double fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    try {
        return v->as_float();
    } catch (const Error& e) {
        fail_key(*impl_, key, e.what());
    }
}

std::string File::get_string(std::string_view key, const std::string& fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (v->type() != ValueType::STRING) fail_key(*impl_, key, "expected a string, got " + value_type_name(v->type()));
    return std::get<std::string>(v->v);
}

bool File::get_bool(std::string_view key, bool fallback) const {
    const Value* v = find(key);
    if (!v) return fallback;
    if (v->type() != ValueType::BOOL) fail_key(*impl_, key, "expected a bool, got " + value_type_name(v->type()));
    return std::get<bool>(v->v);
}

std::vector<std::string> File::get_string_array(std::string_view key) const {
    const Array& a = require_array(*impl_, *this, key);
    if (a.elem_type != ValueType::STRING)
        fail_key(*impl_, key, "expected an array of strings, got an array of " + value_type_name(a.elem_type));
    std::vector<std::string> out;
    out.reserve(a.items.size());
    for (const Value& item : a.items) out.push_back(std::get<std::string>(item.v));
    return out;
}

std::vector<int64_t> File::get_int_array(std::string_view key) const {
    const Array& a = require_array(*impl_, *this, key);
    if (!is_integer_type(a.elem_type))
        fail_key(*impl_, key, "expected an array of integers, got an array of " + value_type_name(a.elem_type));
    std::vector<int64_t> out;
    out.reserve(a.items.size());
    try {
        for (const Value& item : a.items) out.push_back(item.as_int());
    } catch (const Error& e) {
        fail_key(*impl_, key, e.what());
    }
    return out;
}

std::vector<double> File::get_float_array(std::string_view key) const {
    const Array& a = require_array(*impl_, *this, key);
    if (!is_integer_type(a.elem_type) && a.elem_type != ValueType::FLOAT32 && a.elem_type != ValueType::FLOAT64)
        fail_key(*impl_, key, "expected an array of numbers, got an array of " + value_type_name(a.elem_type));
    std::vector<double> out;
    out.reserve(a.items.size());
    for (const Value& item : a.items) out.push_back(item.as_float());
    return out;
}

const std::vector<TensorInfo>& File::tensors() const { return impl_->tensors; }

const TensorInfo* File::tensor(std::string_view name) const {
    auto it = impl_->tensor_index.find(std::string(name));
    return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

}  // namespace silica::gguf
