#include <cstdio>
#include <string>

#include "engine/parallel/communicator.h"
#include "silica/error.h"

#if SILICA_HAVE_MPI
// The C API only: without these, Open MPI's mpi.h pulls in its deprecated C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <sched.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace silica::parallel {
namespace {

using Clock = std::chrono::steady_clock;

// MPI_Init once per process, MPI_Finalize when the process ends normally (a static's destructor):
// Open MPI reports a job whose ranks exit without finalizing as failed.
struct MpiRuntime {
    MpiRuntime() {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) {
            int provided = 0;
            // Collectives run on whichever thread drives the engine, one at a time.
            MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
            owned = true;
        }
    }
    ~MpiRuntime() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owned && !finalized) MPI_Finalize();
    }
    bool owned = false;
};

class MpiCommunicator final : public Communicator {
public:
    explicit MpiCommunicator(double timeout_s) : timeout_(timeout_s) {
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
        MPI_Comm local;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
        MPI_Comm_size(local, &local_size_);
        MPI_Comm_free(&local);
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    int local_size() const override { return local_size_; }

    void allreduce_sum(float* data, size_t n) override {
        const auto start = Clock::now();
        MPI_Request request;
        MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &request);
        wait(request, "allreduce", start);
        stats_.allreduces++;
        stats_.allreduce_bytes += n * sizeof(float);
    }

    void allgather(const float* mine, float* all, std::span<const size_t> counts) override {
        const auto start = Clock::now();
        counts_.resize(static_cast<size_t>(size_));
        displs_.resize(static_cast<size_t>(size_));
        int offset = 0;
        for (int r = 0; r < size_; ++r) {
            counts_[r] = static_cast<int>(counts[r]);
            displs_[r] = offset;
            offset += counts_[r];
        }
        MPI_Request request;
        MPI_Iallgatherv(mine, counts_[rank_], MPI_FLOAT, all, counts_.data(), displs_.data(), MPI_FLOAT,
                        MPI_COMM_WORLD, &request);
        wait(request, "allgather", start);
        stats_.allgathers++;
        stats_.allgather_bytes += (static_cast<uint64_t>(offset) - counts[rank_]) * sizeof(float);
    }

    void barrier() override {
        MPI_Request request;
        MPI_Ibarrier(MPI_COMM_WORLD, &request);
        wait(request, "barrier", Clock::now());
    }

    void broadcast(std::vector<int64_t>& data, bool idle) override {
        int64_t n = static_cast<int64_t>(data.size());
        MPI_Request request;
        MPI_Ibcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &request);
        wait(request, "broadcast", Clock::now(), idle && rank_ != 0);
        data.resize(static_cast<size_t>(n));
        MPI_Ibcast(data.data(), static_cast<int>(n), MPI_INT64_T, 0, MPI_COMM_WORLD, &request);
        wait(request, "broadcast", Clock::now());
    }

private:
    // Polls the request; past the timeout, the job is aborted (MPI has no way to cancel a
    // collective, and a peer that died or hangs would otherwise block this rank forever).
    // `idle`: no timeout, and after a millisecond the thread sleeps between polls (a follower
    // waiting for the leader's next operation must not hold a core).
    void wait(MPI_Request& request, const char* what, Clock::time_point start, bool idle = false) {
        for (int spins = 0;; ++spins) {
            int done = 0;
            MPI_Test(&request, &done, MPI_STATUS_IGNORE);
            if (done) break;
            if (spins > 1000) sched_yield();  // a long wait (a slower rank): let it have the core
            if (idle) {
                if (spins > 20000) std::this_thread::sleep_for(std::chrono::microseconds(50));
                continue;
            }
            if ((spins & 1023) == 0 && std::chrono::duration<double>(Clock::now() - start).count() > timeout_) {
                std::fprintf(stderr,
                             "silica: rank %d of %d: an %s waited more than %.0f s for the other ranks "
                             "(a rank died or hangs): aborting the job\n",
                             rank_, size_, what, timeout_);
                std::fflush(stderr);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
        }
        if (!idle) stats_.seconds += std::chrono::duration<double>(Clock::now() - start).count();
    }

    int rank_ = 0, size_ = 1, local_size_ = 1;
    double timeout_;
    std::vector<int> counts_, displs_;
};

}  // namespace

bool mpi_available() { return true; }

std::shared_ptr<Communicator> mpi_world(double timeout_s) {
    static MpiRuntime runtime;  // initialized on first use, finalized at exit
    static std::mutex mutex;
    static std::weak_ptr<Communicator> shared;
    std::lock_guard<std::mutex> lock(mutex);
    if (auto c = shared.lock()) return c;
    auto c = std::make_shared<MpiCommunicator>(timeout_s);
    shared = c;
    return c;
}

}  // namespace silica::parallel

#else  // no MPI in this build

namespace silica::parallel {

bool mpi_available() { return false; }

std::shared_ptr<Communicator> mpi_world(double) {
    throw Error("tensor parallelism needs MPI, and this build has none (configure with -DSILICA_MPI=ON and "
                "libopenmpi-dev installed)");
}

}  // namespace silica::parallel

#endif
