// Decode attention of one KV head at the real model shapes: the fused online-softmax kernel
// (kernels/attention.h) against the algorithm it replaced (every K and V row converted to float
// one at a time, a score array as long as the context, separate softmax) and the scalar tiled
// kernel. Counter kv_GB/s: bytes of K and V read per second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/threading/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/convert.h"
#include "kernels/isa.h"
#include "kernels/ops.h"
#include "quant/quantize.h"

using namespace silica;

namespace {

struct Fixture {
    std::vector<uint8_t> k, v;
    std::vector<float> q, sinks, out;
    kernels::KvRowSpan span;
    kernels::AttentionShape shape;
};

// One KV head of n_keys positions, rows interleaved with the other n_head_kv - 1 heads as in the
// cache (stride = n_head_kv rows), so the memory access pattern is the real one.
Fixture make(TensorType type, int64_t n_keys, int64_t group, int64_t n_head_kv, bool sinks) {
    constexpr int64_t hd = 64;
    Fixture f;
    const size_t head_bytes = row_bytes(type_traits(type), hd);
    f.k.resize(head_bytes * n_head_kv * n_keys);
    f.v.resize(f.k.size());
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> row(hd);
    for (int64_t j = 0; j < n_head_kv * n_keys; ++j) {
        for (auto& x : row) x = normal(rng);
        quantize_row(type, row.data(), f.k.data() + j * head_bytes, hd);
        quantize_row(type, row.data(), f.v.data() + j * head_bytes, hd);
    }
    f.q.resize(group * hd);
    for (auto& x : f.q) x = normal(rng);
    f.sinks.assign(group, 0.5f);
    f.out.resize(group * hd);
    f.span = {f.k.data(), f.v.data(), n_keys, static_cast<int64_t>(head_bytes * n_head_kv), type, 0};
    f.shape.head_dim = hd;
    f.shape.n_group = group;
    f.shape.scale = 0.125f;
    f.shape.sinks = sinks ? f.sinks.data() : nullptr;
    return f;
}

// The replaced algorithm (cache/attention.cpp before the fused kernel).
void attend_two_pass(const Fixture& f, std::vector<float>& scratch) {
    const int64_t hd = f.shape.head_dim, G = f.shape.n_group, n = f.span.n_rows;
    scratch.resize(G * n + hd);
    float* scores = scratch.data();
    float* row = scores + G * n;
    for (int64_t j = 0; j < n; ++j) {
        kernels::to_f32(f.span.type, f.span.k + j * f.span.stride, row, hd);
        for (int64_t g = 0; g < G; ++g) scores[g * n + j] = kernels::dot(f.q.data() + g * hd, row, hd) * f.shape.scale;
    }
    for (int64_t g = 0; g < G; ++g) {
        float* s = scores + g * n;
        float max = f.shape.sinks ? f.shape.sinks[g] : -INFINITY;
        for (int64_t j = 0; j < n; ++j) max = std::max(max, s[j]);
        double sum = f.shape.sinks ? std::exp(static_cast<double>(f.shape.sinks[g]) - max) : 0.0;
        for (int64_t j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - max));
        for (int64_t j = 0; j < n; ++j) s[j] *= static_cast<float>(1.0 / sum);
    }
    std::fill(const_cast<float*>(f.out.data()), const_cast<float*>(f.out.data()) + G * hd, 0.0f);
    for (int64_t j = 0; j < n; ++j) {
        kernels::to_f32(f.span.type, f.span.v + j * f.span.stride, row, hd);
        for (int64_t g = 0; g < G; ++g) kernels::axpy(scores[g * n + j], row, const_cast<float*>(f.out.data()) + g * hd, hd);
    }
}

enum Algorithm { kFused = 0, kFusedScalar = 1, kTwoPass = 2 };

