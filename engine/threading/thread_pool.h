// A pool of persistent threads that run one task together: run(task) calls task(i, n) once on
// each of the n threads (the caller is thread 0, workers are 1..n-1) and returns when all are done.
//
// Built for the decode loop, which calls run() hundreds of times per token:
// - dispatch allocates nothing: the task is passed by reference (TaskRef), not as std::function;
// - threads that wait spin for a short while (pause instruction) before sleeping on a futex, so
//   back-to-back runs start within a microsecond or so, yet an idle pool uses no CPU;
// - barrier() lets the threads of one task meet without returning to the caller.
// An exception thrown by the task on any thread is rethrown from run() on the caller (the first
// one, if several threads throw). run() is not reentrant: one caller at a time, never from a task.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/threading/partition.h"
#include "engine/threading/topology.h"

namespace silica {

// A non-owning reference to something callable as f(int thread_index, int n_threads). It must not
// outlive the callable; passing a lambda straight to run() is always safe.
class TaskRef {
public:
    template <typename F, typename = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, TaskRef>>>
    TaskRef(F&& f) noexcept  // NOLINT: implicit on purpose, so run([&](int, int) {...}) works
        : object_(const_cast<void*>(static_cast<const void*>(&f))),
          call_([](void* o, int i, int n) { (*static_cast<std::remove_reference_t<F>*>(o))(i, n); }) {}

    void operator()(int thread_index, int n_threads) const { call_(object_, thread_index, n_threads); }

private:
    void* object_;
    void (*call_)(void*, int, int);
};

enum class PinPolicy {
    none,   // the operating system places threads
    cores,  // one thread per physical core (NUMA distribute plan on the detected topology)
};
// With pinning, a thread that calls run() is bound to thread 0's core the first time it does, and
// stays bound after the pool is gone.

class ThreadPool {
public:
    using Task = TaskRef;

    // n_threads >= 1 (throws silica::Error otherwise).
    explicit ThreadPool(int n_threads, PinPolicy pin = PinPolicy::none);
    // Threads placed by a NUMA plan made for `topology` (threads are pinned unless the plan's mode
    // is none or the topology is synthetic).
    ThreadPool(const Topology& topology, const NumaPlan& plan);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int n_threads() const { return n_threads_; }
    const NumaPlan& plan() const { return plan_; }
    // How many threads (caller included, once it has called run()) were pinned as the plan asked.
    int n_pinned() const { return n_pinned_.load(); }

    void run(Task task);

    // Inside a task only, and called by every thread of the pool the same number of times: returns
    // on each thread once all threads have reached it. If another thread's task has thrown, throws
    // so that this thread unwinds too (run() then rethrows the original exception).
    void barrier();

    // How long a waiting thread spins before it sleeps (default 50 µs; 0 when the pool has more
    // threads than the process has CPUs).
    void set_spin_ns(int64_t ns) { spin_ns_.store(ns, std::memory_order_relaxed); }

private:
    void start_workers();
    void worker_main(int index);
    void pin_this_thread(int index);
    void run_task_on_this_thread(int index);
    void record_failure();

    int n_threads_ = 1;
    NumaPlan plan_;
    std::vector<std::thread> workers_;
    std::atomic<int64_t> spin_ns_{50'000};
    std::atomic<int> n_pinned_{0};
    std::optional<Topology> topology_;  // set only when threads are to be pinned
    std::thread::id pinned_caller_{};   // the caller thread last pinned as thread 0

    // Each atomic below sits on its own cache line so spinning threads do not slow the writer.
    alignas(64) std::atomic<uint32_t> start_epoch_{0};    // bumped by run() to start a task
    alignas(64) std::atomic<uint32_t> start_sleepers_{0};  // workers asleep on start_epoch_
    alignas(64) std::atomic<uint32_t> n_running_{0};       // workers still in the current task
    alignas(64) std::atomic<uint32_t> done_epoch_{0};      // bumped by the last worker to finish
    alignas(64) std::atomic<uint32_t> done_sleepers_{0};
    alignas(64) std::atomic<uint32_t> barrier_arrived_{0};
    alignas(64) std::atomic<uint32_t> barrier_epoch_{0};
    alignas(64) std::atomic<uint32_t> barrier_sleepers_{0};
    alignas(64) std::atomic<bool> failed_{false};  // a thread's task threw during this run
    std::atomic<bool> running_{false};
    bool stopping_ = false;  // read by workers after start_epoch_ changes
    const Task* task_ = nullptr;
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

}  // namespace silica
