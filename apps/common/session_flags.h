// The flags that shape a Session, shared by the apps that run a model (infer, silica-perplexity),
// so they are spelled, checked and applied the same way everywhere (docs/DESIGN.md §3).
// Header-only: each app's CMake target compiles only its own folder.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "apps/common/environment_settings.h"
#include "silica/model.h"
#include "silica/session.h"

namespace silica::app {

struct SessionFlags {
    int threads = 0;  // 0: one per physical core
    std::string kv_type = "f16";
    int64_t kv_hot = -1;
    double kv_budget_mib = 0;
    std::string numa = "auto";
};

// Adds -t/--threads, --kv-type, --kv-hot, --kv-budget and --numa to `app`, writing into `flags`.
inline void add_session_flags(CLI::App& app, SessionFlags& flags) {
    app.add_option("-t,--threads", flags.threads, "threads (default: physical cores)")->check(CLI::Range(1, 1024));
    app.add_option("--kv-type", flags.kv_type, "KV cache storage type")
        ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
    app.add_option("--kv-hot", flags.kv_hot, "keep the newest N tokens in --kv-type and older KV blocks in q8_0 "
                                             "(the warm tier, about half the bytes of f16)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
    app.add_option("--kv-budget", flags.kv_budget_mib, "MiB the whole context's KV cache must fit in: picks --kv-hot, "
                                                       "and fails if even an all-q8_0 cache would not fit")
        ->check(CLI::PositiveNumber);
    app.add_option("--numa", flags.numa, "thread and weight placement: auto (distribute with several NUMA nodes, "
                                         "else none), none (OS), distribute (pinned across NUMA nodes, each node's "
                                         "rows of the weights on its memory), isolate (pinned to this node)")
        ->check(CLI::IsMember({"auto", "none", "distribute", "isolate"}));
}

// The threads the flags ask for, told to the model's loader: repacked weights are placed on the
// NUMA nodes of the threads that will read them (LoadOptions::n_threads, ::numa).
inline void apply_session_flags(const SessionFlags& flags, LoadOptions& options) {
    options.n_threads = flags.threads;
    options.numa = flags.numa;
}

// The SessionOptions the flags ask for, with a context of n_ctx tokens (0: the model's default).
inline SessionOptions session_options(const SessionFlags& flags, int64_t n_ctx) {
    SessionOptions so;
    so.n_ctx = n_ctx;
    so.n_threads = flags.threads;
    so.kv_type = parse_kv_type(flags.kv_type);
    so.kv_hot_tokens = flags.kv_hot;
    so.kv_budget_bytes = static_cast<uint64_t>(flags.kv_budget_mib * 1024.0 * 1024.0);
    so.numa = flags.numa;
    so.profile = profile_from_environment();
    return so;
}

}  // namespace silica::app
