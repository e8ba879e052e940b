// Adam's and AdamW's fused per-element step (see Kernels' AdamStep for the formulas and their order), written once
// over 16-lane vectors and compiled for each instruction set (kernel.h).
#include "kernel.h"

INLINE vf load_m(const void *base, size_t i, int bf16) {
    return bf16 ? load_h((const uint16_t *)base + i) : load_f((const float *)base + i);
}

INLINE vf store_m(void *base, size_t i, vf value, int bf16) {
    if (bf16) return store_h((uint16_t *)base + i, value);
    store_f((float *)base + i, value);
    return value;
}

// Sixteen elements from i.
// `s` is a copy on the caller's stack, so that stores through the buffers cannot alias it and its scalars stay in
// registers across the loop.
INLINE void update(const int fused, const adamw_adam_scalars *restrict s, float *param, const float *grad,
                   void *exp_avg, void *exp_avg_sq, void *max_exp_avg_sq, size_t i, int amsgrad, int coupled, int bf16) {
    vf g = load_f(grad + i), theta = load_f(param + i);
    vf m = load_m(exp_avg, i, bf16), v = load_m(exp_avg_sq, i, bf16);
    if (s->maximize) g = g * -1.0f;
    theta = theta * s->decay_factor;
    if (coupled) g = madd(fused, theta, splat(s->l2), g);
    vf delta = g - m;
    m = s->beta1_weight < 0.5f ? madd(fused, splat(s->beta1_weight), delta, m)
                               : madd(fused, splat(s->beta1_weight - 1.0f), delta, g);
    v = madd(fused, g * s->one_minus_beta2, g, v * s->beta2);
    vf second = v;
    if (amsgrad) {
        vf previous = load_m(max_exp_avg_sq, i, bf16);
        second = ((previous < v) | (v != v)) ? v : previous;  // NaN propagates, as torch.maximum
        second = store_m(max_exp_avg_sq, i, second, bf16);
    }
    // bfloat16 moments: the step uses the values as stored, so that a resumed run takes the same step.
    m = store_m(exp_avg, i, m, bf16);
    v = store_m(exp_avg_sq, i, v, bf16);
    if (!amsgrad) second = v;
    vf denominator = madd(fused, vsqrt(second), splat(s->inverse_bias_correction2_sqrt), splat(s->eps));
    theta = madd(fused, splat(-s->step_size), m / denominator, theta);
    store_f(param + i, theta);
}

// Whole vectors, then the tail through zero-padded scratch: the same vector code, so the same bits.
INLINE void range(const int fused, const adamw_adam_scalars *scalars, float *param, const float *grad, void *exp_avg, void *exp_avg_sq,
                  void *max_exp_avg_sq, size_t begin, size_t end, int amsgrad, int coupled, int bf16) {
    const adamw_adam_scalars copy = *scalars, *s = &copy;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) update(fused, s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, i, amsgrad, coupled, bf16);
    if (i == end) return;
    size_t lanes = end - i, bytes = bf16 ? 2 : 4;
    float t[WIDTH] = {0}, g[WIDTH] = {0}, m[WIDTH] = {0}, v[WIDTH] = {0}, mx[WIDTH] = {0};
    memcpy(t, param + i, 4 * lanes);
    memcpy(g, grad + i, 4 * lanes);
    memcpy(m, (char *)exp_avg + i * bytes, bytes * lanes);
    memcpy(v, (char *)exp_avg_sq + i * bytes, bytes * lanes);
    if (amsgrad) memcpy(mx, (char *)max_exp_avg_sq + i * bytes, bytes * lanes);
    update(fused, s, t, g, m, v, mx, 0, amsgrad, coupled, bf16);
    memcpy(param + i, t, 4 * lanes);
    memcpy((char *)exp_avg + i * bytes, m, bytes * lanes);
    memcpy((char *)exp_avg_sq + i * bytes, v, bytes * lanes);
    if (amsgrad) memcpy((char *)max_exp_avg_sq + i * bytes, mx, bytes * lanes);
}

// The eight variants as constants, so that each loop has no branch on them.
INLINE void adam_step_body(const int fused, const int lanes, const adamw_adam_scalars *s, float *param,
                           const float *grad, void *m, void *v, void *mx, size_t begin, size_t end, int bf16) {
    int coupled = s->l2 != 0.0f;
    switch ((s->amsgrad ? 4 : 0) | (coupled ? 2 : 0) | (bf16 ? 1 : 0)) {
    case 0: range(fused, s, param, grad, m, v, mx, begin, end, 0, 0, 0); break;
    case 1: range(fused, s, param, grad, m, v, mx, begin, end, 0, 0, 1); break;
    case 2: range(fused, s, param, grad, m, v, mx, begin, end, 0, 1, 0); break;
    case 3: range(fused, s, param, grad, m, v, mx, begin, end, 0, 1, 1); break;
    case 4: range(fused, s, param, grad, m, v, mx, begin, end, 1, 0, 0); break;
    case 5: range(fused, s, param, grad, m, v, mx, begin, end, 1, 0, 1); break;
    case 6: range(fused, s, param, grad, m, v, mx, begin, end, 1, 1, 0); break;
    default: range(fused, s, param, grad, m, v, mx, begin, end, 1, 1, 1); break;
    }
}
PATHS(adam_step, (const adamw_adam_scalars *s, float *param, const float *grad, void *exp_avg, void *exp_avg_sq,
                  void *max_exp_avg_sq, size_t begin, size_t end, int bf16),
      (s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, begin, end, bf16))
