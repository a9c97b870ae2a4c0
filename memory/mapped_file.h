// A read-only view of a whole file: either mmap'd (MAP_PRIVATE, read-only) or read() into
// page-aligned private memory (the --no-mmap path). Move-only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace silica {

class MappedFile {
public:
    // Throws silica::Error("<path>: <reason>") when the file cannot be opened, mapped or read.
    static MappedFile open(const std::string& path, bool use_mmap = true);

    MappedFile() = default;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    // Never null, even for an empty file (so spans and memcpy of zero bytes stay well-defined).
    const uint8_t* data() const;
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    bool is_mmapped() const { return mmapped_; }

    // Gives back the memory of the whole pages inside [offset, offset + length) (partial pages at
    // either end are kept, since neighbouring data may still be in use). For a file mapping the
    // pages are re-read from the page cache if touched again; for private memory they read as
    // zeros afterwards, so callers must not read a released range again. Out-of-range parts are
    // ignored. Returns the number of bytes released.
    size_t release(size_t offset, size_t length);
    // Reads [offset, offset + length) of a mapped file into the page cache now, through read()
    // rather than the mapping, so the pages are cached but not mapped (they do not count in RSS)
    // and a later first touch is a minor fault instead of a disk read. For data read by scattered
    // rows later (an embedding). Returns the bytes read: 0 for private memory (already resident)
    // or when the file cannot be read, which only loses the warm-up.
    size_t read_into_page_cache(size_t offset, size_t length) const;

private:
    void reset() noexcept;

    std::string path_;
    uint8_t* base_ = nullptr;  // mmap'd region (file mapping or anonymous private memory)
    size_t size_ = 0;          // file size
    size_t mapped_bytes_ = 0;  // length passed to mmap (0 when nothing is mapped)
    bool mmapped_ = false;     // true: file mapping; false: private copy
};

}  // namespace silica
