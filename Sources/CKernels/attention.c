// Causal self-attention's inner loops for one (batch row, head) task (Autograd's CausalAttention lays out the
// scratch and draws the dropout masks). Operands are zero-padded to whole vectors of 16 (head size, time), so every
// product is four rows of whole 16-lane multiply-adds; the padding contributes zeros.
#include "kernel.h"

// Four rows of a product: Σ_k A[r, k]·B[k, 0..<16] for r < 4 and k in [k0, k1), A[r, k] = a[r·row_stride +
// k·depth_stride], B's row k the vector at b + k·b_stride. Rows from `rows` on repeat the last real row.
INLINE void four_rows(const int fused, const float *a, ptrdiff_t row_stride, ptrdiff_t depth_stride, size_t rows,
                      const float *b, ptrdiff_t b_stride, size_t k0, size_t k1, vf out[4]) {
    const float *a0 = a, *a1 = a + (rows > 1 ? 1 : 0) * row_stride, *a2 = a + (rows > 2 ? 2 : rows - 1) * row_stride,
                *a3 = a + (rows > 3 ? 3 : rows - 1) * row_stride;
    vf c0 = splat(0), c1 = splat(0), c2 = splat(0), c3 = splat(0);
    for (size_t k = k0; k < k1; k++) {
        vf bk = load_f(b + k * b_stride);
        ptrdiff_t at = (ptrdiff_t)k * depth_stride;
        c0 = madd(fused, splat(a0[at]), bk, c0);
        c1 = madd(fused, splat(a1[at]), bk, c1);
        c2 = madd(fused, splat(a2[at]), bk, c2);
        c3 = madd(fused, splat(a3[at]), bk, c3);
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

// The first `rows` rows of a block, their first `lanes` lanes times `scale`, at target + r·row_stride.
INLINE void store_rows(const vf block[4], size_t rows, size_t lanes, float scale, float *target, ptrdiff_t row_stride) {
    for (size_t r = 0; r < rows; r++) store_n(target + r * row_stride, block[r] * scale, lanes);
}

// Row t's softmax in place over its first t + 1 scores (the row's maximum subtracted first), zero after.
INLINE void softmax_row(const int fused, float *row, size_t t, size_t padded_time) {
    size_t vectors = t / WIDTH + 1;
    const vf lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    float *last_vector = row + WIDTH * (vectors - 1);
    vf last = load_f(last_vector);
    last = lane > (float)(t - WIDTH * (vectors - 1)) ? splat(-__builtin_inff()) : last;
    store_f(last_vector, last);
    vf largest = last;
    for (size_t j = 0; j + 1 < vectors; j++) {
        vf v = load_f(row + WIDTH * j);
        largest = largest < v ? v : largest;
    }
    vf maximum = splat(max16(largest)), total = splat(0);
    for (size_t j = 0; j < vectors; j++) {
        vf e = exp16(fused, load_f(row + WIDTH * j) - maximum);
        store_f(row + WIDTH * j, e);
        total += e;
    }
    float inverse = 1.0f / sum16(total);
    for (size_t j = 0; j < vectors; j++) store_f(row + WIDTH * j, load_f(row + WIDTH * j) * inverse);
    for (size_t j = vectors; j < padded_time / WIDTH; j++) store_f(row + WIDTH * j, splat(0));
}

INLINE void attention_scores_body(const int fused, const int lanes, const float *a, ptrdiff_t a_stride,
                                  const float *b_transposed, size_t time, size_t padded_time, size_t depth,
                                  float scale, float *scores, int softmax) {
    for (size_t t0 = 0; t0 < time; t0 += 4) {
        size_t rows = time - t0 < 4 ? time - t0 : 4;
        for (size_t j = 0; j < t0 / WIDTH + 1; j++) {
            vf block[4];
            four_rows(fused, a + t0 * a_stride, a_stride, 1, rows, b_transposed + WIDTH * j, padded_time, 0, depth, block);
            store_rows(block, rows, WIDTH, scale, scores + t0 * padded_time + WIDTH * j, padded_time);
        }
        if (softmax)
            for (size_t r = 0; r < rows; r++) softmax_row(fused, scores + (t0 + r) * padded_time, t0 + r, padded_time);
    }
}
PATHS(attention_scores, (const float *a, ptrdiff_t a_stride, const float *b_transposed, size_t time, size_t padded_time,
                         size_t depth, float scale, float *scores, int softmax),
      (a, a_stride, b_transposed, time, padded_time, depth, scale, scores, softmax))

INLINE void attention_weighted_sum_body(const int fused, const int lanes_, const float *weights, size_t padded_time,
                                        const float *values, size_t padded_head, size_t time, size_t head_size,
                                        float *out, ptrdiff_t out_stride) {
    for (size_t t0 = 0; t0 < time; t0 += 4) {
        size_t rows = time - t0 < 4 ? time - t0 : 4;
        for (size_t c = 0; c < head_size; c += WIDTH) {
            vf block[4];
            four_rows(fused, weights + t0 * padded_time, padded_time, 1, rows, values + c, padded_head, 0, t0 + rows, block);
            store_rows(block, rows, head_size - c < WIDTH ? head_size - c : WIDTH, 1.0f, out + t0 * out_stride + c, out_stride);
        }
    }
}
PATHS(attention_weighted_sum, (const float *weights, size_t padded_time, const float *values, size_t padded_head,
                               size_t time, size_t head_size, float *out, ptrdiff_t out_stride),
      (weights, padded_time, values, padded_head, time, head_size, out, out_stride))

INLINE void attention_softmax_backward_body(const int fused, const int lanes, const float *weights, float *grad,
                                            size_t time, size_t padded_time, float scale) {
    for (size_t t = 0; t < time; t++) {
        const float *row = weights + t * padded_time;
        float *g = grad + t * padded_time;
        size_t vectors = t / WIDTH + 1;
        vf weighted = splat(0);
        for (size_t j = 0; j < vectors; j++) weighted = madd(fused, load_f(row + WIDTH * j), load_f(g + WIDTH * j), weighted);
        vf total = splat(sum16(weighted));
        for (size_t j = 0; j < vectors; j++)
            store_f(g + WIDTH * j, load_f(row + WIDTH * j) * (load_f(g + WIDTH * j) - total) * scale);
        for (size_t j = vectors; j < padded_time / WIDTH; j++) store_f(g + WIDTH * j, splat(0));
    }
}
PATHS(attention_softmax_backward, (const float *weights, float *grad, size_t time, size_t padded_time, float scale),
      (weights, grad, time, padded_time, scale))

INLINE void attention_input_gradients_body(const int fused, const int lanes_, const float *dscores,
                                           const float *dropped, size_t padded_time, const float *keys,
                                           const float *queries, const float *gradients, size_t padded_head,
                                           size_t time, size_t head_size, float *dq, float *dk, float *dv,
                                           ptrdiff_t stride) {
    for (size_t t0 = 0; t0 < time; t0 += 4) {
        size_t rows = time - t0 < 4 ? time - t0 : 4;
        for (size_t c = 0; c < head_size; c += WIDTH) {
            size_t lanes = head_size - c < WIDTH ? head_size - c : WIDTH;
            vf block[4];
            four_rows(fused, dscores + t0 * padded_time, padded_time, 1, rows, keys + c, padded_head, 0, t0 + rows, block);
            store_rows(block, rows, lanes, 1.0f, dq + t0 * stride + c, stride);
            four_rows(fused, dscores + t0, 1, padded_time, rows, queries + c, padded_head, t0, time, block);
            store_rows(block, rows, lanes, 1.0f, dk + t0 * stride + c, stride);
            four_rows(fused, dropped + t0, 1, padded_time, rows, gradients + c, padded_head, t0, time, block);
            store_rows(block, rows, lanes, 1.0f, dv + t0 * stride + c, stride);
        }
    }
}
PATHS(attention_input_gradients, (const float *dscores, const float *dropped, size_t padded_time, const float *keys,
                                  const float *queries, const float *gradients, size_t padded_head, size_t time,
                                  size_t head_size, float *dq, float *dk, float *dv, ptrdiff_t stride),
      (dscores, dropped, padded_time, keys, queries, gradients, padded_head, time, head_size, dq, dk, dv, stride))
