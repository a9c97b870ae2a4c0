// Load-time repacking of weight matrices (Q4_0, MXFP4, Q8_0, Q4_K, Q6_K, F16) into a row-interleaved layout
// that lets one vector instruction work on 16 rows at once (kernels/matmul_repacked.h multiplies
// it).
//
// Why: in GGUF order a GEMV decodes one row's 32-weight block at a time and has to reduce each
// block's partial sums across vector lanes and broadcast that row's scale. Interleaving 16 rows
// puts row l in int32 lane l of a 512-bit vector: every instruction serves 16 rows, one activation
// load feeds all of them, the 16 rows' scales are one vector and no horizontal sums are needed.
//
// Layout ("x16"). Rows are taken in groups of 16 (the last group padded with all-zero rows, which
// decode to 0). With nb = cols / 32 blocks per row, group g starts at g * repacked_group_bytes()
// and holds:
//   codes:  nb tiles; tile b holds block b of the 16 rows in chunks of 64 bytes, each chunk 4
//           consecutive bytes per row (int32 lane l = row l):
//           Q4_0, MXFP4: 256-byte tiles, 4 chunks; byte 64*t + 4*l + j (t < 4, l < 16, j < 4):
//             low nibble  = 4-bit code of element 8*t + j     of row l's block b
//             high nibble = 4-bit code of element 8*t + 4 + j of row l's block b
//           Q8_0: 512-byte tiles, 8 chunks; byte 64*t + 4*l + j (t < 8) = int8 code of element
//             4*t + j of row l's block b
//   scales: nb entries of 16 scales (one per row l, in row order): Q4_0, Q8_0: the fp16 d (2 bytes
//           each, 32 bytes per block); MXFP4: the E8M0 byte e (16 bytes).
//   padding to a multiple of 64 bytes, so 64-byte aligned groups stay aligned.
// The codes are ggml's codes unchanged (Q4_0: q + 8; MXFP4: E2M1 with the sign in bit 3; Q8_0:
// int8); only their positions move. Repacking is lossless: unpack_row_x16 restores GGUF bytes.
//
// Q4_K, Q6_K (cols a multiple of 256): the same groups of 16 rows and 32-element blocks, with the
// K-quants' scales kept as they are (so the copy is as small as the GGUF one). Group g holds:
//   codes:        nb tiles; tile b holds block b of the 16 rows:
//                 Q4_K: 256 bytes, the 4-bit codes q exactly as a Q4_0 tile;
//                 Q6_K: 384 bytes, the low 4 bits of the 6-bit codes u as a Q4_0 tile, then 128
//                 bytes: byte 256 + 64*h + 4*l + j, bits 2s..2s+1 = top 2 bits of element
//                 4*(4h + s) + j (h < 2, s < 4) of row l's block b.
//   block scales: nb entries of 32 bytes: Q4_K: the 6-bit scales s of the 16 rows, then their
//                 6-bit mins n; Q6_K: the int8 scales of elements 0..15 of the 16 rows, then those
//                 of elements 16..31.
//   super scales: nb / 8 entries (one per 256-element super-block): Q4_K: the 16 rows' fp16 d,
//                 then their fp16 dmin (64 bytes); Q6_K: the 16 fp16 d (32 bytes).
//   padding to a multiple of 64 bytes.
// Values as in GGUF: Q4_K d*s*q - dmin*n, Q6_K d*sc*(u - 32).
//
// F16 ("panel" layout; any cols >= 1): no blocks and no scales. Group g is cols columns of 32
// bytes, column-major: bytes 32 * j + 2 * l .. +1 hold the fp16 bits of row l, column j. So one
// 32-byte load is column j of 16 rows (vcvtph2ps makes it a 16-float vector, lane l = row l) and
// a group is one sequential stream of 2 bytes per weight (no float copy: decode reads half as much
// as it would from f32). Group bytes: 32 * cols rounded up to 64.
#pragma once
#include <cstddef>
#include <cstdint>

#include "quant/types.h"

namespace silica {

constexpr int kRepackRows = 16;

// True for the types repack_x16 accepts (Q4_0, MXFP4, Q8_0, Q4_K, Q6_K, F16).
bool can_repack_x16(TensorType type);
// Bytes of one group of 16 rows (a multiple of 64). cols must be a positive multiple of 32 (K
// types: of 256; F16: any positive count).
size_t repacked_group_bytes(TensorType type, int64_t cols);
// Bytes of the whole repacked matrix: ceil(rows / 16) groups.
size_t repacked_bytes(TensorType type, int64_t rows, int64_t cols);

// src: `rows` GGUF rows of `cols` elements, src_row_stride bytes apart. dst: repacked_bytes()
// bytes (64-byte alignment recommended, not required). Throws silica::Error on a type it cannot
// repack or a bad shape.
void repack_x16(TensorType type, const uint8_t* src, size_t src_row_stride, int64_t rows, int64_t cols,
                uint8_t* dst);
// The inverse: writes row r (r < rows) in GGUF bytes to dst_row (row_bytes(type, cols) bytes).
void unpack_row_x16(TensorType type, const uint8_t* repacked, int64_t rows, int64_t cols, int64_t r,
                    uint8_t* dst_row);

}  // namespace silica
