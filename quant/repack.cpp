#include "quant/repack.h"

#include <cstring>
#include <string>

#include "quant/blocks.h"
#include "quant/kquant_scales.h"
#include "silica/error.h"

namespace silica {
namespace {

// Code bytes of one tile (block b of 16 rows): 16 x 16 bytes of nibbles, or 16 x 32 int8 (Q8_0).
size_t tile_code_bytes(TensorType t) { return t == TensorType::Q8_0 ? 512 : 256; }

// Bytes of a block's header in GGUF (the scale) and of one row's scale in the repacked layout.
size_t scale_bytes(TensorType t) { return t == TensorType::MXFP4 ? 1 : 2; }

bool is_kquant(TensorType t) { return t == TensorType::Q4_K || t == TensorType::Q6_K; }

void check(TensorType t, int64_t rows, int64_t cols) {
    if (!can_repack_x16(t))
        throw Error("repack: type " + std::string(type_traits(t).name) + " has no row-interleaved layout");
    const int64_t unit = t == TensorType::F16 ? 1 : is_kquant(t) ? kQKK : kQK;
    if (rows < 0 || cols <= 0 || cols % unit != 0)
        throw Error("repack: bad shape " + std::to_string(rows) + "x" + std::to_string(cols));
}

// Where element e (< 32) of row l's block goes inside a tile: the byte, and for 4-bit types the
// nibble (shift 0 or 4). See the layout in quant/repack.h.
struct CodePos {
    size_t byte;
    int shift;
};
CodePos position(TensorType t, int l, int e) {
    if (t == TensorType::Q8_0) return {static_cast<size_t>(64 * (e / 4) + 4 * l + e % 4), 0};
    const int c = e / 8, within = e % 8;
    return {static_cast<size_t>(64 * c + 4 * l + within % 4), within >= 4 ? 4 : 0};
}

// Code of element e of a GGUF block's code bytes: Q8_0 byte e; 4-bit types: e < 16 the low nibble
// of byte e, else the high nibble of byte e - 16.
int gguf_code(TensorType t, const uint8_t* qs, int e) {
    if (t == TensorType::Q8_0) return qs[e];
    return e < 16 ? (qs[e] & 15) : (qs[e - 16] >> 4);
}
void set_gguf_code(TensorType t, uint8_t* qs, int e, int code) {
    if (t == TensorType::Q8_0)
        qs[e] = static_cast<uint8_t>(code);
    else
        qs[e % 16] |= static_cast<uint8_t>(code << (e < 16 ? 0 : 4));
}

// F16 panels (see quant/repack.h): weight (l, j) of a group at byte 32 * j + 2 * l.
constexpr size_t kF16ColumnBytes = kRepackRows * 2;

void repack_f16(const uint8_t* src, size_t src_row_stride, int64_t rows, int64_t cols, size_t group_bytes,
                uint8_t* dst) {
    const int64_t groups = (rows + kRepackRows - 1) / kRepackRows;
    for (int64_t g = 0; g < groups; ++g) {
        uint8_t* group = dst + g * group_bytes;
        for (int l = 0; l < kRepackRows && g * kRepackRows + l < rows; ++l) {
            const uint8_t* row = src + (g * kRepackRows + l) * src_row_stride;
            for (int64_t j = 0; j < cols; ++j) std::memcpy(group + j * kF16ColumnBytes + 2 * l, row + 2 * j, 2);
        }
    }
}

void unpack_f16(const uint8_t* group, int l, int64_t cols, uint8_t* dst_row) {
    for (int64_t j = 0; j < cols; ++j) std::memcpy(dst_row + 2 * j, group + j * kF16ColumnBytes + 2 * l, 2);
}


// K-quants (see quant/repack.h): the byte sizes of one group's parts per 32-element block
// (tile, block scales) and per 256-element super-block (super scales).
struct KLayout {
    size_t tile, block_scales, super_scales;
};
KLayout k_layout(TensorType t) { return t == TensorType::Q4_K ? KLayout{256, 32, 64} : KLayout{384, 32, 32}; }

// Code of element e of block c (< 8) of a GGUF super-block p: Q4_K the 4-bit q, Q6_K the 6-bit u
// (layouts as in kernels/matmul_ref.cpp's decoders).
int k_code(TensorType t, const uint8_t* p, int c, int e) {
    if (t == TensorType::Q4_K) {
        const uint8_t v = p[16 + 32 * (c / 2) + e];
        return c % 2 == 0 ? (v & 15) : (v >> 4);
    }
    const int n = c / 4, j = c % 4;
    const uint8_t lo = p[64 * n + 32 * (j % 2) + e];
    return ((j < 2) ? (lo & 15) : (lo >> 4)) | (((p[128 + 32 * n + e] >> (2 * j)) & 3) << 4);
}
void set_k_code(TensorType t, uint8_t* p, int c, int e, int code) {
    if (t == TensorType::Q4_K) {
        p[16 + 32 * (c / 2) + e] |= static_cast<uint8_t>(code << (c % 2 == 0 ? 0 : 4));
        return;
    }
    const int n = c / 4, j = c % 4;
    p[64 * n + 32 * (j % 2) + e] |= static_cast<uint8_t>((code & 15) << (j < 2 ? 0 : 4));
    p[128 + 32 * n + e] |= static_cast<uint8_t>((code >> 4) << (2 * j));
}

// Where element e of row l's block goes in a K tile: its low nibble as in a Q4_0 tile; Q6_K's top
// 2 bits at byte 256 + 64h + 4l + e % 4, bits 2s..2s+1, for e / 4 = 4h + s.
CodePos k_low_position(int l, int e) { return position(TensorType::Q4_0, l, e); }
CodePos k_high_position(int l, int e) {
    const int q = e / 4;
    return {static_cast<size_t>(256 + 64 * (q / 4) + 4 * l + e % 4), 2 * (q % 4)};
}

// Row l of a group <-> GGUF row, for K types: nb blocks, super-block s = b / 8.
void repack_k_row(TensorType t, const uint8_t* row, int64_t nb, int l, uint8_t* group) {
    const KLayout k = k_layout(t);
    uint8_t* block_scales = group + nb * k.tile;
    uint8_t* super_scales = block_scales + nb * k.block_scales;
    const size_t sbb = static_cast<size_t>(type_traits(t).block_bytes);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* p = row + (b / 8) * sbb;
        const int c = static_cast<int>(b % 8);
        uint8_t* tile = group + b * k.tile;
        for (int e = 0; e < kQK; ++e) {
            const int code = k_code(t, p, c, e);
            const CodePos lo = k_low_position(l, e);
            tile[lo.byte] |= static_cast<uint8_t>((code & 15) << lo.shift);
            if (t == TensorType::Q6_K) {
                const CodePos hi = k_high_position(l, e);
                tile[hi.byte] |= static_cast<uint8_t>((code >> 4) << hi.shift);
            }
        }
        uint8_t* bs = block_scales + b * k.block_scales;
        if (t == TensorType::Q4_K) {
            unpack_scale_min_k4(c, p + 4, bs[l], bs[16 + l]);
        } else {
            bs[l] = p[192 + 2 * c];
            bs[16 + l] = p[192 + 2 * c + 1];
        }
        if (c == 0) {
            uint8_t* ss = super_scales + (b / 8) * k.super_scales;
            std::memcpy(ss + 2 * l, t == TensorType::Q4_K ? p : p + 208, 2);                // d
            if (t == TensorType::Q4_K) std::memcpy(ss + 32 + 2 * l, p + 2, 2);              // dmin
        }
    }
}

void unpack_k_row(TensorType t, const uint8_t* group, int64_t nb, int l, uint8_t* row) {
    const KLayout k = k_layout(t);
    const uint8_t* block_scales = group + nb * k.tile;
    const uint8_t* super_scales = block_scales + nb * k.block_scales;
    const size_t sbb = static_cast<size_t>(type_traits(t).block_bytes);
    std::memset(row, 0, static_cast<size_t>(nb / 8) * sbb);
    for (int64_t s = 0; s < nb / 8; ++s) {
        uint8_t* p = row + s * sbb;
        const uint8_t* ss = super_scales + s * k.super_scales;
        uint8_t scale[8], min[8];
        for (int c = 0; c < 8; ++c) {
            const int64_t b = 8 * s + c;
            const uint8_t* tile = group + b * k.tile;
            for (int e = 0; e < kQK; ++e) {
                const CodePos lo = k_low_position(l, e);
                int code = (tile[lo.byte] >> lo.shift) & 15;
                if (t == TensorType::Q6_K) {
                    const CodePos hi = k_high_position(l, e);
                    code |= ((tile[hi.byte] >> hi.shift) & 3) << 4;
                }
                set_k_code(t, p, c, e, code);
            }
            const uint8_t* bs = block_scales + b * k.block_scales;
            if (t == TensorType::Q4_K) {
                scale[c] = bs[l];
                min[c] = bs[16 + l];
            } else {
                p[192 + 2 * c] = bs[l];
                p[192 + 2 * c + 1] = bs[16 + l];
            }
        }
        if (t == TensorType::Q4_K) {
            std::memcpy(p, ss + 2 * l, 2);
            std::memcpy(p + 2, ss + 32 + 2 * l, 2);
            pack_scales_mins_k4(scale, min, p + 4);
        } else {
            std::memcpy(p + 208, ss + 2 * l, 2);
        }
    }
}

}  // namespace

