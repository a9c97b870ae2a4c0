// Allocation and free throughput of the buddy pool against malloc/free, on the same sequences.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "memory/buddy_pool.h"

namespace {

constexpr size_t kCapacity = size_t{256} << 20;

// One allocation immediately freed (the scratch-buffer pattern).
void BM_BuddyAllocFree(benchmark::State& state) {
    silica::BuddyPool::Options opt;
    opt.min_block = 64;
    silica::BuddyPool pool(kCapacity, opt);
    const size_t bytes = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        void* p = pool.allocate(bytes);
        benchmark::DoNotOptimize(p);
        pool.free(p);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BuddyAllocFree)->Arg(64)->Arg(4096)->Arg(1 << 20);

void BM_MallocFree(benchmark::State& state) {
    const size_t bytes = static_cast<size_t>(state.range(0));
    for (auto _ : state) {
        void* p = std::malloc(bytes);
        benchmark::DoNotOptimize(p);
        std::free(p);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MallocFree)->Arg(64)->Arg(4096)->Arg(1 << 20);

// A steady state of about 2000 live blocks of mixed sizes (64 B .. 64 KiB), freed in random order.
struct Op {
    bool alloc;
    size_t bytes_or_slot;
};
std::vector<Op> mixed_ops() {
    std::mt19937_64 rng(1);
    std::vector<Op> ops;
    size_t live = 0;
    for (int i = 0; i < 200'000; ++i) {
        if (live < 2000 || (rng() % 2 && live < 4000)) {
            ops.push_back({true, size_t{64} << (rng() % 11)});
            ++live;
        } else {
            ops.push_back({false, static_cast<size_t>(rng() % live)});
            --live;
        }
    }
    while (live > 0) ops.push_back({false, --live});
    return ops;
}

template <typename Alloc, typename Free>
void replay(const std::vector<Op>& ops, Alloc alloc, Free release) {
    std::vector<void*> live;
    live.reserve(8192);
    for (const Op& op : ops) {
        if (op.alloc) {
            live.push_back(alloc(op.bytes_or_slot));
        } else {
            release(live[op.bytes_or_slot]);
            live[op.bytes_or_slot] = live.back();
            live.pop_back();
        }
    }
}

void BM_BuddyMixed(benchmark::State& state) {
    const std::vector<Op> ops = mixed_ops();
    silica::BuddyPool::Options opt;
    opt.min_block = 64;
    silica::BuddyPool pool(kCapacity, opt);
    for (auto _ : state)
        replay(ops, [&](size_t n) { return pool.allocate(n); }, [&](void* p) { pool.free(p); });
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(ops.size()));
}
BENCHMARK(BM_BuddyMixed)->Unit(benchmark::kMillisecond);

void BM_MallocMixed(benchmark::State& state) {
    const std::vector<Op> ops = mixed_ops();
    for (auto _ : state) replay(ops, [](size_t n) { return std::malloc(n); }, [](void* p) { std::free(p); });
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(ops.size()));
}
BENCHMARK(BM_MallocMixed)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
