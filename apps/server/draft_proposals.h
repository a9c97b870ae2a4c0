// Draft-model proposals for many choices at once (silica-server's scheduler). The draft engine
// holds one sequence per drafting choice. A round first brings every sequence in step with its
// choice's text in one batched decode (keeping the longest common prefix, evaluating the rest),
// then proposes greedily: at each depth one batched decode over the choices still proposing, each
// stopping at its k or when the draft's top token is less likely than p_min.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "silica/engine.h"

namespace silica::server {

class DraftProposals {
public:
    // The draft engine must outlive this; only the scheduler's thread uses it.
    DraftProposals(Engine& draft, float p_min) : draft_(draft), p_min_(p_min) {}

    struct Want {
        Engine::SequenceId seq = -1;      // the choice's sequence in the draft engine
        std::span<const int32_t> text;    // the choice's text, its pending token last (not empty)
        int k = 0;                        // most proposals (>= 1; text.size() + k - 1 must fit the draft's context)
        std::vector<int32_t>* out = nullptr;  // proposals are appended here
    };
    // Proposes for every want. Returns the draft decode calls made. Throws what Engine::decode
    // throws (every sequence then keeps valid tokens; the next round catches up again).
    int64_t propose(std::span<const Want> wants);

private:
    Engine& draft_;
    float p_min_;
};

}  // namespace silica::server
