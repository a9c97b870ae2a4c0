// Encode throughput (MB/s of UTF-8 input) of the BPE tokenizers: the fast path (pair table, heap,
// per-call cache) against the naive O(n^2) merge loop, on the whole tiktoken parity corpus joined
// into one large mixed text (prose, code, many scripts, emoji, whitespace runs, long words),
// and only its short strings.
//   build/<dir>/bench/tokenizer_bench [--benchmark_min_time=2]
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "silica/tokenizer.h"

namespace {

std::string read_gz(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "cannot open %s\n", path.c_str());
        std::exit(1);
    }
    std::string data;
    char buf[1 << 16];
    for (int n; (n = gzread(f, buf, sizeof buf)) > 0;) data.append(buf, static_cast<size_t>(n));
    gzclose(f);
    return data;
}

// The corpus texts (first field of each line, unescaped), joined by blank lines: all of them
// (which ~40% of the bytes are very long words, runs and repeats: BPE's worst case), or only
// those under 256 bytes (prose, code, scripts, emoji: the usual case).
std::string corpus_text(bool short_only) {
    const std::string data = read_gz(std::string(SILICA_SOURCE_DIR) + "/tests/data/tokenizer/corpus.tsv.gz");
    std::string out;
    size_t pos = data.find('\n') + 1;
    while (pos < data.size()) {
        size_t end = data.find('\n', pos);
        if (end == std::string::npos) end = data.size();
        const size_t tab = data.find('\t', pos);
        std::string item;
        for (size_t i = pos; i < tab && i < end; ++i) {
            if (data[i] == '\\' && i + 1 < tab) {
                const char c = data[++i];
                item += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
            } else {
                item += data[i];
            }
        }
        if (!short_only || item.size() < 256) out += item + "\n\n";
        pos = end + 1;
    }
    return out;
}

const std::string& text(int which) {
    static const std::string texts[2] = {corpus_text(false), corpus_text(true)};
    return texts[which];
}

const silica::Tokenizer& tokenizer(int which) {
    static const std::unique_ptr<silica::Tokenizer> t[2] = {
        std::make_unique<silica::Tokenizer>(
            silica::load_vocab_file(std::string(SILICA_SOURCE_DIR) + "/models/tokenizers/gpt2.vocab.gz")),
        std::make_unique<silica::Tokenizer>(
            silica::load_vocab_file(std::string(SILICA_SOURCE_DIR) + "/models/tokenizers/o200k_harmony.vocab.gz")),
    };
    return *t[which];
}

template <bool kNaive>
void BM_encode(benchmark::State& state) {
    const silica::Tokenizer& tok = tokenizer(static_cast<int>(state.range(0)));
    const std::string& text = ::text(static_cast<int>(state.range(1)));
    size_t n_tokens = 0;
    for (auto _ : state) {
        auto ids = kNaive ? tok.encode_naive(text, false) : tok.encode(text, false);
        n_tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
    state.counters["tokens"] = static_cast<double>(n_tokens);
    state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(n_tokens) * static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
    state.SetLabel(std::string(state.range(0) == 0 ? "gpt2" : "o200k_harmony") + ", " +
                   std::to_string(text.size() / 1024) + " KiB " + (state.range(1) ? "short strings" : "whole corpus"));
}

void BM_load_vocabulary(benchmark::State& state) {
    const char* file = state.range(0) == 0 ? "gpt2.vocab.gz" : "o200k_harmony.vocab.gz";
    for (auto _ : state) {
        silica::Tokenizer tok(silica::load_vocab_file(std::string(SILICA_SOURCE_DIR) + "/models/tokenizers/" + file));
        benchmark::DoNotOptimize(tok.n_vocab());
    }
    state.SetLabel(file);
}

}  // namespace

// Args: vocabulary (0 gpt2, 1 o200k_harmony), text (0 whole corpus, 1 short strings).
BENCHMARK_TEMPLATE(BM_encode, false)->Name("encode_fast")->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_encode, true)->Name("encode_naive")->ArgsProduct({{0, 1}, {0, 1}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_load_vocabulary)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
