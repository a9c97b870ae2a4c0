// GGUF v3 writer. The header and tensor table are written first; then each tensor's bytes are
// produced by its fill callback into one reusable buffer and streamed out, so a multi-gigabyte
// file never has to be held in memory.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/gguf/format.h"
#include "engine/gguf/gguf.h"
#include "silica/error.h"

namespace silica::gguf {

// Where serialized bytes go; counts them so padding can be computed.
class Writer::Sink {
public:
    virtual ~Sink() = default;
    void put(const void* p, size_t n) {
        if (n == 0) return;
        write_bytes(static_cast<const uint8_t*>(p), n);
        written_ += n;
    }
    template <class T>
    void put_scalar(T x) {
        put(&x, sizeof(T));
    }
    void put_string(const std::string& s) {
        put_scalar<uint64_t>(s.size());
        put(s.data(), s.size());
    }
    void pad_to(uint64_t alignment) {
        static const uint8_t kZeros[256] = {};
        uint64_t target = (written_ + alignment - 1) / alignment * alignment;
        while (written_ < target) put(kZeros, static_cast<size_t>(std::min<uint64_t>(target - written_, sizeof kZeros)));
    }
    uint64_t written() const { return written_; }

protected:
    virtual void write_bytes(const uint8_t* p, size_t n) = 0;

private:
    uint64_t written_ = 0;
};

namespace {

class MemorySink final : public Writer::Sink {
public:
    explicit MemorySink(std::vector<uint8_t>& out) : out_(out) {}

protected:
    void write_bytes(const uint8_t* p, size_t n) override {
        const size_t old_size = out_.size();
        out_.resize(old_size + n);
        std::memcpy(out_.data() + old_size, p, n);
    }

private:
    std::vector<uint8_t>& out_;
};

// Buffered writes to a file descriptor (small header items are batched; big tensors go straight
// through).
class FileSink final : public Writer::Sink {
public:
    FileSink(int fd, const std::string& path) : fd_(fd), path_(path) { buffer_.reserve(kBufferBytes); }
    void flush() {
        write_all(buffer_.data(), buffer_.size());
        buffer_.clear();
    }

protected:
    void write_bytes(const uint8_t* p, size_t n) override {
        if (buffer_.size() + n > kBufferBytes) flush();
        if (n >= kBufferBytes) {
            write_all(p, n);
        } else {
            buffer_.insert(buffer_.end(), p, p + n);
        }
    }

private:
    static constexpr size_t kBufferBytes = size_t{1} << 20;

    void write_all(const uint8_t* p, size_t n) {
        while (n > 0) {
            ssize_t k = ::write(fd_, p, std::min<size_t>(n, size_t{1} << 30));
            if (k < 0) {
                if (errno == EINTR) continue;
                throw Error(path_ + ": write failed: " + std::strerror(errno));
            }
            p += k;
            n -= static_cast<size_t>(k);
        }
    }

    int fd_;
    const std::string& path_;
    std::vector<uint8_t> buffer_;
};

bool is_integer_type(ValueType t) {
    return t != ValueType::FLOAT32 && t != ValueType::FLOAT64 && t != ValueType::BOOL && t != ValueType::STRING &&
           t != ValueType::ARRAY;
}

// A value the reader would refuse (mixed-type or too deeply nested arrays) is refused here too.
void check_value(const std::string& key, const Value& v, int depth) {
    if (v.type() != ValueType::ARRAY) return;
    if (depth + 1 > kMaxArrayDepth)
        throw Error("gguf writer: metadata key '" + key + "': arrays nested deeper than " +
                    std::to_string(kMaxArrayDepth) + " levels");
    const Array& a = std::get<Array>(v.v);
    for (const Value& item : a.items) {
        if (item.type() != a.elem_type)
            throw Error("gguf writer: metadata key '" + key + "': " + value_type_name(item.type()) +
                        " element in an array of " + value_type_name(a.elem_type));
        check_value(key, item, depth + 1);
    }
}

void put_value(Writer::Sink& s, const Value& value) {
    std::visit(
        [&s](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>) {
                s.put_string(x);
            } else if constexpr (std::is_same_v<T, Array>) {
                s.put_scalar<uint32_t>(static_cast<uint32_t>(x.elem_type));
                s.put_scalar<uint64_t>(x.items.size());
                for (const Value& item : x.items) put_value(s, item);
            } else if constexpr (std::is_same_v<T, bool>) {
                s.put_scalar<uint8_t>(x ? 1 : 0);
            } else {
                s.put_scalar<T>(x);
            }
        },
        value.v);
}

}  // namespace

void Writer::set_alignment(uint32_t alignment) { set(kAlignmentKey, Value{alignment}); }

