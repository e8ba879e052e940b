// The GEMM's inner loops (Kernels' GEMM keeps the blocking and the threads): packing A and B, the 6×32
// micro-tile, the macro-kernel over a block of tiles, and the dot-product kernel of a narrow C.
//
// A tile is 6 rows by 32 columns of C, each row a run of 32 accumulators kept in registers across the whole k loop.
// AVX-512 holds a row in two zmm (12 accumulators); AVX2 computes the tile as two 6×16 halves and SSE2 or NEON as
// four 6×8 quarters, each twelve registers of its width, over the same packed strips. Every element of C is one
// chain of multiply-adds over k in the same order, so the tile's shape changes no bit.
#include "kernel.h"

#define MR 6
#define NR 32

typedef float v8 __attribute__((ext_vector_type(8)));
typedef float v4 __attribute__((ext_vector_type(4)));

// One 6 × (2·L) block of a tile: columns [col, col + 2L) of each of the 6 rows. A's element (i, p) is at
// a[i·a_row + p·a_step], B's row p at b + p·b_step; C's row i at c + i·ldc.
#define DEFINE_BLOCK(V, L)                                                                                          \
    INLINE void block_##L(const int fused, size_t kc, const float *a, ptrdiff_t a_row, ptrdiff_t a_step,            \
                          const float *b, ptrdiff_t b_step, float *c, ptrdiff_t ldc, int overwrite) {               \
        V acc[MR][2];                                                                                               \
        for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (V)0.0f;                                               \
        const float *pa = a, *pb = b;                                                                               \
        for (size_t p = 0; p < kc; p++) {                                                                           \
            V b0, b1;                                                                                               \
            memcpy(&b0, pb, sizeof b0);                                                                             \
            memcpy(&b1, pb + L, sizeof b1);                                                                         \
            for (int i = 0; i < MR; i++) {                                                                          \
                V x = (V)pa[i * a_row];                                                                             \
                acc[i][0] = fused ? __builtin_elementwise_fma(x, b0, acc[i][0]) : x * b0 + acc[i][0];               \
                acc[i][1] = fused ? __builtin_elementwise_fma(x, b1, acc[i][1]) : x * b1 + acc[i][1];               \
            }                                                                                                       \
            pa += a_step;                                                                                           \
            pb += b_step;                                                                                           \
        }                                                                                                           \
        for (int i = 0; i < MR; i++) {                                                                              \
            float *row = c + i * ldc;                                                                               \
            if (!overwrite) {                                                                                       \
                V old0, old1;                                                                                       \
                memcpy(&old0, row, sizeof old0);                                                                    \
                memcpy(&old1, row + L, sizeof old1);                                                                \
                acc[i][0] = old0 + acc[i][0];                                                                       \
                acc[i][1] = old1 + acc[i][1];                                                                       \
            }                                                                                                       \
            memcpy(row, &acc[i][0], sizeof acc[i][0]);                                                              \
            memcpy(row + L, &acc[i][1], sizeof acc[i][1]);                                                          \
        }                                                                                                           \
    }
DEFINE_BLOCK(vf, 16)
DEFINE_BLOCK(v8, 8)
DEFINE_BLOCK(v4, 4)

/// C[6×32] (+)= A[6×kc]·B[kc×32], in blocks of the path's width.
INLINE void tile(const int fused, const int lanes, size_t kc, const float *a, ptrdiff_t a_row, ptrdiff_t a_step,
                 const float *b, ptrdiff_t b_step, float *c, ptrdiff_t ldc, int overwrite) {
    if (lanes == 16) {
        block_16(fused, kc, a, a_row, a_step, b, b_step, c, ldc, overwrite);
    } else if (lanes == 8) {
        for (int col = 0; col < NR; col += 16) block_8(fused, kc, a, a_row, a_step, b + col, b_step, c + col, ldc, overwrite);
    } else {
        for (int col = 0; col < NR; col += 8) block_4(fused, kc, a, a_row, a_step, b + col, b_step, c + col, ldc, overwrite);
    }
}

INLINE void gemm_tile_body(const int fused, const int lanes, size_t kc, const float *a, ptrdiff_t a_row,
                           ptrdiff_t a_step, const float *b, ptrdiff_t b_step, float *c, ptrdiff_t ldc, int overwrite) {
    tile(fused, lanes, kc, a, a_row, a_step, b, b_step, c, ldc, overwrite);
}
PATHS(gemm_tile, (size_t kc, const float *a, ptrdiff_t a_row, ptrdiff_t a_step, const float *b, ptrdiff_t b_step,
                  float *c, ptrdiff_t ldc, int overwrite),
      (kc, a, a_row, a_step, b, b_step, c, ldc, overwrite))

