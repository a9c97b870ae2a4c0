// silica-server: an OpenAI-compatible HTTP server with continuous batching (docs/SERVER.md).
//
//   silica-server --model M [--host 127.0.0.1] [--port 8080] [--parallel 4] [--ctx-size C] [--api-key K]
//                 [--draft-model D]
//
// The port is bound first (a taken port is an error before anything loads), the model loads
// while /health answers 503, then requests are served. SIGTERM or SIGINT: new requests get 503,
// running ones have --shutdown-grace seconds to finish, then the server exits 0.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <thread>

#include "apps/common/run_main.h"
#include "apps/common/session_flags.h"
#include "apps/common/tensor_parallel_flags.h"
#include "apps/server/http_api.h"
#include "silica/error.h"
#include "silica/speculative.h"
#include "silica/tokenizer.h"

namespace {

struct Flags {
    std::string model;
    std::string host = "127.0.0.1";
    int port = 8080;
    int parallel = 4;
    int64_t ctx_size = 0;
    std::string api_key;
    std::string alias;
    int queue = 64;
    int64_t step_tokens = 512;
    int64_t prefill_chunk = 256;
    int64_t prefix_cache_tokens = 16384;
    int max_n = 8;
    double max_body_mib = 8;
    int timeout_s = 600;
    int shutdown_grace_s = 10;
    int http_threads = 0;
    bool lookup = false;
    int draft_max = 8;
    std::string draft_model;
    float draft_p_min = 0.5f;
    silica::app::SessionFlags session;
    silica::app::TensorParallelFlags tp;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"silica-server: OpenAI-compatible HTTP server (chat completions, completions) with continuous batching"};
    Flags f;
    app.add_option("-m,--model", f.model, "GGUF model file")->required()->check(CLI::ExistingFile);
    app.add_option("--host", f.host, "address to listen on (0.0.0.0: every interface)");
    app.add_option("--port", f.port, "TCP port (0: any free port, printed at start)")->check(CLI::Range(0, 65535));
    app.add_option("--parallel,--np", f.parallel, "sequences decoded together (a request with n choices takes n)")
        ->check(CLI::Range(1, 256));
    app.add_option("-c,--ctx-size", f.ctx_size, "context per sequence (0: the model's, capped at 8192)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
    app.add_option("--api-key", f.api_key, "require 'Authorization: Bearer KEY' on every route but /health and /")
        ->envname("SILICA_API_KEY");
    app.add_option("--alias", f.alias, "model id clients use (default: the file name without .gguf)");
    app.add_option("--queue", f.queue, "requests that may wait for a slot; beyond it: 503")->check(CLI::Range(0, 100000));
    app.add_option("--step-tokens", f.step_tokens, "tokens per engine step (decode rows + prompt chunks)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
    app.add_option("--prefill-chunk", f.prefill_chunk, "prompt tokens per chunk (a multiple of 32)")
        ->check(CLI::Range(int64_t{32}, int64_t{1} << 20));
    app.add_option("--prefix-cache", f.prefix_cache_tokens, "tokens of earlier prompts kept for reuse (0: off)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
    app.add_option("--max-n", f.max_n, "largest 'n' (choices) a request may ask for")->check(CLI::Range(1, 256));
    app.add_option("--max-body", f.max_body_mib, "largest request body, MiB")->check(CLI::Range(0.001, 1024.0));
    app.add_option("--timeout", f.timeout_s, "seconds a request may take, queue included")->check(CLI::Range(1, 1 << 24));
    app.add_option("--shutdown-grace", f.shutdown_grace_s, "seconds running requests get to finish on SIGTERM")
        ->check(CLI::Range(0, 3600));
    app.add_flag("--lookup", f.lookup,
                 "speculative decoding by n-gram lookup for requests that do not say (\"lookup\": false turns it off); "
                 "same text, fewer passes on copy-heavy answers");
    app.add_option("--draft-max", f.draft_max, "most tokens proposed per verify pass, for requests that do not say")
        ->check(CLI::Range(1, 64));
    app.add_option("--draft-model,--md", f.draft_model,
                   "draft model (same vocabulary) for speculative decoding: requests use it unless they send \"draft\": false")
        ->check(CLI::ExistingFile);
    app.add_option("--draft-p-min", f.draft_p_min, "the draft proposes only tokens it gives at least this probability")
        ->check(CLI::Range(0.0f, 1.0f));
    app.add_option("--http-threads", f.http_threads, "connection threads (0: parallel + queue + 16)")->check(CLI::Range(0, 4096));
    silica::app::add_session_flags(app, f.session);
    silica::app::add_tensor_parallel_flags(app, f.tp);

    // The engine every rank builds (rank 0 drives it; under --tp the others follow it).
    auto engine_options = [&] {
        silica::EngineOptions eo;
        eo.n_ctx = f.ctx_size;
        eo.n_threads = f.session.threads;
        eo.kv_type = silica::parse_kv_type(f.session.kv_type);
        eo.kv_hot_tokens = f.session.kv_hot;
        eo.kv_budget_bytes = static_cast<uint64_t>(f.session.kv_budget_mib * 1024.0 * 1024.0);
        eo.numa = f.session.numa;
        eo.kv_pool_sequences = f.parallel + 1;  // the running sequences, and room for the prefix cache
        eo.prefix_cache_tokens = f.prefix_cache_tokens;
        eo.tp_followers = f.tp.enabled;
        return eo;
    };

    return silica::app::run_main(
        app,
        [&] {
            app.parse(argc, argv);
            if (f.prefill_chunk % 32 != 0) throw CLI::ValidationError("--prefill-chunk", "must be a multiple of 32");
            if (!f.draft_model.empty() && f.lookup)
                throw CLI::ValidationError("--lookup", "and --draft-model are both speculation defaults: choose one proposer");
            if (!f.draft_model.empty() && f.tp.enabled) throw CLI::ValidationError("--draft-model", "does not work with --tp");
        },
        [&]() -> int {
            using namespace silica::server;
            // Signals are taken by sigwait below, not by handlers: block them before any thread starts.
            sigset_t stop_signals;
            sigemptyset(&stop_signals);
            sigaddset(&stop_signals, SIGTERM);
            sigaddset(&stop_signals, SIGINT);
            sigaddset(&stop_signals, SIGUSR1);  // the loader's "done"
            pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
            signal(SIGPIPE, SIG_IGN);

            // --tp: every rank loads its slice first; rank 0 serves, and the other ranks' engines
            // follow its engine's calls until it stops (SIGTERM reaches them too: blocked above).
            std::shared_ptr<silica::Model> tp_model;
            if (f.tp.enabled) {
                silica::LoadOptions lo;
                silica::app::apply_session_flags(f.session, lo);
                silica::app::apply_tensor_parallel_flags(f.tp, lo);
                tp_model = silica::Model::load(f.model, lo);
                if (tp_model->tp_rank() != 0) {
                    silica::Engine follower(tp_model, engine_options());
                    follower.follow();
                    return 0;
                }
            }

            ServerState state;
            state.created = static_cast<int64_t>(std::time(nullptr));
            state.config.model_id = f.alias.empty() ? std::filesystem::path(f.model).stem().string() : f.alias;
            state.config.api_key = f.api_key;
            state.config.max_body_bytes = static_cast<size_t>(f.max_body_mib * 1024 * 1024);
            state.config.limits.max_n = std::min(f.max_n, f.parallel);
            state.config.request_timeout = std::chrono::seconds(f.timeout_s);
            state.config.lookup = f.lookup;
            state.config.draft_max = f.draft_max;
            state.config.draft_model = !f.draft_model.empty();

            httplib::Server http;
            const size_t threads = f.http_threads > 0 ? static_cast<size_t>(f.http_threads)
                                                      : static_cast<size_t>(f.parallel + f.queue + 16);
            http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
            install_routes(http, state);
            const int port = f.port == 0 ? http.bind_to_any_port(f.host) : (http.bind_to_port(f.host, f.port) ? f.port : -1);
            if (port < 0) throw silica::Error("cannot listen on " + f.host + ":" + std::to_string(f.port) + " (in use, or not an address of this machine)");
            std::thread listener([&] { http.listen_after_bind(); });
            std::fprintf(stderr, "silica-server: listening on http://%s:%d (loading %s)\n", f.host.c_str(), port, f.model.c_str());
            std::fflush(stderr);

            // Load while /health says 503; a signal during the load ends the process at once.
            std::atomic<bool> load_done{false};
            std::string load_error;
            std::thread loader([&] {
                try {
                    silica::LoadOptions lo;
                    silica::app::apply_session_flags(f.session, lo);  // weights placed for the engine's threads
                    state.model = tp_model ? tp_model : silica::Model::load(f.model, lo);
                    state.engine = std::make_unique<silica::Engine>(state.model, engine_options());
                    if (!f.draft_model.empty()) {
                        state.draft_model = silica::Model::load(f.draft_model, lo);
                        const int64_t nt = state.model->tokenizer().n_vocab(), nd = state.draft_model->tokenizer().n_vocab();
                        if (nt != nd)
                            throw silica::Error("the draft model " + f.draft_model + " has a vocabulary of " + std::to_string(nd) +
                                                " tokens, the model " + f.model + " has " + std::to_string(nt));
                        // One sequence per choice, as the target's, and the target's context (up to
                        // the draft's trained one: the scheduler proposes nothing beyond it). Its
                        // thread pool sleeps while the target's runs (thread_pool.h).
                        silica::EngineOptions deo = engine_options();
                        deo.n_ctx = state.engine->n_ctx();
                        if (state.draft_model->params().n_ctx_train > 0)
                            deo.n_ctx = std::min(deo.n_ctx, state.draft_model->params().n_ctx_train);
                        deo.prefix_cache_tokens = 0;
                        state.draft_engine = std::make_unique<silica::Engine>(state.draft_model, deo);
                    }
                    SchedulerOptions so;
                    so.parallel = f.parallel;
                    so.queue_size = f.queue;
                    so.step_tokens = f.step_tokens;
                    so.prefill_chunk = f.prefill_chunk;
                    so.verify_cost_per_token =
                        silica::AdaptiveDraftLength::cost_per_token(silica::SpeculativeOptions{}, state.model->params().n_expert);
                    so.draft_p_min = f.draft_p_min;
                    if (state.draft_model)
                        so.draft_cost_per_token =
                            silica::AdaptiveDraftLength::proposal_cost(silica::SpeculativeOptions{}, *state.draft_model, *state.model);
                    state.scheduler = std::make_unique<Scheduler>(*state.engine, state.model->tokenizer(), so, state.metrics,
                                                                  state.draft_engine.get());
                    state.ready = true;
                    std::fprintf(stderr, "silica-server: ready: model '%s', %d parallel, context %lld, %d threads%s%s\n",
                                 state.config.model_id.c_str(), f.parallel, static_cast<long long>(state.engine->n_ctx()),
                                 state.engine->n_threads(), state.draft_model ? ", draft model " : "", f.draft_model.c_str());
                } catch (const std::exception& e) {
                    load_error = e.what();
                }
                load_done = true;
                kill(getpid(), SIGUSR1);  // wakes the sigwait below
            });

            int sig = 0;
            for (;;) {
                sigwait(&stop_signals, &sig);
                if (sig != SIGUSR1) break;
                if (!load_error.empty()) break;
            }
            if (!load_done) {  // a signal while loading: nothing to finish
                std::fprintf(stderr, "silica-server: stopped while loading\n");
                std::_Exit(0);
            }
            loader.join();
            int status = 0;
            if (!load_error.empty()) {
                std::fprintf(stderr, "error: %s\n", load_error.c_str());
                status = 1;
            } else {
                std::fprintf(stderr, "silica-server: %s: finishing running requests (up to %d s)\n", strsignal(sig), f.shutdown_grace_s);
            }
            state.draining = true;
            if (state.scheduler) state.scheduler->shutdown(std::chrono::seconds(f.shutdown_grace_s));
            http.stop();
            listener.join();
            if (status == 0) std::fprintf(stderr, "silica-server: stopped\n");
            return status;
        });
}