bool can_repack_x16(TensorType t) {
    return t == TensorType::Q4_0 || t == TensorType::MXFP4 || t == TensorType::Q8_0 || t == TensorType::F16 ||
           is_kquant(t);
}

size_t repacked_group_bytes(TensorType t, int64_t cols) {
    check(t, 0, cols);
    if (t == TensorType::F16) return (static_cast<size_t>(cols) * kF16ColumnBytes + 63) / 64 * 64;
    const size_t nb = static_cast<size_t>(cols / kQK);
    if (is_kquant(t)) {
        const KLayout k = k_layout(t);
        return (nb * (k.tile + k.block_scales) + nb / 8 * k.super_scales + 63) / 64 * 64;
    }
    const size_t bytes = nb * (tile_code_bytes(t) + kRepackRows * scale_bytes(t));
    return (bytes + 63) / 64 * 64;
}

size_t repacked_bytes(TensorType t, int64_t rows, int64_t cols) {
    check(t, rows, cols);
    return static_cast<size_t>((rows + kRepackRows - 1) / kRepackRows) * repacked_group_bytes(t, cols);
}

void repack_x16(TensorType t, const uint8_t* src, size_t src_row_stride, int64_t rows, int64_t cols, uint8_t* dst) {
    check(t, rows, cols);
    const int64_t nb = cols / kQK;
    const size_t group_bytes = repacked_group_bytes(t, cols);
    const size_t sb = scale_bytes(t);
    const size_t block_bytes = static_cast<size_t>(type_traits(t).block_bytes);
    const int64_t groups = (rows + kRepackRows - 1) / kRepackRows;
    std::memset(dst, 0, groups * group_bytes);  // padding rows decode to 0
    if (t == TensorType::F16) {
        repack_f16(src, src_row_stride, rows, cols, group_bytes, dst);
        return;
    }
    if (is_kquant(t)) {
        for (int64_t r = 0; r < rows; ++r)
            repack_k_row(t, src + r * src_row_stride, nb, static_cast<int>(r % kRepackRows),
                         dst + (r / kRepackRows) * group_bytes);
        return;
    }
    for (int64_t g = 0; g < groups; ++g) {
        uint8_t* codes = dst + g * group_bytes;
        uint8_t* scales = codes + nb * tile_code_bytes(t);
        for (int l = 0; l < kRepackRows && g * kRepackRows + l < rows; ++l) {
            const uint8_t* row = src + (g * kRepackRows + l) * src_row_stride;
            for (int64_t b = 0; b < nb; ++b) {
                const uint8_t* block = row + b * block_bytes;
                std::memcpy(scales + (b * kRepackRows + l) * sb, block, sb);  // both start with the scale
                const uint8_t* qs = block + sb;
                uint8_t* tile = codes + b * tile_code_bytes(t);
                for (int e = 0; e < kQK; ++e) {
                    const CodePos p = position(t, l, e);
                    tile[p.byte] |= static_cast<uint8_t>(gguf_code(t, qs, e) << p.shift);
                }
            }
        }
    }
}

