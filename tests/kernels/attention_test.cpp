// The online-softmax attention kernels (every ISA the machine has) against the two-pass
// double-precision reference, on randomized shapes, spans, storage types and score ranges.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/attention.h"
#include "kernels/isa.h"
#include "quant/quantize.h"

using namespace silica;

namespace {

// n_keys positions of 2 KV heads in `type`, interleaved like the KV cache (row stride = 2 heads).
struct Keys {
    TensorType type;
    int64_t head_dim, n_keys;
    size_t head_bytes;
    std::vector<uint8_t> k, v;
};

Keys random_keys(std::mt19937& rng, TensorType type, int64_t hd, int64_t n_keys, float k_scale) {
    Keys keys{type, hd, n_keys, row_bytes(type_traits(type), hd), {}, {}};
    keys.k.resize(keys.head_bytes * 2 * n_keys);
    keys.v.resize(keys.head_bytes * 2 * n_keys);
    std::normal_distribution<float> normal;
    std::vector<float> row(hd);
    for (int64_t j = 0; j < 2 * n_keys; ++j) {
        for (auto& x : row) x = k_scale * normal(rng);
        quantize_row(type, row.data(), keys.k.data() + j * keys.head_bytes, hd);
        for (auto& x : row) x = normal(rng);
        quantize_row(type, row.data(), keys.v.data() + j * keys.head_bytes, hd);
    }
    return keys;
}

// Head 1's rows cut into random spans (some of a single row); row 0 is at position first_pos.
std::vector<kernels::KvRowSpan> random_spans(std::mt19937& rng, const Keys& keys, int64_t first_pos = 0) {
    std::vector<kernels::KvRowSpan> spans;
    for (int64_t pos = 0; pos < keys.n_keys;) {
        const int64_t n = std::min<int64_t>(keys.n_keys - pos, rng() % 3 == 0 ? 1 : 1 + rng() % 200);
        kernels::KvRowSpan s;
        const size_t offset = (pos * 2 + 1) * keys.head_bytes;
        s.k = keys.k.data() + offset;
        s.v = keys.v.data() + offset;
        s.n_rows = n;
        s.stride = static_cast<int64_t>(2 * keys.head_bytes);
        s.type = keys.type;
        s.first_pos = first_pos + pos;
        spans.push_back(s);
        pos += n;
    }
    return spans;
}

kernels::AttentionShape shape_of(int64_t hd, int64_t G, const float* sinks) {
    kernels::AttentionShape shape;
    shape.head_dim = hd;
    shape.n_group = G;
    shape.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    shape.sinks = sinks;
    return shape;
}

}  // namespace

TEST_CASE("attend_spans equals the two-pass reference for every ISA, type and span split", "[kernels][attention]") {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal;
    int cases = 0;
    for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0}) {
        for (int trial = 0; trial < 12; ++trial) {
            // Q8_0 rows are whole blocks of 32; the float types also get tails (not multiples of 16).
            // Every third trial: head size 64, and every sixth 32, which AVX-512 runs through their
            // own kernel.
            const int64_t hd = trial % 3 == 1             ? 64
                               : trial % 6 == 2           ? 32
                               : type == TensorType::Q8_0 ? 32 * (1 + rng() % 8)
                                                          : 8 * (1 + rng() % 32);
            const int64_t G = 1 + rng() % 8;
            const int64_t n_keys = trial == 0 ? 1 : 1 + rng() % 3000;
            // Large key scales give scores of several hundred: the running max must keep exp finite.
            const float k_scale = trial % 3 == 0 ? 30.0f : 1.0f;
            const Keys keys = random_keys(rng, type, hd, n_keys, k_scale);
            const auto spans = random_spans(rng, keys);
            const auto later_spans = random_spans(rng, keys);
            std::vector<float> q(G * hd), sinks(G);
            for (auto& x : q) x = normal(rng);
            for (auto& x : sinks) x = 3.0f * normal(rng);
            const kernels::AttentionShape shape = shape_of(hd, G, trial % 2 ? sinks.data() : nullptr);

            std::vector<float> ref(G * hd), out(G * hd);
            kernels::attend_spans_reference(spans, q.data(), shape, ref.data());
            for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
                kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
                std::fill(out.begin(), out.end(), NAN);
                kernels::attend_spans(spans, q.data(), shape, out.data());
                // Outputs are convex combinations of N(0,1) values: an absolute bound. Float
                // accumulation over up to 3000 keys can lose ~n * 6e-8 (1.8e-4) in the worst case;
                // measured at most 3e-5. The SIMD exp adds 2e-7 relative per weight.
                float max_err = 0;
                for (int64_t i = 0; i < G * hd; ++i) max_err = std::max(max_err, std::abs(out[i] - ref[i]));
                INFO("type " << static_cast<int>(type) << " isa " << isa << " hd " << hd << " G " << G << " keys "
                             << n_keys << " spans " << spans.size() << " sinks " << (shape.sinks != nullptr));
                CHECK(max_err <= 1e-4f);
                // Fetching a later call's rows meanwhile (a decode batch's next head) changes nothing.
                std::vector<float> again(G * hd, NAN);
                kernels::attend_spans(spans, q.data(), shape, again.data(), later_spans);
                CHECK(std::memcmp(again.data(), out.data(), again.size() * sizeof(float)) == 0);
                ++cases;
            }
        }
    }
    kernels::reset_isa_for_testing();
    CHECK(cases >= 48);
}

