// The collectives a tensor-parallel forward needs between the ranks that each hold a slice of
// every layer (engine/parallel/tensor_split.h): a sum over ranks after each layer's attention and
// feed-forward, and a gather of the output matrix's vocabulary slices into whole logit rows.
//
// The one implementation is MPI (mpi_communicator.cpp, built with SILICA_MPI): every rank runs
// the same program on the same inputs (SPMD), so every rank calls the same collectives in the
// same order, and every rank ends a step with the same full logits and samples the same token.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace silica::parallel {

// What crossed between the ranks, for the figures (bench --tp).
struct CommStats {
    int64_t allreduces = 0, allgathers = 0;
    uint64_t allreduce_bytes = 0;  // payload of this rank's allreduce calls (each float counted once)
    uint64_t allgather_bytes = 0;  // bytes this rank received from the others in allgathers
    double seconds = 0;            // wall time inside collectives (waiting for slower ranks included)
};

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Ranks sharing this machine (to split its cores between them).
    virtual int local_size() const = 0;
    // data[i] = the sum over ranks of data[i], on every rank (the same bits on every rank).
    virtual void allreduce_sum(float* data, size_t n) = 0;
    // Rank r contributes counts[r] floats (`mine`); `all` gets every rank's floats in rank order.
    virtual void allgather(const float* mine, float* all, std::span<const size_t> counts) = 0;
    virtual void barrier() = 0;
    // Rank 0's `data` to every rank (resized to fit). `idle`: the receivers may wait for it
    // indefinitely (a follower waiting for the next request), so they sleep between polls
    // instead of spinning and no timeout applies.
    virtual void broadcast(std::vector<int64_t>& data, bool idle) = 0;
    const CommStats& stats() const { return stats_; }

protected:
    CommStats stats_;
};

// The MPI job this process belongs to (MPI_COMM_WORLD), initializing MPI on first use and
// finalizing it at exit. A collective that waits longer than timeout_s for the other ranks (a
// rank died or hangs) prints one line naming the rank and aborts the whole job, so nothing hangs.
// Throws silica::Error when this build has no MPI (SILICA_MPI=OFF).
std::shared_ptr<Communicator> mpi_world(double timeout_s);

// Whether this build can run tensor-parallel ranks.
bool mpi_available();

}  // namespace silica::parallel
