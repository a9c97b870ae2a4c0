// What an Engine holds. Internal: engine/engine.cpp, and engine/session.cpp (a Session is an
// engine with one sequence, whose KV cache session files and the snapshot prefix cache reach).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "cache/kv_cache.h"
#include "cache/shared_prefix_index.h"
#include "engine/arch/architecture.h"
#include "engine/engine_relay.h"
#include "engine/threading/thread_pool.h"
#include "silica/engine.h"
#include "silica/error.h"

namespace silica {

struct EngineSequence {
    std::unique_ptr<cache::KvCache> kv;
    std::vector<int32_t> history;  // the tokens in kv
    int64_t blocks_offered = 0;    // leading blocks of history already offered to the prefix cache
    int64_t reused = 0;            // tokens taken from the prefix cache
};

struct Engine::Impl {
    std::shared_ptr<const Model> model;
    int64_t n_ctx = 0;
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<arch::Forward> forward;
    cache::KvLayout kv_layout;  // every sequence's
    std::shared_ptr<cache::KvBlockPool> kv_pool;
    std::unique_ptr<cache::SharedPrefixIndex> prefix_cache;  // null without one
    std::map<SequenceId, EngineSequence> sequences;
    SequenceId next_id = 0;
    std::vector<float> logits;             // the last decode()'s rows
    std::vector<int64_t> first_logit_row;  // per input of the last decode(): its first row in logits
    std::vector<int64_t> n_logit_rows;     // per input of the last decode()
    std::unique_ptr<EngineRelay> relay;    // EngineOptions::tp_followers only

    // Rank 0 with followers: sends them the call about to be made (engine_relay.h).
    void relay_call(std::vector<int64_t> call) {
        if (relay && relay->leader()) relay->send(std::move(call));
    }

    EngineSequence& at(SequenceId id) {
        auto it = sequences.find(id);
        if (it == sequences.end()) throw Error("unknown sequence " + std::to_string(id));
        return it->second;
    }
    const EngineSequence& at(SequenceId id) const { return const_cast<Impl*>(this)->at(id); }
};

}  // namespace silica
