#include "engine/threading/thread_pool.h"

#include <immintrin.h>  // _mm_pause (SSE2, part of baseline x86-64)
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>

#include "silica/error.h"

namespace silica {
namespace {

// Thrown by barrier() on the threads that must unwind because another thread's task threw.
struct RunAborted {};

void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t>& word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

// Waits until `word` no longer holds `old`: spins for about spin_ns, then sleeps on a futex.
// No sched_yield while spinning: with a low-priority process on the machine (a nice'd build),
// each yield handed it our CPU for up to a scheduler tick, and 2-thread decode of gpt2-124m fell
// from 181 to 39 tokens/s; on a quiet machine dropping the yield measured 5% faster (149-162 ->
// 166-170 tokens/s). Only against equal-priority CPU hogs did the yield help (94 vs 61 tokens/s):
// an oversubscribed machine, where no setting is good.
// `sleepers` counts the threads asleep on `word`, so that bump() only makes a system call when
// someone actually sleeps. Both sides use sequentially consistent operations: either the waiter
// sees the new value, or the bumper sees the waiter in `sleepers`.
void wait_for_change(std::atomic<uint32_t>& word, uint32_t old, std::atomic<uint32_t>& sleepers, int64_t spin_ns) {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point start = Clock::now();
    for (uint32_t i = 1;; ++i) {
        if (word.load(std::memory_order_acquire) != old) return;
        _mm_pause();
        if (i % 64 == 0 &&
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count() > spin_ns)
            break;
    }
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    while (word.load(std::memory_order_seq_cst) == old) futex_wait(word, old);
    sleepers.fetch_sub(1, std::memory_order_relaxed);
}

void bump(std::atomic<uint32_t>& word, std::atomic<uint32_t>& sleepers) {
    word.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) != 0) futex_wake_all(word);
}

}  // namespace

ThreadPool::ThreadPool(int n_threads, PinPolicy pin) {
    if (n_threads < 1) throw Error("a thread pool needs at least one thread (got " + std::to_string(n_threads) + ")");
    n_threads_ = n_threads;
    if (pin == PinPolicy::cores) {
        topology_ = Topology::detect();
        plan_ = make_numa_plan(*topology_, n_threads, NumaMode::distribute);
    } else {
        plan_ = unpinned_plan(n_threads);
    }
    start_workers();
}

ThreadPool::ThreadPool(const Topology& topology, const NumaPlan& plan) : n_threads_(plan.n_threads), plan_(plan) {
    if (n_threads_ < 1 || plan.thread_core.size() != static_cast<size_t>(n_threads_))
        throw Error("thread pool: the NUMA plan is empty or inconsistent");
    if (plan.mode != NumaMode::none && !topology.is_synthetic()) topology_ = topology;
    start_workers();
}

void ThreadPool::start_workers() {
    // With more threads than CPUs, a spinning thread only delays the thread it waits for (which
    // needs that CPU), so oversubscribed pools sleep at once.
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && n_threads_ > CPU_COUNT(&allowed))
        spin_ns_.store(0, std::memory_order_relaxed);
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    try {
        for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
    } catch (const std::system_error& e) {
        stopping_ = true;
        bump(start_epoch_, start_sleepers_);
        for (std::thread& w : workers_) w.join();
        throw Error(std::string("cannot start thread pool workers: ") + e.what());
    }
}

ThreadPool::~ThreadPool() {
    stopping_ = true;  // published to the workers by the release in bump()
    bump(start_epoch_, start_sleepers_);
    for (std::thread& w : workers_) w.join();
}

void ThreadPool::pin_this_thread(int index) {
    if (!topology_) return;
    const int core = plan_.thread_core[static_cast<size_t>(index)];
    if (core >= 0 && topology_->bind_current_thread_to_core(core)) n_pinned_.fetch_add(1);
}

void ThreadPool::worker_main(int index) {
    pin_this_thread(index);
    uint32_t seen = 0;  // no run() can have started before the constructor returned
    for (;;) {
        wait_for_change(start_epoch_, seen, start_sleepers_, spin_ns_.load(std::memory_order_relaxed));
        seen = start_epoch_.load(std::memory_order_acquire);
        if (stopping_) return;
        run_task_on_this_thread(index);
        if (n_running_.fetch_sub(1, std::memory_order_acq_rel) == 1) bump(done_epoch_, done_sleepers_);
    }
}

void ThreadPool::record_failure() {
    {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
    }
    // Release the threads waiting in barrier(): they see failed_ and unwind.
    failed_.store(true, std::memory_order_seq_cst);
    bump(barrier_epoch_, barrier_sleepers_);
}

void ThreadPool::run_task_on_this_thread(int index) {
    try {
        (*task_)(index, n_threads_);
    } catch (const RunAborted&) {
        // Another thread failed first; its exception is the one run() reports.
    } catch (...) {
        record_failure();
    }
}

void ThreadPool::run(Task task) {
    if (running_.exchange(true, std::memory_order_acquire))
        throw Error("ThreadPool::run called while the pool is busy (from inside a task, or from two threads)");
    if (topology_ && pinned_caller_ != std::this_thread::get_id()) {
        pinned_caller_ = std::this_thread::get_id();
        pin_this_thread(0);
    }
    task_ = &task;
    error_ = nullptr;
    failed_.store(false, std::memory_order_relaxed);
    barrier_arrived_.store(0, std::memory_order_relaxed);
    const uint32_t done_before = done_epoch_.load(std::memory_order_relaxed);
    if (n_threads_ > 1) {
        n_running_.store(static_cast<uint32_t>(n_threads_ - 1), std::memory_order_relaxed);
        bump(start_epoch_, start_sleepers_);  // publishes task_ and the resets above
    }
    run_task_on_this_thread(0);
    if (n_threads_ > 1) wait_for_change(done_epoch_, done_before, done_sleepers_, spin_ns_.load(std::memory_order_relaxed));
    task_ = nullptr;
    std::exception_ptr error = std::move(error_);
    error_ = nullptr;
    running_.store(false, std::memory_order_release);
    if (error) std::rethrow_exception(error);
}

void ThreadPool::barrier() {
    if (n_threads_ == 1) return;
    // Read the epoch before checking failed_: a failing thread sets failed_ before it bumps the
    // epoch, so either we see the failure now or we see the epoch change while waiting.
    const uint32_t epoch = barrier_epoch_.load(std::memory_order_seq_cst);
    if (failed_.load(std::memory_order_seq_cst)) throw RunAborted{};
    if (barrier_arrived_.fetch_add(1, std::memory_order_acq_rel) == static_cast<uint32_t>(n_threads_ - 1)) {
        barrier_arrived_.store(0, std::memory_order_relaxed);  // published by the bump
        bump(barrier_epoch_, barrier_sleepers_);
    } else {
        wait_for_change(barrier_epoch_, epoch, barrier_sleepers_, spin_ns_.load(std::memory_order_relaxed));
    }
    if (failed_.load(std::memory_order_seq_cst)) throw RunAborted{};
}

}  // namespace silica