TEST_CASE("a sink that dominates the softmax drives the output toward zero", "[kernels][attention]") {
    std::mt19937 rng(5);
    const Keys keys = random_keys(rng, TensorType::F32, 64, 10, 1.0f);
    const auto spans = random_spans(rng, keys);
    std::vector<float> q(64, 0.0f), out(64);
    const float sink = 40.0f;  // exp(40) outweighs ten keys with score 0 by ~1e17
    kernels::AttentionShape shape;
    shape.head_dim = 64;
    shape.sinks = &sink;
    for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
        kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
        kernels::attend_spans(spans, q.data(), shape, out.data());
        for (float x : out) CHECK(std::abs(x) < 1e-15f);
        // Without the sink, q = 0 gives equal weights: the mean of the V rows.
        shape.sinks = nullptr;
        kernels::attend_spans(spans, q.data(), shape, out.data());
        std::vector<float> ref(64);
        kernels::attend_spans_reference(spans, q.data(), shape, ref.data());
        for (int i = 0; i < 64; ++i) CHECK(out[i] == Approx(ref[i]).margin(1e-6));
        shape.sinks = &sink;
    }
    kernels::reset_isa_for_testing();
}

TEST_CASE("attend_chunk equals the per-token reference for every ISA, type, group and window",
          "[kernels][attention]") {
    std::mt19937 rng(23);
    std::normal_distribution<float> normal;
    int cases = 0, block_cases = 0;
    for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16, TensorType::Q8_0}) {
        for (int trial = 0; trial < 10; ++trial) {
            // Mostly head size 64 (the AVX2 and AVX-512 block kernels); the rest take the per-token path.
            const int64_t hd = trial % 4 != 3 ? 64 : type == TensorType::Q8_0 ? 32 * (1 + rng() % 4) : 8 * (1 + rng() % 16);
            const int64_t G = std::vector<int64_t>{1, 2, 3, 8}[rng() % 4];
            // Every third trial longer than a verify pass (kStepExactRows): the block kernels' chunks.
            const int64_t n_tokens = trial == 0       ? 1
                                     : trial % 3 == 1 ? kernels::kStepExactRows + 1 + rng() % 60
                                                      : 1 + rng() % 90;
            const int64_t first_pos = trial % 3 == 0 ? 0 : rng() % 400;
            const int64_t window = trial % 2 ? 1 + rng() % 150 : 0;
            const int64_t last_pos = first_pos + n_tokens - 1;
            const int64_t first_key = window > 0 ? std::max<int64_t>(0, first_pos - window + 1) : 0;
            const float k_scale = trial % 5 == 0 ? 30.0f : 1.0f;
            const Keys keys = random_keys(rng, type, hd, last_pos - first_key + 1, k_scale);
            const auto spans = random_spans(rng, keys, first_key);
            // Queries and outputs in rows wider than a token's heads, as in the forward passes.
            const int64_t stride = G * hd + 16;
            std::vector<float> q(n_tokens * stride), sinks(G);
            for (auto& x : q) x = normal(rng);
            for (auto& x : sinks) x = 3.0f * normal(rng);
            const kernels::AttentionShape shape = shape_of(hd, G, trial % 2 == 0 ? sinks.data() : nullptr);
            std::vector<float> ref(n_tokens * stride, 0.0f), out(n_tokens * stride);
            kernels::QueryChunk chunk;
            chunk.q = q.data();
            chunk.q_stride = stride;
            chunk.out_stride = stride;
            chunk.n_tokens = n_tokens;
            chunk.first_pos = first_pos;
            chunk.window = window;
            chunk.out = ref.data();
            kernels::attend_chunk_reference(spans, chunk, shape);
            chunk.out = out.data();
            for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
                kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
                std::fill(out.begin(), out.end(), 0.0f);  // the padding past each token's heads stays 0
                kernels::attend_chunk(spans, chunk, shape);
                float max_err = 0;
                for (size_t i = 0; i < out.size(); ++i) max_err = std::max(max_err, std::abs(out[i] - ref[i]));
                INFO("type " << static_cast<int>(type) << " isa " << isa << " hd " << hd << " G " << G << " tokens "
                             << n_tokens << " first " << first_pos << " window " << window << " spans " << spans.size()
                             << " sinks " << (shape.sinks != nullptr));
                CHECK(max_err <= 1e-4f);
                ++cases;
                // the cases the block kernels take (longer than a verify pass, head size 64)
                block_cases += isa >= static_cast<int>(kernels::Isa::avx2) && hd == 64 && n_tokens > kernels::kStepExactRows;
            }
        }
    }
    kernels::reset_isa_for_testing();
    CHECK(cases >= 40);
    if (kernels::detected_isa() >= kernels::Isa::avx2) CHECK(block_cases >= 8);
}

