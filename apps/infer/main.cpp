// infer: run a GGUF model on a prompt and stream the completion (command-line contract in
// docs/DESIGN §3). Exit status: 0 success, 1 runtime error, 2 usage error.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "apps/infer/chat.h"
#include "apps/infer/default_model.h"
#include "apps/infer/npy.h"
#include "apps/infer/step_printer.h"
#include "memory/rss.h"
#include "silica/error.h"
#include "silica/generation.h"
#include "silica/model.h"
#include "silica/session.h"
#include "silica/session_file.h"
#include "silica/speculative.h"
#include "silica/tokenizer.h"

#include "apps/common/session_flags.h"
#include "apps/common/tensor_parallel_flags.h"
#include "apps/common/run_main.h"

namespace {

using Clock = std::chrono::steady_clock;
std::atomic<bool> g_interrupted{false};

struct Options {
    std::string model, prompt, prompt_file, prompt_tokens, logits_out, session_file;
    int64_t n_predict = 128;
    int64_t ctx_size = 0;
    silica::app::SessionFlags session;  // --threads, --kv-type, --kv-hot, --kv-budget, --numa
    silica::app::TensorParallelFlags tp;  // --tp, --tp-timeout
    bool no_mmap = false, verbose = false, tokenize = false, parse_special = false, info = false;
    bool chat = false, interactive = false;
    silica::app::ChatOptions chat_options;
    silica::SamplerOptions sampling;
    // Speculative decoding (silica/speculative.h).
    std::string draft_model;
    bool lookup = false;
    int draft_max = 8;
    float draft_p_min = 0.5f;
    float verify_cost_per_token = -1.0f;
};

// Peak and current memory, split into file-backed (mapped weights) and private pages.
void print_memory() {
    const auto m = silica::read_rss();
    auto mib = [](uint64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); };
    std::fprintf(stderr, "silica: memory: peak RSS %.1f MiB; now %.1f MiB (file-backed %.1f MiB, private %.1f MiB)\n",
                 mib(m.peak), mib(m.current), mib(m.file), mib(m.anonymous));
}

// The KV cache's tiers: bytes per token in each, and the whole context's size.
std::string kv_cache_text(const silica::KvCacheInfo& kv) {
    auto kib = [](uint64_t b) { return static_cast<double>(b) / 1024.0; };
    auto mib = [](uint64_t b) { return static_cast<double>(b) / (1024.0 * 1024.0); };
    char line[512];
    std::string text;
    if (kv.hot_tokens < 0)
        std::snprintf(line, sizeof line, "KV cache: %s, %.1f KiB per token", kv.hot_type.c_str(),
                      kib(kv.hot_bytes_per_token));
    else
        std::snprintf(line, sizeof line, "KV cache: hot %s for the newest %lld tokens, %.1f KiB per token; warm %s "
                      "before them, %.1f KiB per token", kv.hot_type.c_str(), static_cast<long long>(kv.hot_tokens),
                      kib(kv.hot_bytes_per_token), kv.warm_type.c_str(), kib(kv.warm_bytes_per_token));
    text += line;
    if (kv.window_bytes > 0) {
        std::snprintf(line, sizeof line, "; sliding-window rings %.1f MiB", mib(kv.window_bytes));
        text += line;
    }
    std::snprintf(line, sizeof line, "; %.1f MiB at the full context of %lld tokens", mib(kv.full_context_bytes),
                  static_cast<long long>(kv.n_ctx));
    return text + line;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw silica::Error(path + ": cannot open prompt file");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<int32_t> parse_token_list(const std::string& text) {
    std::vector<int32_t> ids;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        size_t used = 0;
        long long v = -1;
        try {
            v = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != item.size() || v < 0 || v > INT32_MAX)
            throw CLI::ValidationError("--prompt-tokens", "'" + item + "' is not a token id");
        ids.push_back(static_cast<int32_t>(v));
    }
    if (ids.empty()) throw CLI::ValidationError("--prompt-tokens", "no token ids given");
    return ids;
}

