// The latency of tensor parallelism's exchanges (engine/parallel/communicator.h), as the engine
// makes them: run under `mpirun -np R exchange_latency` (add `--mca pml ob1 --mca btl self,tcp`
// for TCP). For each payload of a decode step (one residual row of GPT-2 124M or GPT-OSS-20B, and
// 8 rows: 8 sequences decoding together) and the logits gather, prints the median and 90th
// percentile time of one exchange over `reps` (default 2000), measured on rank 0.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/parallel/communicator.h"

namespace {

using Clock = std::chrono::steady_clock;

template <class Exchange>
void measure(silica::parallel::Communicator& comm, const char* what, size_t bytes, int reps, Exchange&& exchange) {
    std::vector<double> us;
    for (int i = 0; i < reps + reps / 10; ++i) {  // the first tenth warms up
        comm.barrier();
        const auto t0 = Clock::now();
        exchange();
        if (i >= reps / 10) us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    if (comm.rank() == 0)
        std::printf("%-44s %9.1f KiB  median %8.1f us  p90 %8.1f us\n", what, bytes / 1024.0, us[us.size() / 2],
                    us[us.size() * 9 / 10]);
}

}  // namespace

int main(int argc, char** argv) {
    const int reps = argc > 1 ? std::atoi(argv[1]) : 2000;
    auto comm = silica::parallel::mpi_world(60.0);
    const int R = comm->size();
    if (comm->rank() == 0) std::printf("exchange latency, %d ranks, %d repetitions each\n", R, reps);
    for (const auto& [name, floats] : std::vector<std::pair<std::string, size_t>>{
             {"allreduce 1 row, GPT-2 124M (768)", 768},
             {"allreduce 8 rows, GPT-2 124M", 8 * 768},
             {"allreduce 1 row, GPT-OSS-20B (2880)", 2880},
             {"allreduce 8 rows, GPT-OSS-20B", 8 * 2880}}) {
        std::vector<float> x(floats, 1.0f);
        measure(*comm, name.c_str(), floats * sizeof(float), reps, [&] { comm->allreduce_sum(x.data(), x.size()); });
    }
    for (const auto& [name, vocab] : std::vector<std::pair<std::string, size_t>>{
             {"gather 1 logit row, GPT-2 (50257)", 50257}, {"gather 1 logit row, GPT-OSS (201088)", 201088}}) {
        std::vector<size_t> counts(R);
        for (int r = 0; r < R; ++r) counts[r] = vocab * (r + 1) / R - vocab * r / R;
        std::vector<float> mine(counts[comm->rank()], 1.0f), all(vocab);
        measure(*comm, name.c_str(), vocab * sizeof(float), reps,
                [&] { comm->allgather(mine.data(), all.data(), counts); });
    }
    return 0;
}
