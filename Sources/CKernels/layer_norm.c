// Layer normalization's forward and backward passes over rows of n floats (see Kernels' LayerNormKernel for the
// formulas): each row read in 16-lane vectors, the last one zero-padded, with 16 partial sums added pairwise.
#include "kernel.h"

// The row's mean, then its biased variance as the mean of the squared deviations (a second pass: no cancellation).
INLINE void moments(const int fused, const float *row, size_t n, float *mean, float *variance) {
    vf total = splat(0);
    for (size_t j = 0; j < n; j += WIDTH) total += load_n(row + j, n - j < WIDTH ? n - j : WIDTH);
    float m = sum16(total) / (float)n;
    const vf lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    vf squares = splat(0);
    for (size_t j = 0; j < n; j += WIDTH) {
        size_t lanes = n - j < WIDTH ? n - j : WIDTH;
        vf deviation = load_n(row + j, lanes) - m;
        deviation = lane >= (float)lanes ? splat(0) : deviation;
        squares = madd(fused, deviation, deviation, squares);
    }
    *mean = m;
    *variance = sum16(squares) / (float)n;
}

INLINE void layer_norm_forward_body(const int fused, const int lanes_, const float *x, const float *gamma,
                                    const float *beta, float *y, float *mean, float *rstd, size_t first_row,
                                    size_t last_row, size_t n, double eps) {
    for (size_t r = first_row; r < last_row; r++) {
        const float *row = x + r * n;
        float *out = y + r * n;
        float row_mean, variance;
        moments(fused, row, n, &row_mean, &variance);
        float inverse = (float)(1.0 / __builtin_elementwise_sqrt((double)variance + eps));
        mean[r] = row_mean;
        rstd[r] = inverse;
        for (size_t j = 0; j < n; j += WIDTH) {
            size_t lanes = n - j < WIDTH ? n - j : WIDTH;
            vf xhat = (load_n(row + j, lanes) - row_mean) * inverse;
            store_n(out + j, madd(fused, xhat, load_n(gamma + j, lanes), load_n(beta + j, lanes)), lanes);
        }
    }
}
PATHS(layer_norm_forward, (const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd,
                           size_t first_row, size_t last_row, size_t n, double eps),
      (x, gamma, beta, y, mean, rstd, first_row, last_row, n, eps))

INLINE void layer_norm_backward_body(const int fused, const int lanes_, const float *g, const float *x,
                                     const float *gamma, const float *mean, const float *rstd, float *dx, float *sums,
                                     size_t first_row, size_t last_row, size_t n) {
    memset(sums, 0, 2 * n * sizeof(float));
    for (size_t r = first_row; r < last_row; r++) {
        const float *row = x + r * n, *gradient = g + r * n;
        float row_mean = mean[r], inverse = rstd[r];
        vf sum_grad = splat(0), sum_grad_xhat = splat(0);
        for (size_t j = 0; j < n; j += WIDTH) {
            size_t lanes = n - j < WIDTH ? n - j : WIDTH;
            vf xhat = (load_n(row + j, lanes) - row_mean) * inverse;
            vf gj = load_n(gradient + j, lanes);
            vf dxhat = gj * load_n(gamma + j, lanes);
            sum_grad += dxhat;
            sum_grad_xhat = madd(fused, dxhat, xhat, sum_grad_xhat);
            store_n(sums + j, madd(fused, gj, xhat, load_n(sums + j, lanes)), lanes);
            store_n(sums + n + j, load_n(sums + n + j, lanes) + gj, lanes);
        }
        if (!dx) continue;
        float mean_grad = sum16(sum_grad) / (float)n, mean_grad_xhat = sum16(sum_grad_xhat) / (float)n;
        for (size_t j = 0; j < n; j += WIDTH) {
            size_t lanes = n - j < WIDTH ? n - j : WIDTH;
            vf xhat = (load_n(row + j, lanes) - row_mean) * inverse;
            vf dxhat = load_n(gradient + j, lanes) * load_n(gamma + j, lanes);
            store_n(dx + r * n + j, madd(fused, -xhat, splat(mean_grad_xhat), dxhat - mean_grad) * inverse, lanes);
        }
    }
}
PATHS(layer_norm_backward, (const float *g, const float *x, const float *gamma, const float *mean, const float *rstd,
                            float *dx, float *sums, size_t first_row, size_t last_row, size_t n),
      (g, x, gamma, mean, rstd, dx, sums, first_row, last_row, n))

INLINE void layer_norm_sum_blocks_body(const int fused, const int lanes_, const float *partials, size_t blocks,
                                       size_t n, float *dweight, float *dbias) {
    for (size_t j = 0; j < n; j += WIDTH) {
        size_t lanes = n - j < WIDTH ? n - j : WIDTH;
        vf weight_sum = splat(0), bias_sum = splat(0);
        for (size_t b = 0; b < blocks; b++) {
            weight_sum += load_n(partials + 2 * b * n + j, lanes);
            bias_sum += load_n(partials + (2 * b + 1) * n + j, lanes);
        }
        if (dweight) store_n(dweight + j, weight_sum, lanes);
        if (dbias) store_n(dbias + j, bias_sum, lanes);
    }
}
PATHS(layer_norm_sum_blocks, (const float *partials, size_t blocks, size_t n, float *dweight, float *dbias),
      (partials, blocks, n, dweight, dbias))
