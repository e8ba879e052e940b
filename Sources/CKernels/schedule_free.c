// Schedule-Free AdamW's fused per-element step and the interpolation its train/eval switch uses (see Kernels'
// ScheduleFreeStep for the formulas and their order), over 16-lane vectors, compiled for each instruction set
// (kernel.h). The last elements run as one whole vector through zero-padded scratch: the same code, so the same
// bits wherever an element sits.
#include "kernel.h"

/// lerp(start, end, w) as PyTorch's vectorized CPU kernel: start + w·(end − start) when |w| < 0.5, else
/// end + (w − 1)·(end − start), one multiply-add.
INLINE vf lerp16(const int fused, vf start, vf end, float weight) {
    int small = __builtin_fabsf(weight) < 0.5f;
    return madd(fused, splat(small ? weight : weight - 1.0f), end - start, small ? start : end);
}

// Streams: g, y, z, v.
INLINE void schedule_free_update(const int fused, const adamw_schedule_free_scalars *s, const float *grad, float *y_,
                                 float *z_, float *v_, size_t i, int fresh, int decay) {
    vf g = load_f(grad + i), y = load_f(y_ + i), v = load_f(v_ + i);
    vf z = fresh ? y : load_f(z_ + i);
    v = madd(fused, g * s->one_minus_beta2, g, v * s->beta2);
    vf denom = vsqrt(v / s->bias_correction2) + s->eps;
    vf normalized = g / denom;
    if (decay) normalized = madd(fused, y, splat(s->weight_decay), normalized);
    y = lerp16(fused, y, z, s->ckp1);
    y = madd(fused, normalized, splat(s->y_lr), y);
    z = madd(fused, normalized, splat(-s->lr), z);
    store_f(y_ + i, y);
    store_f(z_ + i, z);
    store_f(v_ + i, v);
}

INLINE void schedule_free_range(const int fused, const adamw_schedule_free_scalars *scalars, float *param,
                                const float *grad, float *z, float *v, size_t begin, size_t end, int fresh,
                                int decay) {
    const adamw_schedule_free_scalars copy = *scalars, *s = &copy;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) schedule_free_update(fused, s, grad, param, z, v, i, fresh, decay);
    if (i == end) return;
    size_t lanes = end - i;
    float scratch[4][WIDTH];
    memset(scratch, 0, sizeof scratch);
    memcpy(scratch[0], grad + i, 4 * lanes);
    memcpy(scratch[1], param + i, 4 * lanes);
    memcpy(scratch[2], z + i, 4 * lanes);
    memcpy(scratch[3], v + i, 4 * lanes);
    schedule_free_update(fused, s, scratch[0], scratch[1], scratch[2], scratch[3], 0, fresh, decay);
    memcpy(param + i, scratch[1], 4 * lanes);
    memcpy(z + i, scratch[2], 4 * lanes);
    memcpy(v + i, scratch[3], 4 * lanes);
}

INLINE void schedule_free_step_body(const int fused, const int lanes, const adamw_schedule_free_scalars *s,
                                    float *param, const float *grad, float *z, float *exp_avg_sq, size_t begin,
                                    size_t end) {
    (void)lanes;
    switch ((s->fresh ? 2 : 0) | (s->weight_decay != 0.0f ? 1 : 0)) {
    case 0: schedule_free_range(fused, s, param, grad, z, exp_avg_sq, begin, end, 0, 0); break;
    case 1: schedule_free_range(fused, s, param, grad, z, exp_avg_sq, begin, end, 0, 1); break;
    case 2: schedule_free_range(fused, s, param, grad, z, exp_avg_sq, begin, end, 1, 0); break;
    default: schedule_free_range(fused, s, param, grad, z, exp_avg_sq, begin, end, 1, 1); break;
    }
}
PATHS(schedule_free_step, (const adamw_schedule_free_scalars *s, float *param, const float *grad, float *z,
                           float *exp_avg_sq, size_t begin, size_t end),
      (s, param, grad, z, exp_avg_sq, begin, end))

INLINE void lerp_body(const int fused, const int lanes, float *values, const float *end, float weight, size_t begin,
                      size_t end_index) {
    (void)lanes;
    size_t i = begin;
    for (; i + WIDTH <= end_index; i += WIDTH) store_f(values + i, lerp16(fused, load_f(values + i), load_f(end + i), weight));
    if (i == end_index) return;
    size_t count = end_index - i;
    store_part(values + i, lerp16(fused, load_part(values + i, count), load_part(end + i, count), weight), count);
}
PATHS(lerp, (float *values, const float *end, float weight, size_t begin, size_t end_index),
      (values, end, weight, begin, end_index))

// bfloat16 ↔ float32 (kernel.h's load_h and store_h), for a float32 step over bfloat16 state (Schedule-Free's v):
// whole vectors, then the tail through zero-padded scratch.
INLINE void bf16_decode_body(const int fused, const int lanes, const uint16_t *halves, float *out, size_t begin,
                             size_t end) {
    (void)fused;
    (void)lanes;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) store_f(out + (i - begin), load_h(halves + i));
    if (i == end) return;
    uint16_t h[WIDTH] = {0};
    float f[WIDTH];
    memcpy(h, halves + i, 2 * (end - i));
    store_f(f, load_h(h));
    memcpy(out + (i - begin), f, 4 * (end - i));
}
PATHS(bf16_decode, (const uint16_t *halves, float *out, size_t begin, size_t end), (halves, out, begin, end))

INLINE void bf16_encode_body(const int fused, const int lanes, const float *values, uint16_t *halves, size_t begin,
                             size_t end) {
    (void)fused;
    (void)lanes;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) store_h(halves + i, load_f(values + (i - begin)));
    if (i == end) return;
    float f[WIDTH] = {0};
    uint16_t h[WIDTH];
    memcpy(f, values + (i - begin), 4 * (end - i));
    store_h(h, load_f(f));
    memcpy(halves + i, h, 2 * (end - i));
}
PATHS(bf16_encode, (const float *values, uint16_t *halves, size_t begin, size_t end), (values, halves, begin, end))