// Args: keys, storage type, model (0 = GPT-2: group 1, 12 KV heads; 1 = GPT-OSS: group 8, 8 KV heads, sinks), algorithm.
void BM_Attention(benchmark::State& state) {
    const int64_t n_keys = state.range(0);
    const auto type = static_cast<TensorType>(state.range(1));
    const bool oss = state.range(2) == 1;
    const auto algorithm = static_cast<Algorithm>(state.range(3));
    Fixture f = make(type, n_keys, oss ? 8 : 1, oss ? 8 : 12, oss);
    std::vector<float> scratch;
    if (algorithm == kFusedScalar) kernels::set_isa_for_testing(kernels::Isa::scalar);
    for (auto _ : state) {
        if (algorithm == kTwoPass) attend_two_pass(f, scratch);
        else kernels::attend_spans({&f.span, 1}, f.q.data(), f.shape, f.out.data());
        benchmark::DoNotOptimize(f.out.data());
    }
    kernels::reset_isa_for_testing();
    const double bytes = 2.0 * static_cast<double>(row_bytes(type_traits(type), 64)) * n_keys;
    state.counters["kv_GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
    static const char* names[] = {"fused", "fused-scalar", "two-pass"};
    state.SetLabel(std::string(oss ? "gpt-oss " : "gpt2 ") + std::string(type_traits(type).name) + " " +
                   names[algorithm]);
}

void attention_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"keys", "type", "oss", "algo"});
    for (int64_t keys : {1024, 4096, 16384})
        for (TensorType type : {TensorType::F16, TensorType::BF16, TensorType::Q8_0, TensorType::F32})
            for (int oss : {0, 1})
                for (int algo : {kFused, kTwoPass, kFusedScalar}) b->Args({keys, static_cast<int64_t>(type), oss, algo});
}
BENCHMARK(BM_Attention)->Apply(attention_args);

// Prefill attention of one KV head: 256 tokens at positions [first, first + 256) against every
// key up to the last one (GPT-OSS: its sliding window of 128 when args say so), with the block
// kernel (attend_chunk) or one attend_spans call per token on its visible keys (what prefill did
// before). Counter GFLOP/s: 4 * head_dim flops per visible (query head, key) pair.
void BM_AttentionChunk(benchmark::State& state) {
    constexpr int64_t kTokens = 256;
    const int64_t first = state.range(0);
    const auto type = static_cast<TensorType>(state.range(1));
    const bool oss = state.range(2) != 0, windowed = state.range(2) == 2;
    const bool per_token = state.range(3) != 0;
    Fixture f = make(type, first + kTokens, oss ? 8 : 1, oss ? 8 : 12, oss);
    const int64_t G = f.shape.n_group, hd = f.shape.head_dim, window = windowed ? 128 : 0;
    f.q.resize(kTokens * G * hd, 0.25f);
    f.out.resize(kTokens * G * hd);
    kernels::QueryChunk chunk{f.q.data(), G * hd, f.out.data(), G * hd, kTokens, first, window};
    double pairs = 0;
    for (int64_t t = 0; t < kTokens; ++t) pairs += static_cast<double>(G) * (window ? std::min(window, first + t + 1) : first + t + 1);
    for (auto _ : state) {
        if (!per_token) {
            kernels::attend_chunk({&f.span, 1}, chunk, f.shape);
        } else {
            for (int64_t t = 0; t < kTokens; ++t) {
                const int64_t pos = first + t, lo = window ? std::max<int64_t>(0, pos - window + 1) : 0;
                kernels::KvRowSpan visible = f.span;
                visible.k += lo * f.span.stride;
                visible.v += lo * f.span.stride;
                visible.n_rows = pos - lo + 1;
                visible.first_pos = lo;
                kernels::attend_spans({&visible, 1}, f.q.data() + t * G * hd, f.shape, f.out.data() + t * G * hd);
            }
        }
        benchmark::DoNotOptimize(f.out.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(4.0 * hd * pairs, benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
    state.SetLabel(std::string(oss ? (windowed ? "gpt-oss window " : "gpt-oss ") : "gpt2 ") +
                   std::string(type_traits(type).name) + (per_token ? " per-token" : " block"));
}

void chunk_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"first", "type", "oss", "per_token"});
    for (int64_t first : {0, 256, 1792})
        for (TensorType type : {TensorType::F16, TensorType::Q8_0})
            for (int oss : {0, 1, 2})
                for (int per_token : {0, 1}) b->Args({first, static_cast<int64_t>(type), oss, per_token});
}
BENCHMARK(BM_AttentionChunk)->Apply(chunk_args);