INLINE void gemm_macro_body(const int fused, const int lanes, const adamw_gemm_strips *strips, size_t mc, size_t nc,
                            size_t kc, const float *packed_b, float *c, ptrdiff_t c_row, ptrdiff_t c_column,
                            int overwrite) {
    float edge[MR * NR] __attribute__((aligned(64)));
    for (size_t jr = 0; jr < nc; jr += NR) {
        size_t width = nc - jr < NR ? nc - jr : NR;
        const float *b = packed_b + (jr / NR) * kc * NR;
        for (size_t ir = 0; ir < mc; ir += MR) {
            size_t height = mc - ir < MR ? mc - ir : MR, s = ir / MR;
            const float *a;
            ptrdiff_t a_row, a_step;
            if (s < strips->in_place) {
                a = strips->base + s * strips->strip_stride;
                a_row = strips->row_stride;
                a_step = strips->step;
            } else {
                a = strips->packed + (s - strips->in_place) * kc * MR;
                a_row = 1;
                a_step = MR;
            }
            float *target = c + ir * c_row + jr * c_column;
            if (width == NR && height == MR && c_column == 1) {
                tile(fused, lanes, kc, a, a_row, a_step, b, NR, target, c_row, overwrite);
            } else {
                // A partial or transposed tile: the whole tile into scratch, then what exists of it.
                tile(fused, lanes, kc, a, a_row, a_step, b, NR, edge, NR, 1);
                for (size_t i = 0; i < height; i++) {
                    float *row = target + i * c_row;
                    for (size_t j = 0; j < width; j++) {
                        float value = edge[i * NR + j];
                        row[j * c_column] = overwrite ? value : row[j * c_column] + value;
                    }
                }
            }
        }
    }
}
PATHS(gemm_macro, (const adamw_gemm_strips *strips, size_t mc, size_t nc, size_t kc, const float *packed_b, float *c,
                   ptrdiff_t c_row, ptrdiff_t c_column, int overwrite),
      (strips, mc, nc, kc, packed_b, c, c_row, c_column, overwrite))

