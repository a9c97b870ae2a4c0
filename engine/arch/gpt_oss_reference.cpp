// The slow GPT-OSS reference, written to follow OpenAI's gpt_oss/torch/model.py step by step:
// dequantized weights, double accumulation, one token at a time, no threads, no KV cache type.
#include <cmath>

#include "engine/arch/gpt_oss.h"

namespace silica::arch {
namespace {

using Vec = std::vector<double>;

Vec rms_norm(const Vec& x, const std::vector<float>& w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double s = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s * w[i];
    return y;
}

// y = W x + b, W dequantized one row at a time (expert matrices are too large to expand whole).
Vec linear(const Weight& W, const float* b, const Vec& x) {
    std::vector<float> row(static_cast<size_t>(W.cols()));
    Vec y(static_cast<size_t>(W.rows()));
    for (int64_t r = 0; r < W.rows(); ++r) {
        W.row(r, row.data());
        double s = b ? b[r] : 0.0;
        for (int64_t k = 0; k < W.cols(); ++k) s += static_cast<double>(row[k]) * x[k];
        y[r] = s;
    }
    return y;
}

void rope(Vec& x, int64_t n_heads, int64_t hd, const Rope& r, int64_t pos) {
    const int64_t half = hd / 2;
    for (int64_t h = 0; h < n_heads; ++h)
        for (int64_t i = 0; i < half; ++i) {
            const double a = static_cast<double>(pos) * r.inv_freq()[i];
            const double c = std::cos(a) * r.concentration(), s = std::sin(a) * r.concentration();
            const double x1 = x[h * hd + i], x2 = x[h * hd + half + i];
            x[h * hd + i] = x1 * c - x2 * s;
            x[h * hd + half + i] = x2 * c + x1 * s;
        }
}

}  // namespace

std::vector<float> gpt_oss_reference_logits(const GptOssWeights& w, std::span<const int32_t> tokens) {
    const auto& c = w.cfg;
    const int64_t C = c.n_embd, H = c.n_head, G = c.n_head_kv, hd = c.head_dim, T = static_cast<int64_t>(tokens.size());
    const int64_t group = H / G;
    const Rope rope_table(c);

    std::vector<Vec> x(T, Vec(C));
    std::vector<float> row(C);
    for (int64_t t = 0; t < T; ++t) {
        w.token_embd.row(tokens[t], row.data());
        for (int64_t i = 0; i < C; ++i) x[t][i] = row[i];
    }
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const GptOssLayer& L = w.layers[l];
        const int64_t window = c.window_of(l);
        std::vector<Vec> q(T), k(T), v(T);
        for (int64_t t = 0; t < T; ++t) {
            const Vec h = rms_norm(x[t], L.attn_norm.weight, c.eps);
            q[t] = linear(L.q, L.q_b.data(), h);
            k[t] = linear(L.k, L.k_b.data(), h);
            v[t] = linear(L.v, L.v_b.data(), h);
            rope(q[t], H, hd, rope_table, t);
            rope(k[t], G, hd, rope_table, t);
        }
        for (int64_t t = 0; t < T; ++t) {
            Vec att(static_cast<size_t>(H * hd), 0.0);
            for (int64_t h = 0; h < H; ++h) {
                const int64_t g = h / group;
                // scores over visible keys, plus the sink as one extra logit with no value
                std::vector<double> s;
                std::vector<int64_t> keys;
                for (int64_t j = 0; j <= t; ++j) {
                    if (window > 0 && t - j >= window) continue;
                    double d = 0;
                    for (int64_t i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[j][g * hd + i];
                    s.push_back(d / std::sqrt(static_cast<double>(hd)));
                    keys.push_back(j);
                }
                double max = L.sinks[h];
                for (double e : s) max = std::max(max, e);
                double sum = std::exp(L.sinks[h] - max);
                for (double& e : s) sum += (e = std::exp(e - max));
                for (size_t n = 0; n < keys.size(); ++n)
                    for (int64_t i = 0; i < hd; ++i) att[h * hd + i] += s[n] / sum * v[keys[n]][g * hd + i];
            }
            const Vec o = linear(L.o, L.o_b.data(), att);
            for (int64_t i = 0; i < C; ++i) x[t][i] += o[i];

            // MoE: top-k of the router logits, softmax over the chosen, clamped SwiGLU experts.
            const Vec h = rms_norm(x[t], L.post_norm.weight, c.eps);
            const Vec logits = linear(L.moe.router, L.moe.router_b.data(), h);
            std::vector<float> lf(logits.begin(), logits.end());
            std::vector<int32_t> idx(c.n_expert_used);
            std::vector<float> wts(c.n_expert_used);
            route_top_k(lf.data(), c.n_expert, c.n_expert_used, idx.data(), wts.data());
            Vec moe(C, 0.0);
            for (int64_t j = 0; j < c.n_expert_used; ++j) {
                const int64_t e = idx[j];
                const Vec g = linear(expert(L.moe.gate, e), &L.moe.gate_b[e * c.n_ff], h);
                const Vec u = linear(expert(L.moe.up, e), &L.moe.up_b[e * c.n_ff], h);
                Vec act(g.size());
                for (size_t i = 0; i < g.size(); ++i) {
                    const double gi = std::min<double>(g[i], c.swiglu_limit);
                    const double ui = std::clamp<double>(u[i], -c.swiglu_limit, c.swiglu_limit);
                    act[i] = gi / (1.0 + std::exp(-c.swiglu_alpha * gi)) * (ui + 1.0);
                }
                const Vec d = linear(expert(L.moe.down, e), &L.moe.down_b[e * C], act);
                for (int64_t i = 0; i < C; ++i) moe[i] += wts[j] * d[i];
            }
            for (int64_t i = 0; i < C; ++i) x[t][i] += moe[i];
        }
    }
    // Output rows dequantized once each (the vocabulary is large), applied to every position.
    std::vector<Vec> xn(T);
    for (int64_t t = 0; t < T; ++t) xn[t] = rms_norm(x[t], w.out_norm.weight, c.eps);
    std::vector<float> out(static_cast<size_t>(T * c.n_vocab));
    std::vector<float> out_row(C);
    for (int64_t r = 0; r < c.n_vocab; ++r) {
        w.output.row(r, out_row.data());
        for (int64_t t = 0; t < T; ++t) {
            double s = 0;
            for (int64_t i = 0; i < C; ++i) s += static_cast<double>(out_row[i]) * xn[t][i];
            out[t * c.n_vocab + r] = static_cast<float>(s);
        }
    }
    return out;
}

}  // namespace silica::arch
