// silica-perplexity: llama-perplexity's measurement of a model over a text file, and the KL
// divergence of a model from a base model's saved log-probabilities (command-line contract in
// docs/DESIGN.md §3). Exit status: 0 success, 1 runtime error (bad input), 2 usage error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

#include "apps/common/session_flags.h"
#include "apps/perplexity/evaluation.h"
#include "apps/perplexity/kl_base_file.h"
#include "apps/perplexity/report.h"
#include "apps/perplexity/text_input.h"
#include "silica/error.h"
#include "silica/model.h"
#include "silica/session.h"
#include "apps/common/run_main.h"

namespace {

using namespace silica::perplexity;

// llama-perplexity's default chunk size (capped by the model's trained context).
constexpr int64_t kDefaultCtx = 512;
constexpr int64_t kMinCtx = 16;

struct Options {
    std::string model, file, kl_base, kl;
    std::optional<int64_t> ctx_size;
    int64_t chunks = 0;  // 0: every whole chunk of the text
    bool json = false, no_mmap = false;
    silica::app::SessionFlags session;
};

int64_t chunk_size(const Options& o, const silica::ModelParams& p, const KlBaseReader* base) {
    const int64_t n_ctx = o.ctx_size ? *o.ctx_size : base ? base->n_ctx() : std::min(kDefaultCtx, p.n_ctx_train);
    if (n_ctx < kMinCtx)
        throw silica::Error("--ctx-size " + std::to_string(n_ctx) + " is too small (at least " +
                            std::to_string(kMinCtx) + ")");
    if (n_ctx > p.n_ctx_train)
        throw silica::Error("--ctx-size " + std::to_string(n_ctx) + " exceeds the model's context of " +
                            std::to_string(p.n_ctx_train) + " tokens");
    return n_ctx;
}

int run(const Options& o) {
    // The cheap checks first: the text and the base file, before the model loads.
    const std::string text = read_text_file(o.file);
    std::optional<KlBaseReader> base;
    if (!o.kl.empty()) base.emplace(o.kl);

    silica::LoadOptions lo = silica::app::load_options_from_environment();
    lo.use_mmap = !o.no_mmap;
    silica::app::apply_session_flags(o.session, lo);
    auto model = silica::Model::load(o.model, lo);
    const silica::ModelParams& p = model->params();
    if (base) base->check_model(p.n_vocab);
    const int64_t n_ctx = chunk_size(o, p, base ? &*base : nullptr);

    const std::vector<int32_t> tokens = text_tokens(model->tokenizer(), text);
    ChunkPlan plan = plan_chunks(static_cast<int64_t>(tokens.size()), n_ctx, o.chunks);
    if (base) {
        base->check_text(tokens, n_ctx, plan.n_chunks);
        plan.n_chunks = std::min(plan.n_chunks, base->n_chunks());
    }

    silica::Session session(model, silica::app::session_options(o.session, n_ctx));
    std::optional<KlBaseWriter> writer;
    if (!o.kl_base.empty())
        writer.emplace(o.kl_base, p.n_vocab, n_ctx, plan.n_chunks,
                       std::span<const int32_t>(tokens).first(static_cast<size_t>(plan.evaluated_tokens())));

    if (!o.json)
        std::fprintf(stderr, "silica-perplexity: %s: %zu tokens, %lld chunks of %lld, %d threads, KV %s\n",
                     o.file.c_str(), tokens.size(), static_cast<long long>(plan.n_chunks),
                     static_cast<long long>(n_ctx), session.n_threads(), o.session.kv_type.c_str());
    EvalOptions eo;
    eo.save_base = writer ? &*writer : nullptr;
    eo.base = base ? &*base : nullptr;
    if (!o.json)
        eo.on_chunk = [](int64_t chunk, double ppl) {  // llama-perplexity's running values
            std::printf("[%lld]%.4f,", static_cast<long long>(chunk + 1), ppl);
            std::fflush(stdout);
        };
    const EvalResult result = evaluate(session, tokens, plan, eo);
    if (writer) writer->finish();

    RunInfo info;
    info.model = o.model;
    info.text_file = o.file;
    info.kv_type = o.session.kv_type;
    info.threads = session.n_threads();
    info.text_tokens = static_cast<int64_t>(tokens.size());
    info.plan = plan;
    info.saved_base = o.kl_base;
    info.base = o.kl;
    if (o.json) std::cout << report_json(info, result).dump() << "\n";
    else std::cout << "\n" << report_text(info, result);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"silica-perplexity: perplexity of a GGUF model over a text (llama-perplexity's method), and KL "
                 "divergence from a base model"};
    app.add_option("-m,--model", o.model, "GGUF model file")->required();
    app.add_option("-f,--file", o.file, "text file, used byte for byte (UTF-8)")->required();
    app.add_option("-c,--ctx-size", o.ctx_size, "tokens per chunk (default: 512, or the model's context if smaller; "
                                                "with --kl the base file's)");
    app.add_option("--chunks", o.chunks, "evaluate at most N chunks (default: all)")->check(CLI::PositiveNumber);
    auto* save = app.add_option("--kl-base", o.kl_base, "save the model's log-probabilities of the scored positions "
                                                        "to FILE (the base for --kl)");
    auto* compare = app.add_option("--kl", o.kl, "compare with a base file written by --kl-base: both perplexities, "
                                                 "KL divergence, top-1 agreement");
    save->excludes(compare);
    app.add_flag("--json", o.json, "print one JSON object with every figure on stdout");
    app.add_flag("--no-mmap", o.no_mmap, "read the model into memory instead of mapping it");
    silica::app::add_session_flags(app, o.session);
    return silica::app::run_main(app, [&] { app.parse(argc, argv); }, [&] { return run(o); });
}
