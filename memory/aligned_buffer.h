// A move-only heap buffer whose start is aligned (64 bytes by default: one cache line and one
// AVX-512 register; pass 4096 for page alignment). For scratch arenas and activations.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "silica/error.h"

namespace silica {

class AlignedBuffer {
public:
    AlignedBuffer() = default;
    // `bytes` bytes (contents undefined unless zeroed), aligned to `alignment` (a power of two that
    // is a multiple of sizeof(void*)). Throws silica::OutOfMemory, or silica::Error on a bad alignment.
    explicit AlignedBuffer(size_t bytes, size_t alignment = 64, bool zeroed = false) : alignment_(alignment) {
        if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0)
            throw Error("aligned buffer: alignment " + std::to_string(alignment) + " is not a power of two >= " +
                        std::to_string(sizeof(void*)));
        if (bytes == 0) return;
        void* p = nullptr;
        if (posix_memalign(&p, alignment, bytes) != 0 || !p)
            throw OutOfMemory("cannot allocate an aligned buffer of " + std::to_string(bytes) + " bytes");
        data_ = static_cast<std::byte*>(p);
        size_ = bytes;
        if (zeroed) std::memset(data_, 0, bytes);
    }
    AlignedBuffer(AlignedBuffer&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)), alignment_(other.alignment_) {}
    AlignedBuffer& operator=(AlignedBuffer&& other) noexcept {
        if (this != &other) {
            std::free(data_);
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
            alignment_ = other.alignment_;
        }
        return *this;
    }
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    ~AlignedBuffer() { std::free(data_); }

    // Makes sure the buffer holds at least `bytes` bytes; the contents are not kept when it grows.
    void ensure(size_t bytes) {
        if (bytes > size_) *this = AlignedBuffer(bytes, alignment_);
    }

    std::byte* data() { return data_; }
    const std::byte* data() const { return data_; }
    template <typename T>
    T* as() {
        return reinterpret_cast<T*>(data_);
    }
    template <typename T>
    const T* as() const {
        return reinterpret_cast<const T*>(data_);
    }
    size_t size() const { return size_; }
    size_t alignment() const { return alignment_; }
    bool empty() const { return size_ == 0; }

private:
    std::byte* data_ = nullptr;
    size_t size_ = 0;
    size_t alignment_ = 64;
};

}  // namespace silica