TEST_CASE("up to kStepExactRows tokens in one attend_chunk get the bits each gets alone from attend_spans",
          "[kernels][attention]") {
    // A verify pass (several tokens of one sequence) must give each token exactly its decode
    // attention (kernels/step_exact.h); the AVX-512 kernel converts each K/V tile once for all of
    // them and runs their value accumulators side by side.
    std::mt19937 rng(29);
    std::normal_distribution<float> normal;
    int cases = 0;
    for (TensorType type : {TensorType::F16, TensorType::F32, TensorType::Q8_0})
        for (int trial = 0; trial < 16; ++trial) {
            const int64_t hd = trial % 2 ? 32 : 64;
            const int64_t G = std::array<int64_t, 4>{1, 2, 3, 8}[trial / 2 % 4];
            const int64_t n_tokens = trial < 2 ? kernels::kStepExactRows : 2 + rng() % (kernels::kStepExactRows - 1);
            const int64_t first_pos = rng() % 300;
            const int64_t last_pos = first_pos + n_tokens - 1;
            const Keys keys = random_keys(rng, type, hd, last_pos + 1, trial % 5 == 0 ? 30.0f : 1.0f);
            const auto spans = random_spans(rng, keys);
            const int64_t stride = G * hd + 8;
            std::vector<float> q(n_tokens * stride), sinks(G);
            for (auto& x : q) x = normal(rng);
            for (auto& x : sinks) x = 3.0f * normal(rng);
            const kernels::AttentionShape shape = shape_of(hd, G, trial % 4 == 0 ? sinks.data() : nullptr);
            std::vector<float> out(n_tokens * stride, 0.0f);
            kernels::QueryChunk chunk;
            chunk.q = q.data();
            chunk.q_stride = stride;
            chunk.out = out.data();
            chunk.out_stride = stride;
            chunk.n_tokens = n_tokens;
            chunk.first_pos = first_pos;
            for (int isa = 0; isa <= static_cast<int>(kernels::detected_isa()); ++isa) {
                kernels::set_isa_for_testing(static_cast<kernels::Isa>(isa));
                kernels::attend_chunk(spans, chunk, shape);
                for (int64_t t = 0; t < n_tokens; ++t) {
                    // the spans cut at the token's own position, as decode gives them
                    std::vector<kernels::KvRowSpan> visible;
                    for (kernels::KvRowSpan s : spans) {
                        if (s.first_pos > first_pos + t) break;
                        s.n_rows = std::min(s.n_rows, first_pos + t - s.first_pos + 1);
                        visible.push_back(s);
                    }
                    std::vector<float> alone(G * hd);
                    kernels::attend_spans(visible, q.data() + t * stride, shape, alone.data());
                    INFO("type " << static_cast<int>(type) << " isa " << isa << " hd " << hd << " G " << G
                                 << " tokens " << n_tokens << " t " << t);
                    REQUIRE(std::memcmp(alone.data(), out.data() + t * stride, alone.size() * sizeof(float)) == 0);
                    ++cases;
                }
            }
        }
    kernels::reset_isa_for_testing();
    CHECK(cases >= 100);
}