// One KV head's spans over an F16 cache laid out as the engine lays it out: 32-position blocks,
// head-major (each head's 32 K rows contiguous, then the other heads', then the V rows likewise).
constexpr int64_t kKvBlock = 32;
std::vector<kernels::KvRowSpan> f16_head_spans(uint8_t* cache, int64_t head, int64_t n_heads, int64_t n_keys,
                                               size_t row) {
    std::vector<kernels::KvRowSpan> spans;
    for (int64_t b = 0; b * kKvBlock < n_keys; ++b) {
        kernels::KvRowSpan s;
        s.k = cache + static_cast<size_t>(b * 2 * kKvBlock * n_heads + head * kKvBlock) * row;
        s.v = s.k + static_cast<size_t>(kKvBlock * n_heads) * row;
        s.n_rows = std::min(kKvBlock, n_keys - b * kKvBlock);
        s.stride = static_cast<int64_t>(row);
        s.type = TensorType::F16;
        s.first_pos = b * kKvBlock;
        spans.push_back(s);
    }
    return spans;
}

// Decode and verify attention as the engine calls it: one KV head of an F16 cache laid out in
// 32-position blocks, head-major (a head's 32 K rows contiguous, then the other heads', then the
// V rows), `tokens` queries at the newest positions (1: a decode step; more: a verify pass, each
// token seeing the keys up to its own position), `group` query heads per KV head. In cache: the
// kernel's own cost. Counter s/key: seconds per key, query head and token.
void BM_DecodeAttention(benchmark::State& state) {
    const int64_t hd = state.range(0), n_keys = state.range(1), group = state.range(2), tokens = state.range(3);
    constexpr int64_t kHeads = 8;
    const size_t row = row_bytes(type_traits(TensorType::F16), hd);
    const int64_t n_blocks = (n_keys + kKvBlock - 1) / kKvBlock;
    std::vector<uint8_t> cache(static_cast<size_t>(n_blocks * 2 * kKvBlock * kHeads) * row);
    std::mt19937 rng(3);
    std::normal_distribution<float> normal;
    std::vector<float> values(hd);
    for (size_t i = 0; i < cache.size() / row; ++i) {
        for (auto& x : values) x = normal(rng);
        quantize_row(TensorType::F16, values.data(), cache.data() + i * row, hd);
    }
    const std::vector<kernels::KvRowSpan> spans = f16_head_spans(cache.data(), 0, kHeads, n_keys, row);
    std::vector<float> q(tokens * group * hd), out(q.size());
    for (auto& x : q) x = normal(rng);
    kernels::AttentionShape shape;
    shape.head_dim = hd;
    shape.n_group = group;
    shape.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    kernels::QueryChunk chunk{q.data(), group * hd, out.data(), group * hd, tokens, n_keys - tokens, 0};
    for (auto _ : state) {
        if (tokens == 1) kernels::attend_spans(spans, q.data(), shape, out.data());
        else kernels::attend_chunk(spans, chunk, shape);
        benchmark::DoNotOptimize(out.data());
    }
    // seconds per (key, query head, token), printed with an SI prefix (n = ns)
    state.counters["s/key"] = benchmark::Counter(static_cast<double>(n_keys * group * tokens),
                                                 benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}
BENCHMARK(BM_DecodeAttention)
    ->ArgNames({"hd", "keys", "group", "tokens"})
    ->Args({64, 290, 1, 1})
    ->Args({32, 290, 1, 1})
    ->Args({64, 290, 1, 9})
    ->Args({32, 290, 1, 9})
    ->Args({64, 290, 8, 1})
    ->Args({64, 1024, 8, 1});

// Decode attention from memory, as sequences decoding together see it. `regions` caches of 12
// KV heads (a sequence's cache for one layer of GPT-2 124M: 96 = 8 sequences x 12 layers, 46 MB
// of F16 K/V; 384 is four times that, well past the last-level cache), `keys` positions each;
// every KV head's 1 query against its rows, in the engine's order (a cache's heads one after
// another). Arguments:
//   later    0: no prefetch of later rows; n: each call prefetches the rows of the item n ahead
//            (the engine uses 1);
//   threads  the (region, head) items split into contiguous ranges, one per ThreadPool thread, as
//            engine/arch/batch_attention.cpp splits them;
//   read     0: attention; 1: only a plain read of the same rows in the same order (each item's
//            K rows, then its V rows); 2: a plain read of the same bytes front to back. 1 and 2
//            say what the memory gives this access pattern and a sequential one;
//   per_run  regions per pool.run (the engine runs one per layer: 8 for 8 sequences), 0: all;
//   scatter  1: the cache blocks (32 positions, all heads) in a random order in memory, as a block
//            pool hands them out to sequences that grew side by side.
// Counters: bytes/s of K/V read, s/key.
constexpr int64_t kRegionHeads = 12;

struct KvRegions {
    std::vector<uint8_t> cache;
    std::vector<std::vector<kernels::KvRowSpan>> items;  // per (region, head)
};

KvRegions make_regions(int64_t hd, int64_t n_keys, int64_t regions, bool scattered) {
    const size_t row = row_bytes(type_traits(TensorType::F16), hd);
    const int64_t n_blocks = (n_keys + kKvBlock - 1) / kKvBlock;
    const size_t block_bytes = static_cast<size_t>(2 * kKvBlock * kRegionHeads) * row;
    KvRegions r;
    r.cache.resize(static_cast<size_t>(regions * n_blocks) * block_bytes);
    std::mt19937 rng(5);
    std::normal_distribution<float> normal;
    std::vector<float> values(hd);
    for (auto& x : values) x = normal(rng);
    for (size_t i = 0; i < r.cache.size() / row; ++i) {
        values[i % hd] = normal(rng);  // cheap variety: one value changed per row
        quantize_row(TensorType::F16, values.data(), r.cache.data() + i * row, hd);
    }
    // where block b of region g lies: slot[g * n_blocks + b] blocks into the cache
    std::vector<int64_t> slot(static_cast<size_t>(regions * n_blocks));
    for (size_t i = 0; i < slot.size(); ++i) slot[i] = static_cast<int64_t>(i);
    if (scattered) std::shuffle(slot.begin(), slot.end(), rng);
    for (int64_t g = 0; g < regions; ++g)
        for (int64_t h = 0; h < kRegionHeads; ++h) {
            // the head's spans as if the region's blocks were at the start of the cache, then moved
            std::vector<kernels::KvRowSpan> spans = f16_head_spans(r.cache.data(), h, kRegionHeads, n_keys, row);
            for (int64_t b = 0; b < n_blocks; ++b) {
                const size_t moved = static_cast<size_t>(slot[static_cast<size_t>(g * n_blocks + b)] - b) * block_bytes;
                spans[static_cast<size_t>(b)].k += moved;
                spans[static_cast<size_t>(b)].v += moved;
            }
            r.items.push_back(std::move(spans));
        }
    return r;
}

// One 8-byte load per cache line of [p, p + n), summed so the loads are not dropped.
uint64_t read_lines(const uint8_t* p, int64_t n) {
    uint64_t sum = 0;
    for (int64_t b = 0; b < n; b += 64) {
        uint64_t word;
        std::memcpy(&word, p + b, sizeof word);
        sum += word;
    }
    return sum;
}

// An item's rows in the kernel's order: its K rows block by block, then its V rows.
uint64_t read_rows(std::span<const kernels::KvRowSpan> spans) {
    uint64_t sum = 0;
    for (const kernels::KvRowSpan& s : spans) sum += read_lines(s.k, s.n_rows * s.stride);
    for (const kernels::KvRowSpan& s : spans) sum += read_lines(s.v, s.n_rows * s.stride);
    return sum;
}

void BM_DecodeAttentionFromMemory(benchmark::State& state) {
    const int64_t hd = state.range(0), n_keys = state.range(1), regions = state.range(2);
    const int64_t later_items = state.range(3);
    const int n_threads = static_cast<int>(state.range(4));
    const int64_t read_mode = state.range(5), per_run = state.range(6) > 0 ? state.range(6) : regions;
    const KvRegions r = make_regions(hd, n_keys, regions, state.range(7) != 0);
    const int64_t n_items = static_cast<int64_t>(r.items.size()), items_per_run = per_run * kRegionHeads;
    const int64_t item_bytes = static_cast<int64_t>(r.cache.size()) / n_items;  // read mode 2
    std::vector<std::vector<float>> q(static_cast<size_t>(n_threads), std::vector<float>(hd)), out(q);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    for (auto& qt : q)
        for (auto& x : qt) x = normal(rng);
    std::vector<uint64_t> sums(static_cast<size_t>(n_threads));
    kernels::AttentionShape shape;
    shape.head_dim = hd;
    shape.n_group = 1;
    shape.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    ThreadPool pool(n_threads);
    for (auto _ : state) {
        for (int64_t first = 0; first < n_items; first += items_per_run) {
            const int64_t n_run = std::min(items_per_run, n_items - first);
            pool.run([&](int tid, int nth) {
                const int64_t begin = first + n_run * tid / nth, end = first + n_run * (tid + 1) / nth;
                for (int64_t i = begin; i < end; ++i) {
                    if (read_mode == 1) {
                        sums[tid] += read_rows(r.items[i]);
                    } else if (read_mode == 2) {
                        sums[tid] += read_lines(r.cache.data() + i * item_bytes, item_bytes);
                    } else {
                        std::span<const kernels::KvRowSpan> later;
                        if (later_items > 0 && i + later_items < end) later = r.items[i + later_items];
                        kernels::attend_spans(r.items[i], q[tid].data(), shape, out[tid].data(), later);
                    }
                }
            });
        }
        benchmark::DoNotOptimize(out.data());
        benchmark::DoNotOptimize(sums.data());
    }
    const double keys = static_cast<double>(n_items * n_keys);
    const size_t row = row_bytes(type_traits(TensorType::F16), hd);
    state.counters["bytes/s"] = benchmark::Counter(keys * 2 * static_cast<double>(row),
                                                   benchmark::Counter::kIsIterationInvariantRate);
    state.counters["s/key"] =
        benchmark::Counter(keys, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_DecodeAttentionFromMemory)
    ->ArgNames({"hd", "keys", "regions", "later", "threads", "read", "per_run", "scatter"})
    // one thread: without and with the prefetch of the next head, and in cache (1 region)
    ->Args({64, 144, 96, 0, 1, 0, 0, 0})
    ->Args({64, 144, 96, 1, 1, 0, 0, 0})
    ->Args({64, 144, 1, 0, 1, 0, 0, 0})
    // two threads as the engine runs 8 sequences (a run per layer), past the last-level cache:
    // attention; prefetching 2 ahead; scattered blocks; the plain reads of the same bytes
    ->Args({64, 144, 384, 1, 2, 0, 8, 0})
    ->Args({64, 144, 384, 2, 2, 0, 8, 0})
    ->Args({64, 144, 384, 1, 2, 0, 8, 1})
    ->Args({64, 144, 384, 0, 2, 1, 8, 0})
    ->Args({64, 144, 384, 0, 2, 2, 8, 0})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
