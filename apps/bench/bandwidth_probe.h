// A short memory read-bandwidth probe: the denominator of the decode roofline.
#pragma once
#include <cstdint>

namespace silica::bench {

struct Bandwidth {
    double gb_per_s = 0.0;     // best pass: buffer bytes / seconds, in 10^9 bytes per second
    uint64_t buffer_bytes = 0;
    int passes = 0;
    int threads = 0;
    double seconds = 0.0;      // wall time of the whole probe, including filling the buffer
};

// Fills a buffer of `buffer_bytes` with ordinary pages (each thread writes its own slice, so on
// NUMA machines the pages land on the node of the thread that reads them), then has `threads`
// threads read their slices up to `passes` times (fewer once 1.5 s have gone by; at least once),
// timing each pass from a common start to the last thread's end, and reports the fastest pass.
// The buffer is returned to the OS before returning, so it shows in the peak RSS only if that is
// read afterwards. Throws silica::Error if the memory is not there.
Bandwidth measure_read_bandwidth(int threads, uint64_t buffer_bytes = uint64_t{1} << 30, int passes = 5);

}  // namespace silica::bench
