#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "engine/threading/thread_pool.h"
#include "silica/error.h"

using namespace silica;

TEST_CASE("thread pool: run() calls every thread exactly once per call", "[threading]") {
    for (int n : {1, 2, 3, 4}) {
        ThreadPool pool(n);
        REQUIRE(pool.n_threads() == n);
        std::vector<int> calls(static_cast<size_t>(n), 0);  // each slot written by its own thread only
        std::atomic<int> total{0};
        std::atomic<int> bad_n{0};
        const int kRuns = 10'000;
        for (int r = 0; r < kRuns; ++r) {
            pool.run([&](int tid, int nth) {
                if (nth != n) bad_n.fetch_add(1);
                calls[static_cast<size_t>(tid)] += 1;
                total.fetch_add(1, std::memory_order_relaxed);
            });
            // run() has returned, so every thread's work of this call is visible here.
            if (total.load() != (r + 1) * n) FAIL("run " << r << " returned before all threads finished");
        }
        CHECK(bad_n.load() == 0);
        for (int t = 0; t < n; ++t) CHECK(calls[static_cast<size_t>(t)] == kRuns);
    }
}

TEST_CASE("thread pool: workers that fell asleep wake up for the next run", "[threading]") {
    ThreadPool pool(3);
    pool.set_spin_ns(0);  // sleep at once, so every run goes through the futex path
    std::atomic<int> total{0};
    for (int r = 0; r < 200; ++r) pool.run([&](int, int) { total.fetch_add(1); });
    CHECK(total.load() == 600);
}

TEST_CASE("thread pool: the caller is thread 0", "[threading]") {
    ThreadPool pool(2);
    std::thread::id seen;
    pool.run([&](int tid, int) {
        if (tid == 0) seen = std::this_thread::get_id();
    });
    CHECK(seen == std::this_thread::get_id());
}

TEST_CASE("thread pool: barrier() separates phases", "[threading]") {
    for (int n : {1, 2, 4}) {
        for (int64_t spin : {int64_t{50'000}, int64_t{0}}) {
            ThreadPool pool(n);
            pool.set_spin_ns(spin);
            const int kPhases = 200;
            std::vector<int> value(static_cast<size_t>(n), 0);
            std::atomic<int> errors{0};
            pool.run([&](int tid, int nth) {
                for (int phase = 1; phase <= kPhases; ++phase) {
                    value[static_cast<size_t>(tid)] = phase;
                    pool.barrier();
                    // Every thread has written this phase and none has started the next one.
                    for (int t = 0; t < nth; ++t)
                        if (value[static_cast<size_t>(t)] != phase) errors.fetch_add(1);
                    pool.barrier();
                }
            });
            CHECK(errors.load() == 0);
        }
    }
}

TEST_CASE("thread pool: an exception in a task is rethrown by run()", "[threading]") {
    ThreadPool pool(3);
    for (int thrower = 0; thrower < 3; ++thrower) {
        std::atomic<int> ran{0};
        try {
            pool.run([&](int tid, int) {
                ran.fetch_add(1);
                if (tid == thrower) throw std::runtime_error("boom on " + std::to_string(tid));
            });
            FAIL("run() did not throw");
        } catch (const std::runtime_error& e) {
            CHECK(std::string(e.what()) == "boom on " + std::to_string(thrower));
        }
        CHECK(ran.load() == 3);
    }
    // The pool still works afterwards.
    std::atomic<int> total{0};
    pool.run([&](int, int) { total.fetch_add(1); });
    CHECK(total.load() == 3);
}

TEST_CASE("thread pool: a throw before a barrier does not hang the other threads", "[threading]") {
    ThreadPool pool(3);
    std::atomic<int> after_barrier{0};
    REQUIRE_THROWS_WITH(pool.run([&](int tid, int) {
        if (tid == 1) throw Error("failed before the barrier");
        pool.barrier();
        after_barrier.fetch_add(1);
    }),
                        "failed before the barrier");
    CHECK(after_barrier.load() == 0);
    // Barriers work again on the next run.
    std::atomic<int> passed{0};
    pool.run([&](int, int) {
        pool.barrier();
        passed.fetch_add(1);
        pool.barrier();
    });
    CHECK(passed.load() == 3);
}

TEST_CASE("thread pool: run() from inside a task is refused", "[threading]") {
    ThreadPool pool(2);
    REQUIRE_THROWS_AS(pool.run([&](int tid, int) {
        if (tid == 0) pool.run([](int, int) {});
    }),
                      Error);
}

TEST_CASE("thread pool: bad thread counts are refused", "[threading]") {
    CHECK_THROWS_AS(ThreadPool(0), Error);
    CHECK_THROWS_AS(ThreadPool(-3), Error);
}

TEST_CASE("thread pool: pinned pool runs and pins one thread per core", "[threading]") {
    const Topology topo = Topology::detect();
    const int n = std::min(2, topo.physical_cores());
    ThreadPool pool(n, PinPolicy::cores);
    std::atomic<int> total{0};
    for (int r = 0; r < 100; ++r) pool.run([&](int, int) { total.fetch_add(1); });
    CHECK(total.load() == 100 * n);
    // Binding can be refused in restricted containers; when it works, every thread is pinned.
    CHECK((pool.n_pinned() == 0 || pool.n_pinned() == n));
    for (int t = 0; t < n; ++t) CHECK(pool.plan().thread_core[static_cast<size_t>(t)] >= 0);
}

TEST_CASE("thread pool: a pool made from a synthetic NUMA plan runs unpinned", "[threading]") {
    const Topology topo = Topology::from_synthetic("package:2 core:2 pu:1");
    ThreadPool pool(topo, make_numa_plan(topo, 3, NumaMode::distribute));
    std::atomic<int> total{0};
    pool.run([&](int, int nth) { total.fetch_add(nth); });
    CHECK(total.load() == 9);
    CHECK(pool.n_pinned() == 0);
}
