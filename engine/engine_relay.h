// Tensor parallelism with one driver (EngineOptions::tp_followers): rank 0's Engine sends each
// call that changes its state (sequences created, forked, truncated, freed; decode steps) to the
// other ranks, whose Engine::follow() makes the same calls on their own slices, so their KV caches
// and the collectives inside each forward pass stay in step with rank 0's. For a program that
// only rank 0 drives (silica-server answers requests that reach rank 0 alone); programs that run
// the same calls on every rank (infer, bench) need no relay.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/parallel/communicator.h"

namespace silica {

enum class RelayedCall : int64_t { create, fork, truncate, free, reset, adopt_prefix, decode, stop };

class EngineRelay {
public:
    explicit EngineRelay(std::shared_ptr<parallel::Communicator> comm) : comm_(std::move(comm)) {}
    bool leader() const { return comm_->rank() == 0; }
    // Rank 0: one call, as [RelayedCall, arguments...].
    void send(std::vector<int64_t> call) { comm_->broadcast(call, false); }
    // The other ranks: waits (without spinning) for rank 0's next call.
    std::vector<int64_t> receive() {
        std::vector<int64_t> call;
        comm_->broadcast(call, true);
        return call;
    }

private:
    std::shared_ptr<parallel::Communicator> comm_;
};

}  // namespace silica
