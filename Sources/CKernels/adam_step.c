// Adam's and AdamW's fused per-element step (see Kernels' AdamStep for the formulas and their order), written once
// over 16-lane vectors and compiled for each instruction set by the target attribute of a small wrapper: the body
// is inlined into each wrapper and vectorised for its registers (one zmm on AVX-512, two ymm on AVX2, four xmm or
// four q registers on SSE2 and NEON). SSE2 has no fused multiply-add: its lanes call fmaf, which rounds once as the
// instruction does, so that every path gives the same bits.
#include "CKernels.h"
#pragma clang diagnostic ignored "-Wpsabi"
#define memcpy __builtin_memcpy

typedef float vf __attribute__((ext_vector_type(16)));
typedef unsigned int vu __attribute__((ext_vector_type(16)));
typedef int vi __attribute__((ext_vector_type(16)));
typedef unsigned short vh __attribute__((ext_vector_type(16)));

#define INLINE static inline __attribute__((always_inline))
#define WIDTH 16

INLINE vf load_f(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
INLINE void store_f(float *p, vf v) { memcpy(p, &v, sizeof v); }
INLINE vf fma16(vf a, vf b, vf c) { return __builtin_elementwise_fma(a, b, c); }
INLINE vf splat(float x) { return (vf)x; }

// bfloat16: the upper half of a float32. Stored rounded to nearest even; a NaN keeps its bits with the quiet bit
// set (its rounding could carry into the exponent). The stored value is handed back as float32.
INLINE vf load_h(const uint16_t *p) {
    vh halves;
    memcpy(&halves, p, sizeof halves);
    return (vf)(__builtin_convertvector(halves, vu) << 16);
}

INLINE vf store_h(uint16_t *p, vf values) {
    vu bits = (vu)values;
    vu rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
    vi magnitude = (vi)(bits & 0x7FFFFFFFu);
    vu is_nan = (vu)(((vi)0x7F800000 - magnitude) >> 31);  // all ones for a NaN only
    rounded = ((rounded & ~is_nan) | ((bits | 0x00400000u) & is_nan)) & 0xFFFF0000u;
    vh halves = __builtin_convertvector(rounded >> 16, vh);
    memcpy(p, &halves, sizeof halves);
    return (vf)rounded;
}

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
INLINE void update(const adamw_adam_scalars *restrict s, float *param, const float *grad, void *exp_avg, void *exp_avg_sq,
                   void *max_exp_avg_sq, size_t i, int amsgrad, int coupled, int bf16) {
    vf g = load_f(grad + i), theta = load_f(param + i);
    vf m = load_m(exp_avg, i, bf16), v = load_m(exp_avg_sq, i, bf16);
    if (s->maximize) g = g * -1.0f;
    theta = theta * s->decay_factor;
    if (coupled) g = fma16(theta, splat(s->l2), g);
    vf delta = g - m;
    m = s->beta1_weight < 0.5f ? fma16(splat(s->beta1_weight), delta, m)
                               : fma16(splat(s->beta1_weight - 1.0f), delta, g);
    v = fma16(g * s->one_minus_beta2, g, v * s->beta2);
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
    vf denominator = fma16(__builtin_elementwise_sqrt(second), splat(s->inverse_bias_correction2_sqrt), splat(s->eps));
    theta = fma16(splat(-s->step_size), m / denominator, theta);
    store_f(param + i, theta);
}

// Whole vectors, then the tail through zero-padded scratch: the same vector code, so the same bits.
INLINE void range(const adamw_adam_scalars *scalars, float *param, const float *grad, void *exp_avg, void *exp_avg_sq,
                  void *max_exp_avg_sq, size_t begin, size_t end, int amsgrad, int coupled, int bf16) {
    const adamw_adam_scalars copy = *scalars, *s = &copy;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) update(s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, i, amsgrad, coupled, bf16);
    if (i == end) return;
    size_t lanes = end - i, bytes = bf16 ? 2 : 4;
    float t[WIDTH] = {0}, g[WIDTH] = {0}, m[WIDTH] = {0}, v[WIDTH] = {0}, mx[WIDTH] = {0};
    memcpy(t, param + i, 4 * lanes);
    memcpy(g, grad + i, 4 * lanes);
    memcpy(m, (char *)exp_avg + i * bytes, bytes * lanes);
    memcpy(v, (char *)exp_avg_sq + i * bytes, bytes * lanes);
    if (amsgrad) memcpy(mx, (char *)max_exp_avg_sq + i * bytes, bytes * lanes);
    update(s, t, g, m, v, mx, 0, amsgrad, coupled, bf16);
    memcpy(param + i, t, 4 * lanes);
    memcpy((char *)exp_avg + i * bytes, m, bytes * lanes);
    memcpy((char *)exp_avg_sq + i * bytes, v, bytes * lanes);
    if (amsgrad) memcpy((char *)max_exp_avg_sq + i * bytes, mx, bytes * lanes);
}