void unpack_row_x16(TensorType t, const uint8_t* repacked, int64_t rows, int64_t cols, int64_t r, uint8_t* dst_row) {
    check(t, rows, cols);
    if (r < 0 || r >= rows) throw Error("repack: row " + std::to_string(r) + " outside 0.." + std::to_string(rows));
    if (t == TensorType::F16) {
        unpack_f16(repacked + (r / kRepackRows) * repacked_group_bytes(t, cols), static_cast<int>(r % kRepackRows),
                   cols, dst_row);
        return;
    }
    const int64_t nb = cols / kQK;
    if (is_kquant(t)) {
        unpack_k_row(t, repacked + (r / kRepackRows) * repacked_group_bytes(t, cols), nb,
                     static_cast<int>(r % kRepackRows), dst_row);
        return;
    }
    const size_t sb = scale_bytes(t);
    const size_t block_bytes = static_cast<size_t>(type_traits(t).block_bytes);
    const uint8_t* codes = repacked + (r / kRepackRows) * repacked_group_bytes(t, cols);
    const uint8_t* scales = codes + nb * tile_code_bytes(t);
    const int l = static_cast<int>(r % kRepackRows);
    for (int64_t b = 0; b < nb; ++b) {
        uint8_t* block = dst_row + b * block_bytes;
        std::memcpy(block, scales + (b * kRepackRows + l) * sb, sb);
        uint8_t* qs = block + sb;
        std::memset(qs, 0, block_bytes - sb);
        const uint8_t* tile = codes + b * tile_code_bytes(t);
        for (int e = 0; e < kQK; ++e) {
            const CodePos p = position(t, l, e);
            const int mask = t == TensorType::Q8_0 ? 0xFF : 0x0F;
            set_gguf_code(t, qs, e, (tile[p.byte] >> p.shift) & mask);
        }
    }
}

}  // namespace silica