void Writer::set(const std::string& key, Value value) {
    check_value(key, value, 0);
    if (key == kAlignmentKey) {
        if (!is_integer_type(value.type()))
            throw Error("gguf writer: general.alignment must be an integer, got " + value_type_name(value.type()));
        int64_t a = value.as_int();
        if (a <= 0 || a > int64_t{1} << 30 || !is_power_of_two(static_cast<uint64_t>(a)))
            throw Error("gguf writer: alignment must be a nonzero power of two, got " + std::to_string(a));
        alignment_ = static_cast<uint32_t>(a);
    }
    for (auto& [k, v] : metadata_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    metadata_.emplace_back(key, std::move(value));
}

void Writer::set_strings(const std::string& key, const std::vector<std::string>& xs) {
    Array a{ValueType::STRING, {}};
    a.items.reserve(xs.size());
    for (const auto& x : xs) a.items.push_back(Value{x});
    set(key, Value{std::move(a)});
}

void Writer::set_i32s(const std::string& key, const std::vector<int32_t>& xs) {
    Array a{ValueType::INT32, {}};
    a.items.reserve(xs.size());
    for (int32_t x : xs) a.items.push_back(Value{x});
    set(key, Value{std::move(a)});
}

void Writer::set_f32s(const std::string& key, const std::vector<float>& xs) {
    Array a{ValueType::FLOAT32, {}};
    a.items.reserve(xs.size());
    for (float x : xs) a.items.push_back(Value{x});
    set(key, Value{std::move(a)});
}

void Writer::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> dims, Fill fill) {
    auto fail = [&](const std::string& problem) { throw Error("gguf writer: tensor '" + name + "': " + problem); };
    for (const auto& t : tensors_)
        if (t.name == name) fail("duplicate tensor name");
    if (dims.empty() || dims.size() > kMaxDims)
        fail("has " + std::to_string(dims.size()) + " dimensions (must be 1 to " + std::to_string(kMaxDims) + ")");
    for (int64_t d : dims)
        if (d <= 0) fail("dimension " + std::to_string(d) + " is not positive");
    if (!fill) fail("no fill function");
    TypeTraits traits = type_traits(type);
    if (dims[0] % traits.block_size != 0)
        fail("row length " + std::to_string(dims[0]) + " is not a multiple of the " + std::string(traits.name) +
             " block size " + std::to_string(traits.block_size));
    int64_t n_elements = 1;
    uint64_t nbytes = static_cast<uint64_t>(dims[0] / traits.block_size);
    bool ok = checked_mul(nbytes, static_cast<uint64_t>(traits.block_bytes), nbytes);
    for (size_t i = 0; i < dims.size(); ++i) {
        ok = ok && !__builtin_mul_overflow(n_elements, dims[i], &n_elements);
        if (i > 0) ok = ok && checked_mul(nbytes, static_cast<uint64_t>(dims[i]), nbytes);
    }
    if (!ok) fail("size overflows");
    tensors_.push_back(PendingTensor{name, type, std::move(dims), nbytes, std::move(fill)});
}

void Writer::add_tensor(const std::string& name, TensorType type, std::vector<int64_t> dims,
                        std::vector<uint8_t> bytes) {
    // std::function must be copyable, so the bytes are shared rather than moved into the lambda.
    auto shared = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    const std::string tensor_name = name;
    add_tensor(name, type, std::move(dims), [shared, tensor_name](std::span<uint8_t> out) {
        if (out.size() != shared->size())
            throw Error("gguf writer: tensor '" + tensor_name + "': got " + std::to_string(shared->size()) +
                        " bytes of data, the shape needs " + std::to_string(out.size()));
        std::copy(shared->begin(), shared->end(), out.begin());
    });
    // Check the size now rather than at write time, when the error would be harder to trace.
    if (shared->size() != tensors_.back().nbytes) {
        uint64_t need = tensors_.back().nbytes;
        tensors_.pop_back();
        throw Error("gguf writer: tensor '" + name + "': got " + std::to_string(shared->size()) +
                    " bytes of data, the shape needs " + std::to_string(need));
    }
}

void Writer::write_to(Sink& s) const {
    s.put(kMagic, 4);
    s.put_scalar<uint32_t>(kVersionWritten);
    s.put_scalar<uint64_t>(tensors_.size());
    s.put_scalar<uint64_t>(metadata_.size());
    for (const auto& [key, value] : metadata_) {
        s.put_string(key);
        s.put_scalar<uint32_t>(static_cast<uint32_t>(value.type()));
        put_value(s, value);
    }
    uint64_t offset = 0;  // each tensor starts at a multiple of the alignment in the data section
    for (const PendingTensor& t : tensors_) {
        s.put_string(t.name);
        s.put_scalar<uint32_t>(static_cast<uint32_t>(t.dims.size()));
        for (int64_t d : t.dims) s.put_scalar<int64_t>(d);
        s.put_scalar<uint32_t>(static_cast<uint32_t>(t.type));
        s.put_scalar<uint64_t>(offset);
        offset = (offset + t.nbytes + alignment_ - 1) / alignment_ * alignment_;
    }
    s.pad_to(alignment_);

    std::vector<uint8_t> buffer;  // reused for every tensor; grows to the largest one
    for (const PendingTensor& t : tensors_) {
        const size_t n = static_cast<size_t>(t.nbytes);
        if (buffer.size() < n) buffer.resize(n);
        std::fill_n(buffer.begin(), n, uint8_t{0});  // bytes a fill leaves untouched are zero, not stale
        t.fill(std::span<uint8_t>(buffer.data(), n));
        s.put(buffer.data(), n);
        s.pad_to(alignment_);
    }
}

std::vector<uint8_t> Writer::write_to_memory() const {
    std::vector<uint8_t> out;
    MemorySink sink(out);
    write_to(sink);
    return out;
}

void Writer::write(const std::string& path) const {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Error(path + ": cannot create " + tmp + ": " + std::strerror(errno));
    try {
        FileSink sink(fd, tmp);
        write_to(sink);
        sink.flush();
        if (::close(fd) != 0) {
            fd = -1;
            throw Error(tmp + ": close failed: " + std::strerror(errno));
        }
        fd = -1;
        if (::rename(tmp.c_str(), path.c_str()) != 0) throw Error(path + ": " + std::strerror(errno));
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
}

}  // namespace silica::gguf
