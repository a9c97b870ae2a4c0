// Time to first token with a cached prefix vs cold, and the zlib cold tier on real KV blocks.
// Model: $SILICA_BENCH_MODEL, else a synthetic gpt2-124m Q8_0 written to the temp folder.
// Prompt: 1000 tokens of which the first 900 were seen before (by another session sharing the
// PrefixCache), the case of a long system prompt or chat history.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "cache/kv_snapshot.h"
#include "cache/zlib_codec.h"
#include "engine/session_impl.h"
#include "engine/synth/synthetic_model.h"
#include "silica/model.h"
#include "silica/prefix_cache.h"
#include "silica/session.h"

using namespace silica;

namespace {

std::shared_ptr<Model> bench_model() {
    static std::shared_ptr<Model> model = [] {
        if (const char* path = std::getenv("SILICA_BENCH_MODEL")) return Model::load(path);
        const auto path = std::filesystem::temp_directory_path() / "silica-prefix-bench-gpt2-124m-q8_0.gguf";
        if (!std::filesystem::exists(path)) {
            synth::Spec s;
            s.arch = "gpt2";
            s.preset = "gpt2-124m";
            s.wtype = "q8_0";
            s.tokenizer_dir = std::string(SILICA_SOURCE_DIR) + "/models/tokenizers";
            synth::write_model(s, path.string());
        }
        return Model::load(path.string());
    }();
    return model;
}

std::vector<int32_t> tokens(int n, int salt, int64_t n_vocab) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 7919 + 13 + salt * 104729) % n_vocab));
    return t;
}

// Args: cached (0 = cold prefill of all 1000 tokens, 1 = 900 shared tokens cached).
void BM_TimeToFirstToken(benchmark::State& state) {
    auto model = bench_model();
    const int64_t V = model->params().n_vocab;
    const int64_t n_ctx = std::min<int64_t>(1024, model->params().n_ctx_train);
    auto prefix = tokens(900, 0, V);
    auto prompt = prefix;
    for (int32_t t : tokens(100, 1, V)) prompt.push_back(t);
    SessionOptions so;
    so.n_ctx = n_ctx;
    int64_t reused = 0;
    for (auto _ : state) {
        if (state.range(0)) {
            // A fresh cache holding only the shared prefix (the timed session adds its own blocks).
            state.PauseTiming();
            so.prefix_cache = std::make_shared<PrefixCache>(uint64_t{1} << 30);
            Session warm(model, so);
            warm.decode(prefix);  // caches 28 whole blocks of 32 (896 tokens)
            state.ResumeTiming();
        }
        Session s(model, so);
        s.decode(prompt);
        reused = s.reused_tokens();
        benchmark::DoNotOptimize(s.logits().data());
    }
    state.counters["reused_tokens"] = static_cast<double>(reused);
    state.SetLabel(state.range(0) ? "900 of 1000 tokens cached" : "cold");
}
BENCHMARK(BM_TimeToFirstToken)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// zlib level 1 on the KV blocks of a real forward pass (f16 and q8_0 storage): ratio and speed.
void BM_ColdTierZlib(benchmark::State& state) {
    auto model = bench_model();
    const int64_t V = model->params().n_vocab;
    SessionOptions so;
    so.n_ctx = 512;
    so.kv_type = state.range(0) ? KvType::Q8_0 : KvType::F16;
    Session s(model, so);
    s.decode(tokens(512, 2, V));
    std::vector<uint8_t> raw;
    cache::ByteWriter out(raw);
    // What the prefix cache compresses: block snapshots of 32 tokens.
    for (int64_t b = 0; b < 16; ++b) {
        const auto snap = cache::capture_snapshot(s.impl().kv(), b * 32, b * 32 + 32, 512);
        cache::write_snapshot(snap, out);
    }
    const int planes = static_cast<int>(state.range(1));
    size_t compressed = 0;
    double compress_s = 0, decompress_s = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto z = cache::zlib_compress(raw, 1, planes);
        const auto t1 = std::chrono::steady_clock::now();
        const auto back = cache::zlib_decompress(z, raw.size(), "bench", planes);
        const auto t2 = std::chrono::steady_clock::now();
        compressed = z.size();
        compress_s += std::chrono::duration<double>(t1 - t0).count();
        decompress_s += std::chrono::duration<double>(t2 - t1).count();
        benchmark::DoNotOptimize(back.data());
    }
    const double n = static_cast<double>(state.iterations());
    state.counters["ratio"] = static_cast<double>(raw.size()) / static_cast<double>(compressed);
    state.counters["compress_MB/s"] = static_cast<double>(raw.size()) * n / compress_s / 1e6;
    state.counters["decompress_MB/s"] = static_cast<double>(raw.size()) * n / decompress_s / 1e6;
    state.SetLabel(std::string(state.range(0) ? "KV q8_0" : "KV f16") + (planes > 1 ? ", 2 byte planes" : ""));
}
BENCHMARK(BM_ColdTierZlib)->Args({0, 1})->Args({0, 2})->Args({1, 1})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