// An 8×8 block transposed in registers: unpack pairs of rows, then pairs of pairs, then swap 128-bit halves
// (24 shuffles for 64 elements; the scalar copy was 64 loads and 64 stores).
INLINE void transpose8x8(const float *source, ptrdiff_t stride, float *target, ptrdiff_t target_stride) {
    v8 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) memcpy(&r[i], source + i * stride, sizeof r[i]);
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int q = 0; q < 4; q++) {
        v8 low = __builtin_shufflevector(u[q], u[q + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        v8 high = __builtin_shufflevector(u[q], u[q + 4], 4, 5, 6, 7, 12, 13, 14, 15);
        memcpy(target + q * target_stride, &low, sizeof low);
        memcpy(target + (q + 4) * target_stride, &high, sizeof high);
    }
}

INLINE void gemm_pack_b_body(const int fused, const int lanes, const float *b, ptrdiff_t row_stride,
                             ptrdiff_t column_stride, size_t kc, size_t nc, size_t first_strip, size_t strips,
                             float *packed) {
    for (size_t strip = first_strip; strip < first_strip + strips; strip++) {
        float *out = packed + strip * kc * NR;
        size_t first_column = strip * NR, width = nc - first_column < NR ? nc - first_column : NR;
        const float *source = b + first_column * column_stride;
        if (column_stride == 1 && width == NR) {
            for (size_t p = 0; p < kc; p++) {
                vf x0 = load_f(source + p * row_stride), x1 = load_f(source + p * row_stride + 16);
                store_f(out + p * NR, x0);
                store_f(out + p * NR + 16, x1);
            }
        } else if (row_stride == 1 && width == NR) {
            // A transposed B (the weight of x·Wᵀ): each column is contiguous; 8×8 blocks, then the last rows.
            size_t blocked = kc / 8 * 8;
            for (size_t j = 0; j < NR; j += 8)
                for (size_t p = 0; p < blocked; p += 8)
                    transpose8x8(source + j * column_stride + p, column_stride, out + p * NR + j, NR);
            for (size_t p = blocked; p < kc; p++)
                for (size_t j = 0; j < NR; j++) out[p * NR + j] = source[p + j * column_stride];
        } else {
            for (size_t p = 0; p < kc; p++) {
                float *row = out + p * NR;
                for (size_t j = 0; j < width; j++) row[j] = source[p * row_stride + j * column_stride];
                for (size_t j = width; j < NR; j++) row[j] = 0;
            }
        }
    }
}
PATHS(gemm_pack_b, (const float *b, ptrdiff_t row_stride, ptrdiff_t column_stride, size_t kc, size_t nc,
                    size_t first_strip, size_t strips, float *packed),
      (b, row_stride, column_stride, kc, nc, first_strip, strips, packed))

INLINE void gemm_pack_a_body(const int fused, const int lanes, const float *a, ptrdiff_t row_stride,
                             ptrdiff_t column_stride, size_t mc, size_t kc, float *packed) {
    for (size_t first_row = 0, strip = 0; first_row < mc; first_row += MR, strip++) {
        float *out = packed + strip * kc * MR;
        size_t height = mc - first_row < MR ? mc - first_row : MR;
        const float *source = a + first_row * row_stride;
        if (height == MR) {
            // Six rows read in step; the packed strip interleaves them.
            for (size_t p = 0; p < kc; p++)
                for (int i = 0; i < MR; i++) out[p * MR + i] = source[i * row_stride + p * column_stride];
        } else {
            for (size_t p = 0; p < kc; p++) {
                for (size_t i = 0; i < height; i++) out[p * MR + i] = source[i * row_stride + p * column_stride];
                for (size_t i = height; i < MR; i++) out[p * MR + i] = 0;
            }
        }
    }
}
PATHS(gemm_pack_a, (const float *a, ptrdiff_t row_stride, ptrdiff_t column_stride, size_t mc, size_t kc, float *packed),
      (a, row_stride, column_stride, mc, kc, packed))

// C = A·Bᵀ (+ C) for a narrow C: each element a dot product of two contiguous rows, summed in 16 lanes, the lanes
// added pairwise, then the last k mod 16 terms one by one. A block of R rows of A by S rows of B shares its loads:
// 4×5 on AVX-512 (20 zmm accumulators), 1×3 elsewhere (a 16-lane accumulator is 2 ymm or 4 xmm). Rows or columns
// past the edge read the last valid row again and are not written.
INLINE void dot_block(const int fused, const int R, const int S, size_t row0, size_t m, size_t col0, size_t n,
                      size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                      int accumulate) {
    const float *ra[4], *rb[5];
    for (int i = 0; i < R; i++) ra[i] = a + (row0 + i < m ? row0 + i : m - 1) * lda;
    for (int j = 0; j < S; j++) rb[j] = b + (col0 + j < n ? col0 + j : n - 1) * ldb;
    vf acc[4][5];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < S; j++) acc[i][j] = splat(0);
    size_t p = 0;
    for (; p + WIDTH <= k; p += WIDTH) {
        vf x[4];
        for (int i = 0; i < R; i++) x[i] = load_f(ra[i] + p);
        for (int j = 0; j < S; j++) {
            vf y = load_f(rb[j] + p);
            for (int i = 0; i < R; i++) acc[i][j] = madd(fused, x[i], y, acc[i][j]);
        }
    }
    for (int i = 0; i < R && row0 + i < m; i++) {
        for (int j = 0; j < S && col0 + j < n; j++) {
            float total = sum16(acc[i][j]);
            for (size_t q = p; q < k; q++) total = madd1(fused, ra[i][q], rb[j][q], total);
            float *out = c + (row0 + i) * ldc + col0 + j;
            *out = accumulate ? *out + total : total;
        }
    }
}

INLINE void dot_rows_body(const int fused, const int lanes, size_t first_row, size_t last_row, size_t m, size_t n,
                          size_t k, const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                          int accumulate) {
    const int R = lanes == 16 ? 4 : 1, S = lanes == 16 ? 5 : 3;
    for (size_t row = first_row; row < last_row; row += R)
        for (size_t col = 0; col < n; col += S)
            dot_block(fused, R, S, row, last_row < m ? last_row : m, col, n, k, a, lda, b, ldb, c, ldc, accumulate);
}
PATHS(dot_rows, (size_t first_row, size_t last_row, size_t m, size_t n, size_t k, const float *a, size_t lda,
                 const float *b, size_t ldb, float *c, size_t ldc, int accumulate),
      (first_row, last_row, m, n, k, a, lda, b, ldb, c, ldc, accumulate))
