// Latency of dispatching an empty task to the thread pool: the fixed cost every parallel kernel
// call pays in the decode loop.
#include <benchmark/benchmark.h>

#include <atomic>

#include "engine/threading/thread_pool.h"

namespace {

void BM_EmptyRun(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    silica::ThreadPool pool(n, state.range(1) ? silica::PinPolicy::cores : silica::PinPolicy::none);
    std::atomic<int> sink{0};
    for (auto _ : state) {
        pool.run([&](int tid, int) {
            if (tid < 0) sink.fetch_add(1);  // never true; keeps the task from being optimised away
        });
    }
    state.SetLabel(state.range(1) ? "pinned" : "unpinned");
}
BENCHMARK(BM_EmptyRun)->ArgNames({"threads", "pin"})->Args({1, 0})->Args({2, 0})->Args({2, 1})->UseRealTime();

void BM_RunWithBarrier(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    silica::ThreadPool pool(n);
    for (auto _ : state) {
        pool.run([&](int, int) { pool.barrier(); });
    }
}
BENCHMARK(BM_RunWithBarrier)->ArgNames({"threads"})->Arg(2)->UseRealTime();

// A run after the workers have gone to sleep: what the first parallel call after an idle gap costs.
void BM_RunAfterSleep(benchmark::State& state) {
    silica::ThreadPool pool(2);
    pool.set_spin_ns(0);
    for (auto _ : state) {
        pool.run([](int, int) {});
    }
}
BENCHMARK(BM_RunAfterSleep)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
