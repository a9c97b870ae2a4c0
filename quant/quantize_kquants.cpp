// K-quant quantizers. Two steps per super-block of 256:
//  1. fit each sub-block on its own: a scale (and, for the asymmetric types, an offset) chosen by a
//     small search over candidate scales, each refined by least squares on the codes it produces;
//  2. quantize the sub-block scales against one fp16 super-block scale, then recompute every code
//     against the scale the decoder will really use (fp16 super scale x integer sub-scale).
#include "quant/quantize_kquants.h"

#include <cmath>
#include <cstring>
#include <initializer_list>

#include "quant/fp16.h"
#include "quant/kquant_scales.h"
#include "quant/rounding.h"

namespace silica {
namespace {

// Sub-block fit for the asymmetric types: x ~ scale * q - offset, q in [0, max_code], offset >= 0
// (ggml's formats store the offset as a non-negative min subtracted from every value).
struct ScaleOffset {
    float scale = 0.0f;
    float offset = 0.0f;
};

// sum of x[j] * q[j] in double, n a multiple of 4. Four independent partial sums so the adds do
// not wait on each other (this loop runs ~20 times per sub-block); the order is fixed, so the
// result is deterministic.
double dot(const float* x, const int* q, int n) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int j = 0; j < n; j += 4) {
        s0 += static_cast<double>(x[j]) * q[j];
        s1 += static_cast<double>(x[j + 1]) * q[j + 1];
        s2 += static_cast<double>(x[j + 2]) * q[j + 2];
        s3 += static_cast<double>(x[j + 3]) * q[j + 3];
    }
    return (s0 + s1) + (s2 + s3);
}

ScaleOffset fit_scale_offset(const float* x, int n, int max_code) {
    float lo = x[0], hi = x[0];
    double sum_x = 0, sum_x2 = 0;
    for (int j = 0; j < n; ++j) {
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
        sum_x += x[j];
        sum_x2 += static_cast<double>(x[j]) * x[j];
    }
    if (lo > 0.0f) lo = 0.0f;  // the offset cannot be negative
    if (!(hi > lo)) return {0.0f, -lo};  // constant sub-block (or NaN): the offset alone
    ScaleOffset best{(hi - lo) / static_cast<float>(max_code), -lo};
    double best_err = INFINITY;
    float shifted[32];
    for (int j = 0; j < n; ++j) shifted[j] = x[j] - lo;
    int q[32];
    // Candidate steps: (hi - lo) / c for c from max_code - 1 to max_code + 1 in steps of 0.1.
    for (int k = 0; k <= 20; ++k) {
        const float iscale = (static_cast<float>(max_code) - 1.0f + 0.1f * static_cast<float>(k)) / (hi - lo);
        for (int j = 0; j < n; ++j) q[j] = round_clamped(iscale * shifted[j], 0, max_code);
        int sum_q = 0, sum_q2 = 0;
        for (int j = 0; j < n; ++j) {
            sum_q += q[j];
            sum_q2 += q[j] * q[j];
        }
        const double sum_xq = dot(x, q, n);
        // Least squares for x ~ a * q + b, then enforce b <= 0 (offset = -b >= 0).
        const double det = static_cast<double>(n) * sum_q2 - static_cast<double>(sum_q) * sum_q;
        if (det <= 0) continue;
        double a = (n * sum_xq - sum_x * sum_q) / det;
        double b = (sum_q2 * sum_x - sum_q * sum_xq) / det;
        if (b > 0) {
            b = 0;
            a = sum_xq / sum_q2;
        }
        if (!(a > 0)) continue;
        // sum over j of (a q_j + b - x_j)^2, expanded.
        const double err = sum_x2 + a * a * sum_q2 + n * b * b - 2 * a * sum_xq - 2 * b * sum_x + 2 * a * b * sum_q;
        if (err < best_err) {
            best_err = err;
            best = {static_cast<float>(a), static_cast<float>(-b)};
        }
    }
    return best;
}

