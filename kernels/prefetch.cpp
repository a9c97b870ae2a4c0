#include "kernels/prefetch.h"

#include <atomic>
#include <cstdint>

namespace silica::kernels {
namespace {

std::atomic<bool> g_prefetch{true};

}  // namespace

bool software_prefetch_enabled() { return g_prefetch.load(std::memory_order_relaxed); }

void set_software_prefetch(bool on) { g_prefetch.store(on, std::memory_order_relaxed); }

void prefetch_to_l2(const void* p, size_t bytes) {
    if (bytes == 0 || !software_prefetch_enabled()) return;
    constexpr uintptr_t kLine = 64;
    const uintptr_t first = reinterpret_cast<uintptr_t>(p) & ~(kLine - 1);
    const uintptr_t end = reinterpret_cast<uintptr_t>(p) + bytes;
    for (uintptr_t a = first; a < end; a += kLine) __builtin_prefetch(reinterpret_cast<const void*>(a), 0, 2);
}

}  // namespace silica::kernels