void check_fits(const silica::Session& session, size_t n_new, const char* what) {
    if (session.n_past() + static_cast<int64_t>(n_new) > session.n_ctx())
        throw silica::Error(std::string(what) + " has " + std::to_string(n_new) + " tokens but the context holds " +
                            std::to_string(session.n_ctx() - session.n_past()) + " more (raise --ctx-size)");
}

// Restores `path` (if it exists) and keeps as much of it as the prompt shares: returns how many
// leading prompt tokens are already in the session (at most all but one, unless the saved logits
// are those of exactly this prompt). A prompt that diverges from the saved tokens keeps the common
// prefix where the KV cache allows truncation (not past a sliding window's reach), else starts cold.
int64_t resume_session(silica::Session& session, const std::string& path, const std::vector<int32_t>& prompt) {
    if (!std::filesystem::exists(path)) return 0;
    silica::load_session_file(session, path);
    const auto saved = session.tokens();
    const size_t common = static_cast<size_t>(
        std::mismatch(saved.begin(), saved.end(), prompt.begin(), prompt.end()).first - saved.begin());
    // Saved with the logits of exactly this prompt: nothing to evaluate.
    if (common == saved.size() && common == prompt.size() && session.has_logits()) return static_cast<int64_t>(common);
    const int64_t keep = static_cast<int64_t>(std::min(common, prompt.size() - 1));
    if (keep == session.n_past() || session.truncate(keep)) return keep;
    session.reset();
    return 0;
}