// The eight variants as constants, so that each loop has no branch on them.
#define VARIANTS(name, attributes)                                                                                   \
    attributes static void name(const adamw_adam_scalars *s, float *param, const float *grad, void *m, void *v,      \
                                void *mx, size_t begin, size_t end, int bf16) {                                     \
        int coupled = s->l2 != 0.0f;                                                                                 \
        switch ((s->amsgrad ? 4 : 0) | (coupled ? 2 : 0) | (bf16 ? 1 : 0)) {                                       \
        case 0: range(s, param, grad, m, v, mx, begin, end, 0, 0, 0); break;                                         \
        case 1: range(s, param, grad, m, v, mx, begin, end, 0, 0, 1); break;                                         \
        case 2: range(s, param, grad, m, v, mx, begin, end, 0, 1, 0); break;                                         \
        case 3: range(s, param, grad, m, v, mx, begin, end, 0, 1, 1); break;                                         \
        case 4: range(s, param, grad, m, v, mx, begin, end, 1, 0, 0); break;                                         \
        case 5: range(s, param, grad, m, v, mx, begin, end, 1, 0, 1); break;                                         \
        case 6: range(s, param, grad, m, v, mx, begin, end, 1, 1, 0); break;                                         \
        default: range(s, param, grad, m, v, mx, begin, end, 1, 1, 1); break;                                        \
        }                                                                                                            \
    }

#if defined(__x86_64__)
VARIANTS(step_avx512, __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma"))))
VARIANTS(step_avx2, __attribute__((target("avx2,fma"))))
VARIANTS(step_sse2, )
#elif defined(__aarch64__)
VARIANTS(step_neon, )
#endif

// The portable path, for any CPU: one element at a time, the same operations in the same order.
static float bf16_load(const void *base, size_t i) {
    uint32_t bits = (uint32_t)((const uint16_t *)base)[i] << 16;
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

static float bf16_store(void *base, size_t i, float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint32_t rounded = (bits & 0x7FFFFFFFu) > 0x7F800000u ? (bits | 0x00400000u) & 0xFFFF0000u
                                                          : (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
    ((uint16_t *)base)[i] = (uint16_t)(rounded >> 16);
    memcpy(&value, &rounded, 4);
    return value;
}

static float load_one(const void *base, size_t i, int bf16) { return bf16 ? bf16_load(base, i) : ((const float *)base)[i]; }

static float store_one(void *base, size_t i, float value, int bf16) {
    if (bf16) return bf16_store(base, i, value);
    ((float *)base)[i] = value;
    return value;
}

static void step_generic(const adamw_adam_scalars *s, float *param, const float *grad, void *exp_avg,
                         void *exp_avg_sq, void *max_exp_avg_sq, size_t begin, size_t end, int bf16) {
    for (size_t i = begin; i < end; i++) {
        float g = grad[i], theta = param[i], m = load_one(exp_avg, i, bf16), v = load_one(exp_avg_sq, i, bf16);
        if (s->maximize) g = g * -1.0f;
        theta = theta * s->decay_factor;
        if (s->l2 != 0.0f) g = __builtin_fmaf(theta, s->l2, g);
        float delta = g - m;
        m = s->beta1_weight < 0.5f ? __builtin_fmaf(s->beta1_weight, delta, m)
                                   : __builtin_fmaf(s->beta1_weight - 1.0f, delta, g);
        v = __builtin_fmaf(g * s->one_minus_beta2, g, v * s->beta2);
        float second = v;
        if (s->amsgrad) {
            float previous = load_one(max_exp_avg_sq, i, bf16);
            second = store_one(max_exp_avg_sq, i, (previous < v || v != v) ? v : previous, bf16);
        }
        m = store_one(exp_avg, i, m, bf16);
        v = store_one(exp_avg_sq, i, v, bf16);
        if (!s->amsgrad) second = v;
        float denominator = __builtin_fmaf(__builtin_elementwise_sqrt(second), s->inverse_bias_correction2_sqrt, s->eps);
        param[i] = __builtin_fmaf(-s->step_size, m / denominator, theta);
    }
}

void adamw_adam_step(int path, const adamw_adam_scalars *s, float *param, const float *grad, void *exp_avg,
                     void *exp_avg_sq, void *max_exp_avg_sq, size_t begin, size_t end, int bf16) {
    switch (path) {
#if defined(__x86_64__)
    case ADAMW_CPU_AVX512: step_avx512(s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, begin, end, bf16); return;
    case ADAMW_CPU_AVX2: step_avx2(s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, begin, end, bf16); return;
    case ADAMW_CPU_SSE2: step_sse2(s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, begin, end, bf16); return;
#elif defined(__aarch64__)
    case ADAMW_CPU_NEON: step_neon(s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, begin, end, bf16); return;
#endif
    default: step_generic(s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, begin, end, bf16); return;
    }
}