// Sub-block fit for the symmetric types: x ~ scale * q, q in [-neg, neg - 1]. The candidates map
// the element of largest magnitude near the extra negative code -neg (as ggml's formats intend).
float fit_symmetric_scale(const float* x, int n, int neg) {
    float amax = 0.0f, mx = 0.0f;
    for (int j = 0; j < n; ++j)
        if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), mx = x[j];
    if (!(amax > 1e-30f)) return 0.0f;
    float best_scale = mx / static_cast<float>(-neg);
    double best_gain = -1;
    int q[32];
    for (int k = -9; k <= 9; ++k) {
        const float iscale = -(static_cast<float>(neg) + 0.1f * static_cast<float>(k)) / mx;
        for (int j = 0; j < n; ++j) q[j] = round_clamped(iscale * x[j], -neg, neg - 1);
        int sum_q2 = 0;
        for (int j = 0; j < n; ++j) sum_q2 += q[j] * q[j];
        const double sum_xq = dot(x, q, n);
        // For the least-squares scale sum_xq / sum_q2 the error is sum_x2 - sum_xq^2 / sum_q2.
        if (sum_q2 <= 0) continue;
        const double gain = sum_xq * sum_xq / sum_q2;
        if (gain > best_gain) {
            best_gain = gain;
            best_scale = static_cast<float>(sum_xq / sum_q2);
        }
    }
    return best_scale;
}

// Integer sub-scales q_j in [0, max_q] of non-negative values v_j against one fp16 super scale.
// Returns the fp16 bits of the super scale.
uint16_t quantize_unsigned_scales(const float* v, int count, int max_q, uint8_t* q) {
    float vmax = 0.0f;
    for (int j = 0; j < count; ++j) vmax = v[j] > vmax ? v[j] : vmax;
    const uint16_t d_bits = scale_to_fp16(vmax / static_cast<float>(max_q));
    const float d = fp16_to_f32(d_bits);
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < count; ++j) q[j] = static_cast<uint8_t>(round_clamped(v[j] * id, 0, max_q));
    return d_bits;
}

// Signed sub-scales q_j in [-neg, neg - 1]: the one of largest magnitude maps to -neg.
uint16_t quantize_signed_scales(const float* v, int count, int neg, int* q) {
    float amax = 0.0f, mx = 0.0f;
    for (int j = 0; j < count; ++j)
        if (std::fabs(v[j]) > amax) amax = std::fabs(v[j]), mx = v[j];
    const uint16_t d_bits = scale_to_fp16(mx == 0.0f ? 0.0f : mx / static_cast<float>(-neg));
    const float d = fp16_to_f32(d_bits);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < count; ++j) q[j] = round_clamped(v[j] * id, -neg, neg - 1);
    return d_bits;
}

// Asymmetric K-quant super-block (Q2_K, Q4_K, Q5_K): sub-blocks of `sub` elements, codes
// 0..max_code, sub-scales and sub-mins of 0..max_sub. Outputs codes[256] and the packed-agnostic
// integer scales/mins plus the two fp16 super scales.
struct AsymmetricBlock {
    uint16_t d, dmin;
    uint8_t scale[16], min[16];
    uint8_t code[kQKK];
};

