#include "apps/bench/bandwidth_probe.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "silica/error.h"

namespace silica::bench {
namespace {

using Clock = std::chrono::steady_clock;
// Passes stop once this much time has gone by since the probe started (fill included).
constexpr std::chrono::milliseconds kTimeBudget{1500};

// Sums the 64-bit words of [begin, end) with four independent accumulators so the loop is bound
// by loads, not by one long dependency chain. The sum is returned so the reads are not dropped.
uint64_t read_words(const uint64_t* begin, const uint64_t* end) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    const uint64_t* p = begin;
    for (; p + 8 <= end; p += 8) {
        a += p[0] + p[4];
        b += p[1] + p[5];
        c += p[2] + p[6];
        d += p[3] + p[7];
    }
    for (; p < end; ++p) a += *p;
    return a ^ b ^ c ^ d;
}

}  // namespace

Bandwidth measure_read_bandwidth(int threads, uint64_t buffer_bytes, int passes) {
    threads = std::max(threads, 1);
    passes = std::max(passes, 1);
    const uint64_t words = buffer_bytes / sizeof(uint64_t);
    if (words < static_cast<uint64_t>(threads) * 8) throw Error("bandwidth probe buffer too small");
    const auto start = Clock::now();
    // mmap rather than new[]: the pages go back to the OS at munmap, whatever the allocator does.
    void* memory = mmap(nullptr, words * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw Error("bandwidth probe: cannot map " + std::to_string(buffer_bytes) + " bytes");
    // No MADV_HUGEPAGE: with THP defrag in "madvise" mode (Debian's default) the first touch can
    // stall for seconds of memory compaction. Plain pages keep the probe short and predictable.
    auto* buffer = static_cast<uint64_t*>(memory);

    std::vector<double> pass_seconds;
    std::atomic<uint64_t> sink{0};  // the sums end here so the compiler keeps the reads
    std::atomic<bool> stop{false};
    Clock::time_point pass_start;
    // The barrier's completion step runs on one thread when all have arrived, before any is
    // released: it stamps the end of a pass and the start of the next, and ends the probe early
    // once its time budget is spent (a loaded machine), so every thread sees the same decision.
    bool filled = false;
    auto on_phase = [&]() noexcept {
        const auto now = Clock::now();
        if (filled) pass_seconds.push_back(std::chrono::duration<double>(now - pass_start).count());
        filled = true;
        if (static_cast<int>(pass_seconds.size()) >= passes || now - start > kTimeBudget) stop = true;
        pass_start = Clock::now();
    };
    std::barrier sync(threads, on_phase);
    auto worker = [&](int t) {
        const uint64_t first = words * static_cast<uint64_t>(t) / static_cast<uint64_t>(threads);
        const uint64_t last = words * static_cast<uint64_t>(t + 1) / static_cast<uint64_t>(threads);
        for (uint64_t i = first; i < last; ++i) buffer[i] = i;  // first touch by the reading thread
        sync.arrive_and_wait();
        uint64_t local = 0;
        do {  // at least one pass, even when the fill used up the budget
            local += read_words(buffer + first, buffer + last);
            sync.arrive_and_wait();
        } while (!stop.load());
        sink.fetch_add(local, std::memory_order_relaxed);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
    worker(0);
    for (auto& th : pool) th.join();
    munmap(memory, words * sizeof(uint64_t));

    Bandwidth b;
    b.buffer_bytes = words * sizeof(uint64_t);
    b.passes = static_cast<int>(pass_seconds.size());
    b.threads = threads;
    const double best = *std::min_element(pass_seconds.begin(), pass_seconds.end());
    b.gb_per_s = best > 0.0 ? static_cast<double>(b.buffer_bytes) / best / 1e9 : 0.0;
    b.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return b;
}

}  // namespace silica::bench
