// The slow GPT-2 reference: every weight dequantized to float, every sum in double, one token
// at a time, no threads, no KV cache type — the definition the fast path is tested against.
#include <cmath>

#include "engine/arch/gpt2.h"

namespace silica::arch {
namespace {

using Vec = std::vector<double>;

std::vector<float> dequantized(const Weight& m) {
    std::vector<float> out(static_cast<size_t>(m.rows() * m.cols()));
    for (int64_t r = 0; r < m.rows(); ++r) m.row(r, &out[r * m.cols()]);
    return out;
}

Vec layer_norm(const Vec& x, const std::vector<float>& w, const std::vector<float>& b, double eps) {
    double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(x.size());
    for (double v : x) var += (v - mean) * (v - mean);
    var /= static_cast<double>(x.size());
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + eps) * w[i] + b[i];
    return y;
}

// y = W x + b with W [rows][cols] row-major floats.
Vec linear(const std::vector<float>& W, const std::vector<float>* b, const Vec& x, int64_t rows) {
    const int64_t cols = static_cast<int64_t>(x.size());
    Vec y(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
        double s = b ? (*b)[r] : 0.0;
        for (int64_t k = 0; k < cols; ++k) s += static_cast<double>(W[r * cols + k]) * x[k];
        y[r] = s;
    }
    return y;
}

double gelu(double x) {
    const double k = std::sqrt(2.0 / M_PI);
    return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

}  // namespace

std::vector<float> gpt2_reference_logits(const Gpt2Weights& w, std::span<const int32_t> tokens) {
    const auto& c = w.cfg;
    const int64_t C = c.n_embd, H = c.n_head, hd = c.head_dim(), T = static_cast<int64_t>(tokens.size());
    struct Dense { std::vector<float> qkv, out, up, down; };
    std::vector<Dense> dense;
    for (const auto& L : w.layers)
        dense.push_back({dequantized(L.qkv), dequantized(L.attn_out), dequantized(L.mlp.up), dequantized(L.mlp.down)});
    const std::vector<float> output = dequantized(w.output);

    std::vector<Vec> x(T);
    std::vector<float> row(C);
    for (int64_t t = 0; t < T; ++t) {
        x[t].assign(C, 0.0);
        w.token_embd.row(tokens[t], row.data());
        for (int64_t i = 0; i < C; ++i) x[t][i] = row[i];
        w.position_embd.row(t, row.data());
        for (int64_t i = 0; i < C; ++i) x[t][i] += row[i];
    }
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const Gpt2Layer& L = w.layers[l];
        const Dense& D = dense[l];
        std::vector<Vec> q(T), k(T), v(T);
        for (int64_t t = 0; t < T; ++t) {
            const Vec qkv = linear(D.qkv, &L.qkv_b, layer_norm(x[t], L.ln1.weight, L.ln1.bias, c.eps), 3 * C);
            q[t].assign(qkv.begin(), qkv.begin() + C);
            k[t].assign(qkv.begin() + C, qkv.begin() + 2 * C);
            v[t].assign(qkv.begin() + 2 * C, qkv.end());
        }
        for (int64_t t = 0; t < T; ++t) {
            Vec att(C, 0.0);
            for (int64_t h = 0; h < H; ++h) {
                Vec s(t + 1);
                double max = -INFINITY;
                for (int64_t j = 0; j <= t; ++j) {
                    double d = 0;
                    for (int64_t i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[j][h * hd + i];
                    s[j] = d / std::sqrt(static_cast<double>(hd));
                    max = std::max(max, s[j]);
                }
                double sum = 0;
                for (auto& e : s) sum += (e = std::exp(e - max));
                for (int64_t j = 0; j <= t; ++j)
                    for (int64_t i = 0; i < hd; ++i) att[h * hd + i] += s[j] / sum * v[j][h * hd + i];
            }
            const Vec o = linear(D.out, &L.attn_out_b, att, C);
            for (int64_t i = 0; i < C; ++i) x[t][i] += o[i];
            Vec u = linear(D.up, &L.mlp.up_b, layer_norm(x[t], L.ln2.weight, L.ln2.bias, c.eps), c.n_ff);
            for (auto& e : u) e = gelu(e);
            const Vec d = linear(D.down, &L.mlp.down_b, u, C);
            for (int64_t i = 0; i < C; ++i) x[t][i] += d[i];
        }
    }
    std::vector<float> logits(static_cast<size_t>(T * c.n_vocab));
    for (int64_t t = 0; t < T; ++t) {
        const Vec y = linear(output, nullptr, layer_norm(x[t], w.out_norm.weight, w.out_norm.bias, c.eps), c.n_vocab);
        for (int64_t i = 0; i < c.n_vocab; ++i) logits[t * c.n_vocab + i] = static_cast<float>(y[i]);
    }
    return logits;
}

}  // namespace silica::arch
