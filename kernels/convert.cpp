#include "kernels/convert.h"

#include "kernels/isa.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace silica::kernels {

void to_f32(TensorType type, const void* src, float* dst, int64_t n) {
    if (active_isa() >= Isa::avx2) {
        if (type == TensorType::F16) return avx2::f16_to_f32(static_cast<const uint16_t*>(src), dst, n);
        if (type == TensorType::BF16) return avx2::bf16_to_f32(static_cast<const uint16_t*>(src), dst, n);
    }
    dequantize_row(type, src, dst, n);
}

void from_f32(TensorType type, const float* src, void* dst, int64_t n) {
    if (active_isa() >= Isa::avx2 && type == TensorType::F16) return avx2::f32_to_f16(src, static_cast<uint16_t*>(dst), n);
    quantize_row(type, src, dst, n);
}

}  // namespace silica::kernels
