// Weight decay toward a reference point θ_ref (Adam's and AdamW's `decay_to`): the pass before Adam's step that
// takes the place of its decay. Each operation is rounded as PyTorch's in-place ops round it (contraction is off,
// kernel.h), so a step is the same whatever storage the moments have.
#include "kernel.h"

// θ ← (θ − θ_ref)·factor + θ_ref, as `θ.sub_(ref).mul_(factor).add_(ref)`.
INLINE void decay_toward_body(const int fused, const int lanes, float *param, const float *reference, float factor,
                              size_t begin, size_t end) {
    (void)fused;
    (void)lanes;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) {
        vf r = load_f(reference + i);
        store_f(param + i, (load_f(param + i) - r) * factor + r);
    }
    for (; i < end; i++) param[i] = (param[i] - reference[i]) * factor + reference[i];
}
PATHS(decay_toward, (float *param, const float *reference, float factor, size_t begin, size_t end),
      (param, reference, factor, begin, end))

// out[i − begin] ← g + l2·(θ − θ_ref), g negated first with `maximize`: the gradient Adam's coupled step takes,
// with the product and sum fused as in that step (adam_step.c).
INLINE void l2_toward_body(const int fused, const int lanes, float *out, const float *grad, const float *param,
                           const float *reference, float l2, int maximize, size_t begin, size_t end) {
    (void)lanes;
    float sign = maximize ? -1.0f : 1.0f;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) {
        vf g = load_f(grad + i) * sign;
        store_f(out + (i - begin), madd(fused, load_f(param + i) - load_f(reference + i), splat(l2), g));
    }
    for (; i < end; i++) out[i - begin] = madd1(fused, param[i] - reference[i], l2, grad[i] * sign);
}
PATHS(l2_toward, (float *out, const float *grad, const float *param, const float *reference, float l2, int maximize,
                  size_t begin, size_t end),
      (out, grad, param, reference, l2, maximize, begin, end))
