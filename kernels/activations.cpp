#include "kernels/activations.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/activations_isa.h"
#include "kernels/amx.h"
#include "kernels/isa.h"
#include "kernels/kernel_traits.h"
#include "kernels/matmul.h"
#include "silica/error.h"

namespace silica::kernels {

bool uses_q8_activations(TensorType t) {
    const KernelTraits* traits = find_kernel_traits(t, Isa::scalar);
    return traits != nullptr && traits->activations == ActivationForm::q8_blocks;
}

void quantize_activations_q8(const float* x, ActBlockQ8* out, int64_t k) {
    for (int64_t b = 0; b < k / kQK; ++b) {
        const float* xb = x + b * kQK;
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(xb[j]));
        const float d = amax / 127.0f;
        const float id = d > 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < kQK; ++j) {
            const int q = static_cast<int>(std::nearbyint(xb[j] * id));
            out[b].qs[j] = static_cast<int8_t>(std::clamp(q, -127, 127));
            sum += out[b].qs[j];
        }
        out[b].d = d;
        out[b].s = d * static_cast<float>(sum);
    }
}

uint16_t f32_to_bf16(float x) {
    uint32_t u;
    std::memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>(u >> 16);
}

void Activations::prepare(TensorType weight_type, const float* x, int64_t m, int64_t k) {
    reset(weight_type, x, m, k);
    prepare_rows(0, m);
}

void Activations::reset(TensorType weight_type, const float* x, int64_t m, int64_t k) {
    if (m < 0 || k <= 0) throw Error("matmul: bad activation shape " + std::to_string(m) + "x" + std::to_string(k));
    const KernelTraits& traits = kernel_traits(weight_type);  // throws for a type without kernels
    const int64_t bs = traits.block_size;
    if (k % bs != 0)
        throw Error("matmul: activation width " + std::to_string(k) + " is not a multiple of the " +
                    std::string(type_traits(weight_type).name) + " block size " + std::to_string(bs));
    if (m > 0 && x == nullptr) throw Error("matmul: null activations");
    weight_type_ = weight_type;
    form_ = traits.activations;
    m_ = m;
    k_ = k;
    x_ = x;
    has_tiles_ = false;
    has_wide_ = false;
    if (form_ == ActivationForm::q8_blocks) {
        q8_.resize(static_cast<size_t>(m * (k / kQK)));
        q8_sums_.resize(q8_.size());
        q8_half_sums_.resize(weight_type == TensorType::Q6_K ? q8_.size() : 0);
        // AMX tiles, for the weight types and batch sizes the AMX GEMM takes (kernels/matmul_amx.h).
        has_tiles_ = m >= kAmxMinRows && traits.amx_int8 && active_amx_int8();
        if (has_tiles_) {
            const size_t m16 = static_cast<size_t>((m + 15) / 16 * 16);
            tiles_.resize(m16 * static_cast<size_t>(k) / 64);  // k is a multiple of 32, m16 of 16
            tile_scales_.resize(m16 * static_cast<size_t>(k / kQK));
            // The padding rows of the last chunk: zeros with scale 0 (the real rows are written by
            // prepare_rows).
            for (int64_t i = m; i < static_cast<int64_t>(m16); ++i) write_tile_row(i, nullptr);
        }
        has_wide_ = traits.int16_batches && m >= kInt16MinRows && m <= kInt16MaxRows;
        if (has_wide_) wide_.resize(static_cast<size_t>(m * k));
    }
    if (form_ == ActivationForm::f32_bf16) bf16_.resize(static_cast<size_t>(m * k));
}

void Activations::write_tile_row(int64_t i, const ActBlockQ8* blocks) {
    const int64_t nb = k_ / kQK, chunk = i / 16, row = i % 16;
    for (int64_t b = 0; b < nb; ++b) {
        const size_t at = static_cast<size_t>((chunk * nb + b) * 16 + row);
        if (blocks) {
            std::memcpy(tiles_.front().bytes + at * kQK, blocks[b].qs, kQK);
            tile_scales_[at] = blocks[b].d;
        } else {
            std::memset(tiles_.front().bytes + at * kQK, 0, kQK);
            tile_scales_[at] = 0.0f;
        }
    }
}

void Activations::prepare_rows(int64_t begin, int64_t end) {
    if (begin < 0 || begin > end || end > m_)
        throw Error("matmul: activation rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside 0.." +
                    std::to_string(m_));
    const int64_t k = k_;
    const float* x = x_ + begin * k;
    const int64_t n = (end - begin) * k;  // elements
    if (form_ == ActivationForm::q8_blocks) {
        const int64_t nb = k / kQK;
        ActBlockQ8* q = q8_.data() + begin * nb;
        int32_t* sums = q8_sums_.data() + begin * nb;
        if (active_isa() >= Isa::avx512) {
            // Decode quantizes every matrix's input: the scalar loop (std::nearbyint per element)
            // was 4% of a GPT-2 124M decode step.
            avx512::quantize_activations_q8(x, q, sums, n);
        } else if (active_isa() == Isa::avx2) {
            avx2::quantize_activations_q8(x, q, sums, n);
        } else {
            quantize_activations_q8(x, q, n);
            for (int64_t b = 0; b < n / kQK; ++b) {
                int32_t sum = 0;
                for (int j = 0; j < kQK; ++j) sum += q[b].qs[j];
                sums[b] = sum;
            }
        }
        if (!q8_half_sums_.empty())
            for (int64_t b = 0; b < n / kQK; ++b) {
                int32_t sum = 0;
                for (int j = 0; j < kQK / 2; ++j) sum += q[b].qs[j];
                q8_half_sums_[begin * nb + b] = sum;
            }
        if (has_tiles_)
            for (int64_t i = begin; i < end; ++i) write_tile_row(i, q8_.data() + i * nb);
        if (has_wide_) {
            int16_t* wide = wide_.data() + begin * k;
            for (int64_t b = 0; b < n / kQK; ++b)
                for (int j = 0; j < kQK; ++j) wide[b * kQK + j] = q[b].qs[j];
        }
        return;
    }
    // Float weights read x itself (f32()); BF16 ones also want it rounded to bf16.
    if (form_ == ActivationForm::f32_bf16)
        for (int64_t j = 0; j < n; ++j) bf16_[begin * k + j] = f32_to_bf16(x[j]);
}

}  // namespace silica::kernels
