// Safetensors reader: validates the header length, the JSON header and every tensor entry (dtype,
// shape, offsets, size, overlaps) before handing out any view.
//
// Every number read from the file is untrusted: the header length is checked against the file
// size and a cap before anything is parsed, and all size arithmetic is overflow-checked.
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "engine/safetensors/safetensors.h"
#include "memory/mapped_file.h"
#include "silica/error.h"

namespace silica::safetensors {

static_assert(std::endian::native == std::endian::little, "safetensors is read by plain loads on little-endian hosts");

namespace {

using Json = nlohmann::ordered_json;  // ordered: tensors() keeps the header's order

struct Contents {
    std::string path;
    const uint8_t* base = nullptr;
    uint64_t size = 0;
    uint64_t data_offset = 0;
    std::vector<std::pair<std::string, std::string>> metadata;
    std::vector<TensorInfo> tensors;
    std::unordered_map<std::string, size_t> tensor_index;
};

[[noreturn]] void fail(const Contents& f, const std::string& problem) { throw Error(f.path + ": " + problem); }
[[noreturn]] void fail_tensor(const Contents& f, const std::string& name, const std::string& problem) {
    fail(f, "tensor '" + name + "': " + problem);
}

// A JSON value as a short, single-line excerpt for messages.
std::string excerpt(const Json& v) {
    std::string s = v.dump(-1, ' ', true, Json::error_handler_t::replace);
    if (s.size() > 40) s = s.substr(0, 37) + "...";
    return s;
}

// nlohmann's message without its "[json.exception...] " tag and with control bytes replaced, so
// the error stays one printable line.
std::string json_message(const std::exception& e) {
    std::string m = e.what();
    if (auto p = m.find("] "); m.rfind("[json.exception", 0) == 0 && p != std::string::npos) m = m.substr(p + 2);
    for (char& c : m)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return m;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

bool parse_dtype(const std::string& s, DType& out) {
    if (s == "F32") out = DType::F32;
    else if (s == "F16") out = DType::F16;
    else if (s == "BF16") out = DType::BF16;
    else return false;
    return true;
}

// Parses the header, rejecting a tensor name that appears twice (plain JSON parsing would keep
// only the last entry and silently leave the first one's bytes unaccounted for).
Json parse_header(const Contents& f, const uint8_t* begin, const uint8_t* end) {
    std::unordered_set<std::string> top_level_keys;
    Json::parser_callback_t check_duplicates = [&](int depth, Json::parse_event_t event, Json& parsed) {
        if (event == Json::parse_event_t::key && depth == 1 && !top_level_keys.insert(parsed.get<std::string>()).second)
            fail(f, "header names '" + parsed.get<std::string>() + "' twice");
        return true;
    };
    try {
        return Json::parse(begin, end, check_duplicates);
    } catch (const Json::exception& e) {
        fail(f, "header is not valid JSON: " + json_message(e));
    }
}

void read_metadata(Contents& f, const Json& m) {
    if (!m.is_object()) fail(f, "\"__metadata__\" must be an object of strings, got " + std::string(m.type_name()));
    for (const auto& [key, value] : m.items()) {
        if (!value.is_string())
            fail(f, "\"__metadata__\" entry '" + key + "' must be a string, got " + std::string(value.type_name()));
        f.metadata.emplace_back(key, value.get<std::string>());
    }
}

// One tensor entry: dtype, shape and offsets, and a size consistent with them.
TensorInfo read_tensor(const Contents& f, const std::string& name, const Json& e, uint64_t data_size) {
    if (!e.is_object()) fail_tensor(f, name, "entry must be an object, got " + std::string(e.type_name()));
    for (const char* field : {"dtype", "shape", "data_offsets"})
        if (!e.contains(field)) fail_tensor(f, name, "missing \"" + std::string(field) + "\"");

    TensorInfo t;
    t.name = name;
    const Json& dtype = e["dtype"];
    if (!dtype.is_string()) fail_tensor(f, name, "dtype must be a string, got " + excerpt(dtype));
    if (!parse_dtype(dtype.get<std::string>(), t.dtype))
        fail_tensor(f, name, "dtype " + dtype.get<std::string>() + " is not supported (only F32, F16, BF16)");

    const Json& shape = e["shape"];
    if (!shape.is_array()) fail_tensor(f, name, "shape must be an array, got " + excerpt(shape));
    uint64_t n_elements = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
        const Json& x = shape[d];
        if (!x.is_number_unsigned() || x.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            fail_tensor(f, name, "shape entry #" + std::to_string(d) + " is " + excerpt(x) + " (must be a non-negative integer)");
        t.shape.push_back(static_cast<int64_t>(x.get<uint64_t>()));
        if (__builtin_mul_overflow(n_elements, x.get<uint64_t>(), &n_elements))
            fail_tensor(f, name, "shape " + excerpt(shape) + " has an element count that overflows");
    }

    const Json& offsets = e["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
        fail_tensor(f, name, "data_offsets must be two non-negative integers, got " + excerpt(offsets));
    t.begin = offsets[0].get<uint64_t>();
    t.end = offsets[1].get<uint64_t>();
    if (t.begin > t.end)
        fail_tensor(f, name, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "] end before they begin");
    if (t.end > data_size)
        fail_tensor(f, name, "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                 "] extend beyond the data section (" + std::to_string(data_size) +
                                 " bytes; truncated file?)");
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(n_elements, dtype_size(t.dtype), &nbytes))
        fail_tensor(f, name, "shape " + shape_string(t.shape) + " has a byte size that overflows");
    if (nbytes != t.nbytes())
        fail_tensor(f, name, "size mismatch: shape " + shape_string(t.shape) + " of " + dtype_name(t.dtype) + " is " +
                                 std::to_string(nbytes) + " bytes but data_offsets span " + std::to_string(t.nbytes()));
    t.data = f.base + f.data_offset + t.begin;
    return t;
}

// No two tensors may share a byte (empty tensors share none).
void check_overlaps(const Contents& f) {
    std::vector<size_t> order(f.tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f.tensors[a].begin < f.tensors[b].begin; });
    const TensorInfo* last = nullptr;  // the non-empty tensor seen so far that ends last
    for (size_t i : order) {
        const TensorInfo& t = f.tensors[i];
        if (t.nbytes() == 0) continue;
        if (last && last->end > t.begin)
            fail_tensor(f, t.name, "overlaps tensor '" + last->name + "' (bytes [" + std::to_string(t.begin) + ", " +
                                       std::to_string(t.end) + ") and [" + std::to_string(last->begin) + ", " +
                                       std::to_string(last->end) + ") of the data section)");
        if (!last || t.end > last->end) last = &t;
    }
}

void parse_into(Contents& f) {
    if (f.size < 8) fail(f, "not a safetensors file (only " + std::to_string(f.size) + " bytes long)");
    uint64_t header_len = 0;
    std::memcpy(&header_len, f.base, 8);
    if (header_len > f.size - 8)
        fail(f, "header length " + std::to_string(header_len) + " extends beyond the end of the file (" +
                    std::to_string(f.size) + " bytes; not a safetensors file, or truncated)");
    if (header_len > kMaxHeaderBytes)
        fail(f, "header length " + std::to_string(header_len) + " is larger than the " +
                    std::to_string(kMaxHeaderBytes >> 20) + " MiB a checkpoint's header can need");
    f.data_offset = 8 + header_len;
    const uint64_t data_size = f.size - f.data_offset;

    const Json header = parse_header(f, f.base + 8, f.base + f.data_offset);
    if (!header.is_object()) fail(f, "header is not a JSON object (got " + std::string(header.type_name()) + ")");
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            read_metadata(f, entry);
            continue;
        }
        f.tensor_index.emplace(name, f.tensors.size());
        f.tensors.push_back(read_tensor(f, name, entry, data_size));
    }
    check_overlaps(f);
}

}  // namespace

const char* dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
    }
    return "?";
}

uint64_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

int64_t TensorInfo::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;  // cannot overflow: checked when the file was read
    return n;
}

struct File::Impl : Contents {
    MappedFile mapped;  // owns the bytes for open(); empty for parse()
};

File::File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

File File::open(const std::string& path) {
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->mapped = MappedFile::open(path);
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
uint64_t File::data_offset() const { return impl_->data_offset; }
const std::vector<std::pair<std::string, std::string>>& File::metadata() const { return impl_->metadata; }
const std::vector<TensorInfo>& File::tensors() const { return impl_->tensors; }

const TensorInfo* File::tensor(std::string_view name) const {
    auto it = impl_->tensor_index.find(std::string(name));
    return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

}  // namespace silica::safetensors
