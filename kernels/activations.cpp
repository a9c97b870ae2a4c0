#include "kernels/activations.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "kernels/activations_isa.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "silica/error.h"

namespace silica::kernels {

bool uses_q8_activations(TensorType t) {
    switch (t) {
        case TensorType::Q8_0:
        case TensorType::Q4_0:
        case TensorType::Q4_1:
        case TensorType::Q5_0:
        case TensorType::Q5_1:
        case TensorType::MXFP4:
        case TensorType::Q4_K:
        case TensorType::Q5_K:
        case TensorType::Q6_K:
            return true;
        default:
            return false;
    }
}

int64_t weight_block_size(TensorType t) {
    switch (t) {
        case TensorType::F32:
        case TensorType::F16:
        case TensorType::BF16:
            return 1;
        case TensorType::Q4_K:
        case TensorType::Q5_K:
        case TensorType::Q6_K:
            return kQKK;
        default:
            if (uses_q8_activations(t)) return kQK;
            throw Error("matmul: unsupported weight type " + std::string(type_traits(t).name));
    }
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
    const int64_t bs = weight_block_size(weight_type);
    if (k % bs != 0)
        throw Error("matmul: activation width " + std::to_string(k) + " is not a multiple of the " +
                    std::string(type_traits(weight_type).name) + " block size " + std::to_string(bs));
    if (m > 0 && x == nullptr) throw Error("matmul: null activations");
    weight_type_ = weight_type;
    m_ = m;
    k_ = k;
    x_ = x;
    if (uses_q8_activations(weight_type)) {
        q8_.resize(static_cast<size_t>(m * (k / kQK)));
        q8_sums_.resize(q8_.size());
    } else {
        // The float kernels read f32(): a copy, so that x may change once prepared.
        f32_.resize(static_cast<size_t>(m * k));
    }
    if (weight_type == TensorType::BF16) bf16_.resize(static_cast<size_t>(m * k));
}

void Activations::prepare_rows(int64_t begin, int64_t end) {
    if (begin < 0 || begin > end || end > m_)
        throw Error("matmul: activation rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside 0.." +
                    std::to_string(m_));
    const int64_t k = k_;
    const float* x = x_ + begin * k;
    const int64_t n = (end - begin) * k;  // elements
    if (uses_q8_activations(weight_type_)) {
        const int64_t nb = k / kQK;
        ActBlockQ8* q = q8_.data() + begin * nb;
        int32_t* sums = q8_sums_.data() + begin * nb;
        if (active_isa() >= Isa::avx512) {
            // Decode quantizes every matrix's input: the scalar loop (std::nearbyint per element)
            // was 4% of a GPT-2 124M decode step.
            avx512::quantize_activations_q8(x, q, sums, n);
        } else {
            quantize_activations_q8(x, q, n);
            for (int64_t b = 0; b < n / kQK; ++b) {
                int32_t sum = 0;
                for (int j = 0; j < kQK; ++j) sum += q[b].qs[j];
                sums[b] = sum;
            }
        }
        return;
    }
    std::copy(x, x + n, f32_.data() + begin * k);
    if (weight_type_ == TensorType::BF16)
        for (int64_t j = 0; j < n; ++j) bf16_[begin * k + j] = f32_to_bf16(x[j]);
}

}  // namespace silica::kernels
