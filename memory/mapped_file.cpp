#include "memory/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "silica/error.h"

namespace silica {
namespace {

// Closes a file descriptor when the scope ends (also on exceptions).
struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

[[noreturn]] void throw_errno(const std::string& path, const std::string& what, int err) {
    std::string msg = path + ": ";
    if (!what.empty()) msg += what + ": ";
    throw Error(msg + std::strerror(err));
}

size_t page_size() {
    static const size_t size = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

// The page-aligned interior of [offset, offset + length) clipped to [0, size): begin and end
// are both page-aligned; begin >= end means there is no whole page inside.
std::pair<size_t, size_t> whole_pages(size_t offset, size_t length, size_t size) {
    const size_t page = page_size();
    size_t begin = std::min(offset, size);
    size_t end = (length > size - begin) ? size : begin + length;
    begin = (begin + page - 1) / page * page;  // cannot overflow: begin <= size < SIZE_MAX - page
    end = end / page * page;
    return {begin, end};
}

const uint8_t kEmpty[1] = {0};

}  // namespace

MappedFile MappedFile::open(const std::string& path, bool use_mmap) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno(path, "", errno);
    FdCloser closer{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno(path, "", errno);
    if (S_ISDIR(st.st_mode)) throw Error(path + ": Is a directory");
    if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");

    MappedFile f;
    f.path_ = path;
    f.size_ = static_cast<size_t>(st.st_size);
    if (f.size_ == 0) return f;  // nothing to map; data() points at a static empty buffer

    if (use_mmap) {
        void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) throw_errno(path, "mmap failed", errno);
        f.base_ = static_cast<uint8_t*>(p);
        f.mapped_bytes_ = f.size_;
        f.mmapped_ = true;
        return f;
    }

    // Private copy: anonymous pages (page-aligned, and release() can give them back).
    void* p = ::mmap(nullptr, f.size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw OutOfMemory(path + ": cannot allocate " + std::to_string(f.size_) +
                                           " bytes to read the file: " + std::strerror(errno));
    f.base_ = static_cast<uint8_t*>(p);
    f.mapped_bytes_ = f.size_;
    size_t done = 0;
    while (done < f.size_) {
        // Linux read() transfers at most ~2 GiB per call; ask for at most 1 GiB at a time.
        size_t chunk = std::min<size_t>(f.size_ - done, size_t{1} << 30);
        ssize_t n = ::read(fd, f.base_ + done, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno(path, "read failed", errno);
        }
        if (n == 0) throw Error(path + ": file shrank while being read");
        done += static_cast<size_t>(n);
    }
    return f;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_bytes_(std::exchange(other.mapped_bytes_, 0)),
      mmapped_(std::exchange(other.mmapped_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        reset();
        path_ = std::move(other.path_);
        base_ = std::exchange(other.base_, nullptr);
        size_ = std::exchange(other.size_, 0);
        mapped_bytes_ = std::exchange(other.mapped_bytes_, 0);
        mmapped_ = std::exchange(other.mmapped_, false);
    }
    return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() noexcept {
    if (base_ != nullptr && mapped_bytes_ > 0) ::munmap(base_, mapped_bytes_);
    base_ = nullptr;
    size_ = 0;
    mapped_bytes_ = 0;
    mmapped_ = false;
}

const uint8_t* MappedFile::data() const { return base_ != nullptr ? base_ : kEmpty; }

size_t MappedFile::release(size_t offset, size_t length) {
    if (base_ == nullptr) return 0;
    auto [begin, end] = whole_pages(offset, length, size_);
    if (begin >= end) return 0;
    // Failure only means the pages stay resident, which is harmless, so it is not an error.
    if (::madvise(base_ + begin, end - begin, MADV_DONTNEED) != 0) return 0;
    return end - begin;
}

size_t MappedFile::read_into_page_cache(size_t offset, size_t length) const {
    if (base_ == nullptr || !mmapped_ || offset >= size_) return 0;
    const size_t end = length > size_ - offset ? size_ : offset + length;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    FdCloser closer{fd};
    std::vector<uint8_t> buffer(size_t{8} << 20);
    size_t done = offset;
    while (done < end) {
        const ssize_t n = ::pread(fd, buffer.data(), std::min(buffer.size(), end - done), static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    return done - offset;
}

}  // namespace silica