void quantize_asymmetric(const float* x, int sub, int max_code, int max_sub, AsymmetricBlock& out) {
    const int n_sub = kQKK / sub;
    float scales[16], offsets[16];
    for (int s = 0; s < n_sub; ++s) {
        const ScaleOffset f = fit_scale_offset(x + s * sub, sub, max_code);
        scales[s] = f.scale;
        offsets[s] = f.offset;
    }
    out.d = quantize_unsigned_scales(scales, n_sub, max_sub, out.scale);
    out.dmin = quantize_unsigned_scales(offsets, n_sub, max_sub, out.min);
    const float d = fp16_to_f32(out.d), dmin = fp16_to_f32(out.dmin);
    for (int s = 0; s < n_sub; ++s) {
        // Rounding the sub-scale and sub-min independently is not always best once both are
        // integers: try their neighbours too and keep the pair with the smallest squared error.
        const int sc0 = out.scale[s], m0 = out.min[s];
        double best_err = INFINITY;
        for (int dsc : {0, -1, 1}) {  // the rounded pair first: it wins ties
            for (int dm : {0, -1, 1}) {
                const int sc = sc0 + dsc, m = m0 + dm;
                if (sc < 0 || sc > max_sub || m < 0 || m > max_sub) continue;
                // The same float products the decoder forms: value = dl * q - ml.
                const float dl = d * static_cast<float>(sc);
                const float ml = dmin * static_cast<float>(m);
                const float idl = dl > 0.0f ? 1.0f / dl : 0.0f;
                int q[32];
                double err = 0;
                for (int j = 0; j < sub; ++j) {
                    q[j] = round_clamped((x[s * sub + j] + ml) * idl, 0, max_code);
                    const float diff = dl * static_cast<float>(q[j]) - ml - x[s * sub + j];
                    err += static_cast<double>(diff) * diff;
                }
                if (err < best_err) {
                    best_err = err;
                    out.scale[s] = static_cast<uint8_t>(sc);
                    out.min[s] = static_cast<uint8_t>(m);
                    for (int j = 0; j < sub; ++j) out.code[s * sub + j] = static_cast<uint8_t>(q[j]);
                }
            }
        }
    }
}

// Symmetric K-quant super-block (Q3_K, Q6_K): sub-blocks of 16, codes -code_neg..code_neg-1,
// signed sub-scales -scale_neg..scale_neg-1.
struct SymmetricBlock {
    uint16_t d;
    int scale[16];
    int code[kQKK];
};

void quantize_symmetric(const float* x, int code_neg, int scale_neg, SymmetricBlock& out) {
    float scales[16];
    for (int s = 0; s < 16; ++s) scales[s] = fit_symmetric_scale(x + 16 * s, 16, code_neg);
    out.d = quantize_signed_scales(scales, 16, scale_neg, out.scale);
    const float d = fp16_to_f32(out.d);
    for (int s = 0; s < 16; ++s) {
        // As for the asymmetric types: the rounded sub-scale or a neighbour, whichever fits best.
        const int sc0 = out.scale[s];
        double best_err = INFINITY;
        for (int dsc : {0, -1, 1}) {
            const int sc = sc0 + dsc;
            if (sc < -scale_neg || sc > scale_neg - 1) continue;
            const float dl = d * static_cast<float>(sc);
            const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            int q[16];
            double err = 0;
            for (int j = 0; j < 16; ++j) {
                q[j] = round_clamped(x[16 * s + j] * idl, -code_neg, code_neg - 1);
                const float diff = dl * static_cast<float>(q[j]) - x[16 * s + j];
                err += static_cast<double>(diff) * diff;
            }
            if (err < best_err) {
                best_err = err;
                out.scale[s] = sc;
                for (int j = 0; j < 16; ++j) out.code[16 * s + j] = q[j];
            }
        }
    }
}

// Q2_K / Q3_K bit placement of the 2 low bits of element e: byte 32*(e/128) + e%32 of qs, bit pair
// (e%128)/32. Q3_K's third bit: bit 4*(e/128) + (e%128)/32 of hmask[e%32].
inline int low2_byte(int e) { return 32 * (e / 128) + e % 32; }
inline int low2_shift(int e) { return 2 * ((e % 128) / 32); }

}  // namespace

void quantize_q2_k(const float* x, BlockQ2_K* out, int64_t n_blocks) {
    AsymmetricBlock b;
    for (int64_t i = 0; i < n_blocks; ++i, x += kQKK) {
        quantize_asymmetric(x, 16, 3, 15, b);
        BlockQ2_K& o = out[i];
        std::memset(&o, 0, sizeof o);
        o.d = b.d;
        o.dmin = b.dmin;
        for (int s = 0; s < 16; ++s) o.scales[s] = static_cast<uint8_t>(b.scale[s] | (b.min[s] << 4));
        for (int e = 0; e < kQKK; ++e) o.qs[low2_byte(e)] |= static_cast<uint8_t>(b.code[e] << low2_shift(e));
    }
}

