// How much memory this process holds, read from /proc/self/status (Linux). Anonymous memory is
// private (heap, pools, repacked weights); file-backed memory is mapped file pages (mmap'd model
// weights) that the kernel may drop and re-read under pressure. Reporting both keeps the memory
// accounting honest.
#pragma once
#include <cstdint>

namespace silica {

struct RssInfo {
    bool valid = false;      // false when /proc/self/status could not be read
    uint64_t current = 0;    // VmRSS: resident bytes now
    uint64_t peak = 0;       // VmHWM: the highest VmRSS so far
    uint64_t anonymous = 0;  // RssAnon
    uint64_t file = 0;       // RssFile
    uint64_t shmem = 0;      // RssShmem
};

RssInfo read_rss();

}  // namespace silica