int run(const Options& o, const std::vector<int32_t>& given_tokens) {
    silica::LoadOptions lo = silica::app::load_options_from_environment();
    lo.use_mmap = !o.no_mmap;
    silica::app::apply_tensor_parallel_flags(o.tp, lo);
    silica::app::apply_session_flags(o.session, lo);
    auto model = silica::Model::load(o.model, lo);
    silica::app::print_on_first_rank_only(*model);
    const silica::SessionOptions so = silica::app::session_options(o.session, o.ctx_size);
    if (o.info) {
        std::cout << model->describe();
        std::cout << kv_cache_text(silica::Session(model, so).kv_info()) << "\n";
        return 0;
    }
    const silica::Tokenizer& tok = model->tokenizer();

    std::string prompt_text;
    if (!o.prompt_file.empty()) prompt_text = read_file_bytes(o.prompt_file);
    else prompt_text = o.prompt;
    std::vector<int32_t> tokens = given_tokens;
    if (tokens.empty()) {
        if (auto bad = silica::find_invalid_utf8(prompt_text))
            throw silica::Error("prompt is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
        tokens = o.chat ? silica::app::first_turn_tokens(tok, o.chat_options, prompt_text)
                        : tok.encode(prompt_text, o.parse_special);
    }
    if (o.tokenize) {
        std::cout << "[";
        for (size_t i = 0; i < tokens.size(); ++i) std::cout << (i ? ", " : "") << tokens[i];
        std::cout << "]\n";
        return 0;
    }
    if (tokens.empty()) throw silica::Error("the prompt is empty: nothing to evaluate");

    silica::Session session(model, so);
    check_fits(session, tokens.size(), "the prompt");
    if (o.verbose)
        std::fprintf(stderr, "silica: %zu prompt tokens, n_ctx %lld, %d threads; %s\n", tokens.size(),
                     static_cast<long long>(session.n_ctx()), session.n_threads(),
                     kv_cache_text(session.kv_info()).c_str());

    // Speculative decoding: the draft model shares the target's context size and thread count.
    std::unique_ptr<silica::Session> draft;
    silica::SpeculativeOptions spec;
    spec.lookup = o.lookup;
    spec.draft_max = o.draft_max;
    spec.draft_p_min = o.draft_p_min;
    spec.verify_cost_per_token = o.verify_cost_per_token;
    if (!o.draft_model.empty()) {
        auto draft_model = silica::Model::load(o.draft_model, lo);
        if (draft_model->tokenizer().n_vocab() != tok.n_vocab())
            throw silica::Error("the draft model " + o.draft_model + " has " +
                                std::to_string(draft_model->tokenizer().n_vocab()) + " tokens, the model " + o.model +
                                " has " + std::to_string(tok.n_vocab()) + ": they need the same tokenizer");
        silica::SessionOptions dso = so;
        dso.prefix_cache = nullptr;
        const int64_t draft_train = draft_model->params().n_ctx_train;
        dso.n_ctx = draft_train > 0 ? std::min<int64_t>(session.n_ctx(), draft_train) : session.n_ctx();
        draft = std::make_unique<silica::Session>(std::move(draft_model), dso);
        spec.draft = draft.get();
    }
    const bool speculative = spec.lookup || spec.draft != nullptr;
    silica::SpeculativeStats spec_stats;
    const bool want_logits = !o.logits_out.empty();
    const auto t_start = Clock::now();
    // --session: continue from the saved tokens where the prompt starts with them.
    const int64_t reused = o.session_file.empty() || want_logits ? 0 : resume_session(session, o.session_file, tokens);
    if (reused < static_cast<int64_t>(tokens.size()))
        session.decode(std::span<const int32_t>(tokens).subspan(static_cast<size_t>(reused)), want_logits);
    const double t_prompt = seconds_since(t_start);
    if (!o.session_file.empty())
        std::fprintf(stderr, "silica: session: reused %lld of %zu prompt tokens from %s\n",
                     static_cast<long long>(reused), tokens.size(), o.session_file.c_str());
    if (want_logits) {
        std::vector<float> all;
        all.reserve(tokens.size() * static_cast<size_t>(model->params().n_vocab));
        for (size_t i = 0; i < tokens.size(); ++i) {
            auto row = session.logits(static_cast<int64_t>(i));
            all.insert(all.end(), row.begin(), row.end());
        }
        if (model->tp_rank() == 0)  // every rank has the same logits
            silica::app::write_npy(o.logits_out, all.data(),
                                   {static_cast<int64_t>(tokens.size()), model->params().n_vocab});
    }

    // Generation (silica/generation.h): per turn, from the session's logits; the answer streams to
    // stdout, harmony reasoning to stderr with --show-reasoning.
    silica::GenerationOptions gen;
    gen.sampling = o.sampling;
    gen.max_tokens = o.n_predict;
    gen.harmony = o.chat;
    const silica::app::StepPrinter printer(o.chat_options.show_reasoning, isatty(STDERR_FILENO));
    int64_t generated = 0;
    double generate_seconds = 0.0, time_to_first_token = 0.0;
    bool first_token = true;
    silica::FinishReason finish = silica::FinishReason::None;
    for (int turn = 0;; ++turn) {
        gen.sampling.seed = o.sampling.seed + static_cast<uint64_t>(turn);  // each turn its own draws
        auto on_step = [&](const silica::GenerationStep& step) {
            if (turn == 0 && step.token >= 0 && first_token) {
                time_to_first_token = seconds_since(t_start);
                first_token = false;
            }
            printer.print(step);
            return true;
        };
        silica::GenerationResult r;
        if (speculative) {
            auto sr = silica::generate_speculative(session, {}, gen, spec, on_step, &g_interrupted);
            spec_stats.verify_passes += sr.stats.verify_passes;
            spec_stats.plain_steps += sr.stats.plain_steps;
            spec_stats.proposed += sr.stats.proposed;
            spec_stats.accepted += sr.stats.accepted;
            spec_stats.switched_off += sr.stats.switched_off;
            r = std::move(sr);
        } else {
            r = silica::generate(session, {}, gen, on_step, &g_interrupted);
        }
        std::fputs("\n", stdout);
        std::fflush(stdout);
        generated += static_cast<int64_t>(r.tokens.size());
        generate_seconds += r.seconds;
        finish = r.finish;
        if (!o.chat || !o.interactive || finish == silica::FinishReason::ContextFull ||
            finish == silica::FinishReason::Cancelled)
            break;
        std::fputs("> ", stderr);
        std::string line;
        if (!std::getline(std::cin, line)) break;
        if (auto bad = silica::find_invalid_utf8(line))
            throw silica::Error("input is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
        // A turn cut off by -n showed its last token without evaluating it: it goes first.
        std::vector<int32_t> more;
        if (finish == silica::FinishReason::Length && !r.tokens.empty()) more.push_back(r.tokens.back());
        const auto next = silica::app::next_turn_tokens(tok, line);
        more.insert(more.end(), next.begin(), next.end());
        check_fits(session, more.size(), "the message");
        session.decode(more);
    }
    if (finish == silica::FinishReason::ContextFull)
        std::fprintf(stderr, "silica: stopped: the context of %lld tokens is full\n",
                     static_cast<long long>(session.n_ctx()));
    if (g_interrupted) std::fprintf(stderr, "silica: interrupted\n");
    std::fprintf(stderr, "silica: prompt %zu tokens in %.3f s (%.2f tokens/s); generated %lld tokens in %.3f s "
                         "(%.2f tokens/s); time to first token %.1f ms\n",
                 tokens.size(), t_prompt, tokens.size() / std::max(t_prompt, 1e-9),
                 static_cast<long long>(generated), generate_seconds,
                 generated > 0 ? generated / std::max(generate_seconds, 1e-9) : 0.0, time_to_first_token * 1000.0);
    if (speculative)
        std::fprintf(stderr, "silica: speculative (%s): %lld of %lld proposed tokens accepted (%.1f%%), %.2f per verify "
                             "pass; %lld verify passes, %lld plain steps, switched off %lld times\n",
                     spec.lookup ? "n-gram lookup" : "draft model", static_cast<long long>(spec_stats.accepted),
                     static_cast<long long>(spec_stats.proposed), 100.0 * spec_stats.acceptance(),
                     spec_stats.mean_accepted(), static_cast<long long>(spec_stats.verify_passes),
                     static_cast<long long>(spec_stats.plain_steps), static_cast<long long>(spec_stats.switched_off));
    if (!o.session_file.empty()) silica::save_session_file(session, o.session_file);
    if (o.verbose) {
        const silica::KvCacheInfo kv = session.kv_info();
        std::fprintf(stderr, "silica: KV cache in use: %.1f MiB hot, %.1f MiB warm\n",
                     static_cast<double>(kv.hot_bytes) / (1024.0 * 1024.0),
                     static_cast<double>(kv.warm_bytes) / (1024.0 * 1024.0));
        print_memory();
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"infer: run a GGUF language model (GPT-2, GPT-OSS) on a prompt"};
    app.add_option("-m,--model", o.model, "GGUF model file (default: the shipped model, models/README.md)");
    auto* p_text = app.add_option("-p,--prompt", o.prompt, "prompt text");
    auto* p_file = app.add_option("-f,--prompt-file", o.prompt_file, "read the prompt from a file, byte for byte");
    auto* p_tok = app.add_option("--prompt-tokens", o.prompt_tokens, "prompt as comma-separated token ids");
    p_text->excludes(p_file)->excludes(p_tok);
    p_file->excludes(p_tok);
    app.add_option("-n,--n-predict", o.n_predict, "tokens to generate (0: evaluate the prompt only)")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
    app.add_option("--temp", o.sampling.temperature, "temperature (0: greedy)")->check(CLI::Range(0.0f, 100.0f));
    app.add_option("--top-k", o.sampling.top_k, "keep the k most likely tokens (0: all)")->check(CLI::NonNegativeNumber);
    app.add_option("--top-p", o.sampling.top_p, "nucleus sampling mass")->check(CLI::Range(0.0f, 1.0f));
    app.add_option("--min-p", o.sampling.min_p, "drop tokens below min-p × the top probability")
        ->check(CLI::Range(0.0f, 1.0f));
    app.add_option("--repeat-penalty", o.sampling.repeat_penalty, "repetition penalty (1: off)")
        ->check(CLI::Range(0.0f, 100.0f));
    app.add_option("--seed", o.sampling.seed, "random seed");
    app.add_option("-c,--ctx-size", o.ctx_size, "context size (default: the model's, capped at 8192)")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    silica::app::add_session_flags(app, o.session);
    silica::app::add_tensor_parallel_flags(app, o.tp);
    app.add_option("--session", o.session_file, "load the session (tokens + KV cache) from this file if it exists, "
                                                "reuse what the prompt shares with it, and save it after the run");
    app.add_flag("--no-mmap", o.no_mmap, "read the model into memory instead of mapping it");
    app.add_flag("-v,--verbose", o.verbose, "print details on stderr");
    app.add_flag("--tokenize", o.tokenize, "print the prompt's token ids as JSON and exit");
    app.add_flag("--parse-special", o.parse_special, "recognise special-token strings in the prompt");
    app.add_option("--logits-out", o.logits_out, "write every prompt position's logits to a .npy file");
    app.add_flag("--info", o.info, "print the model's metadata and tensor summary and exit");
    app.add_flag("--chat", o.chat, "use the model's chat format (harmony for GPT-OSS)");
    app.add_option("--system", o.chat_options.system, "system/developer instructions for --chat");
    app.add_option("--reasoning", o.chat_options.reasoning, "reasoning effort for --chat")
        ->check(CLI::IsMember({"low", "medium", "high"}));
    app.add_flag("--show-reasoning", o.chat_options.show_reasoning, "print the analysis channel (stderr, dimmed)");
    app.add_flag("-i,--interactive", o.interactive, "--chat: keep reading user turns from stdin");

    auto* p_draft = app.add_option("--draft-model", o.draft_model,
                                   "speculative decoding: a smaller model with the same tokenizer proposes tokens");
    auto* p_lookup = app.add_flag("--lookup", o.lookup,
                                  "speculative decoding: propose tokens by n-gram lookup in the prompt and output");
    p_draft->excludes(p_lookup);
    auto* p_draft_max = app.add_option("--draft-max", o.draft_max, "speculative decoding: tokens proposed per pass")
                            ->check(CLI::Range(1, 64));
    auto* p_p_min = app.add_option("--draft-p-min", o.draft_p_min,
                                   "--draft-model: stop proposing below this draft probability")
                        ->check(CLI::Range(0.0f, 1.0f));
    auto* p_cost = app.add_option("--verify-cost-per-token", o.verify_cost_per_token,
                                  "speculative decoding: the model's cost of one more verified token, in decode steps, "
                                  "for the adaptive switch (default 0.1 dense, 0.4 MoE; bench --verify-cost measures it)")
                       ->check(CLI::Range(0.0f, 100.0f));

    std::vector<int32_t> given_tokens;
    auto parse = [&] {
        app.parse(argc, argv);
        if ((p_draft_max->count() || p_p_min->count() || p_cost->count()) && !p_draft->count() && !p_lookup->count())
            throw CLI::ValidationError("--draft-max/--draft-p-min/--verify-cost-per-token", "need --draft-model or --lookup");
        if (p_p_min->count() && p_lookup->count())
            throw CLI::ValidationError("--draft-p-min", "applies to --draft-model, not --lookup");
        if (!o.info && p_text->count() == 0 && p_file->count() == 0 && p_tok->count() == 0)
            throw CLI::RequiredError("one of --prompt, --prompt-file or --prompt-tokens");
        if (p_tok->count()) given_tokens = parse_token_list(o.prompt_tokens);
        // Each rank holds its own slice of the KV cache, and only rank 0 reads stdin under mpirun.
        if (o.tp.enabled && !o.session_file.empty())
            throw CLI::ValidationError("--session", "session files are not supported with --tp");
        if (o.tp.enabled && o.interactive)
            throw CLI::ValidationError("--interactive", "not supported with --tp (only rank 0 reads stdin)");
    };
    return silica::app::run_main(app, parse, [&] {
        std::signal(SIGINT, [](int) { g_interrupted = true; });
        if (o.model.empty()) {
            o.model = silica::infer::default_model_path();
            std::fprintf(stderr, "infer: no --model given, using the default model %s\n", o.model.c_str());
        }
        return run(o, given_tokens);
    });
}