void quantize_q3_k(const float* x, BlockQ3_K* out, int64_t n_blocks) {
    SymmetricBlock b;
    for (int64_t i = 0; i < n_blocks; ++i, x += kQKK) {
        quantize_symmetric(x, 4, 32, b);
        BlockQ3_K& o = out[i];
        std::memset(&o, 0, sizeof o);
        o.d = b.d;
        uint8_t biased[16];
        for (int s = 0; s < 16; ++s) biased[s] = static_cast<uint8_t>(b.scale[s] + 32);
        pack_scales_q3k(biased, o.scales);
        for (int e = 0; e < kQKK; ++e) {
            const int u = b.code[e] + 4;  // 0..7; bit 2 set means "no -4"
            o.qs[low2_byte(e)] |= static_cast<uint8_t>((u & 3) << low2_shift(e));
            o.hmask[e % 32] |= static_cast<uint8_t>((u >> 2) << (4 * (e / 128) + (e % 128) / 32));
        }
    }
}

void quantize_q4_k(const float* x, BlockQ4_K* out, int64_t n_blocks) {
    AsymmetricBlock b;
    for (int64_t i = 0; i < n_blocks; ++i, x += kQKK) {
        quantize_asymmetric(x, 32, 15, 63, b);
        BlockQ4_K& o = out[i];
        o.d = b.d;
        o.dmin = b.dmin;
        pack_scales_mins_k4(b.scale, b.min, o.scales);
        // Chunk c of 64: low nibbles of qs[32c..32c+31] are elements 64c..64c+31, high nibbles the next 32.
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                o.qs[32 * c + l] = static_cast<uint8_t>(b.code[64 * c + l] | (b.code[64 * c + 32 + l] << 4));
    }
}

void quantize_q5_k(const float* x, BlockQ5_K* out, int64_t n_blocks) {
    AsymmetricBlock b;
    for (int64_t i = 0; i < n_blocks; ++i, x += kQKK) {
        quantize_asymmetric(x, 32, 31, 63, b);
        BlockQ5_K& o = out[i];
        o.d = b.d;
        o.dmin = b.dmin;
        pack_scales_mins_k4(b.scale, b.min, o.scales);
        std::memset(o.qh, 0, sizeof o.qh);
        for (int c = 0; c < 4; ++c) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t lo = b.code[64 * c + l], hi = b.code[64 * c + 32 + l];
                o.qs[32 * c + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
                o.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
        }
    }
}

void quantize_q6_k(const float* x, BlockQ6_K* out, int64_t n_blocks) {
    SymmetricBlock b;
    for (int64_t i = 0; i < n_blocks; ++i, x += kQKK) {
        quantize_symmetric(x, 32, 128, b);
        BlockQ6_K& o = out[i];
        std::memset(&o, 0, sizeof o);
        o.d = b.d;
        for (int s = 0; s < 16; ++s) o.scales[s] = static_cast<int8_t>(b.scale[s]);
        // Element e: half h = e/128, quarter t = (e%128)/32, l = e%32. Low 4 bits: ql[64h + l + 32*(t&1)],
        // nibble t>>1; high 2 bits: qh[32h + l], bit pair t.
        for (int e = 0; e < kQKK; ++e) {
            const int u = b.code[e] + 32;  // 0..63
            const int h = e / 128, t = (e % 128) / 32, l = e % 32;
            o.ql[64 * h + l + 32 * (t & 1)] |= static_cast<uint8_t>((u & 0x0f) << (4 * (t >> 1)));
            o.qh[32 * h + l] |= static_cast<uint8_t>((u >> 4) << (2 * t));
        }
    }
}

}  // namespace silica
