// What every kernel file shares (not part of the public header): the 16-lane vector type and its helpers, the
// multiply-add that is fused or not by path, the transcendental functions, and the macro that compiles a kernel's
// body once per instruction set and writes its dispatching entry point.
//
// A kernel is an always-inline body taking `const int fused` and `const int lanes` (the path's natural vector
// width: 16, 8 or 4 floats, for a body whose register blocking depends on it) first; `PATHS(name, (params), (args))` defines
// `name_avx512`, `name_avx2` (fused) and `name_sse2` (not) on x86-64, `name_neon` (fused) on arm64, and
// `name_generic` (not fused, no target attribute: the baseline of whatever CPU the package is built for), then
// `void adamw_name(int path, params)` choosing among them. The body is inlined into each and compiled for that
// target's registers: a 16-lane vector is one zmm on AVX-512, two ymm on AVX2, four xmm (or NEON q) registers.
//
// The bits: each fused multiply-add rounds once on every FMA path, so AVX-512, AVX2 and NEON give the same bits
// wherever the arithmetic is written over the same 16 lanes (reductions included). SSE2 has no FMA instruction
// (a libm fmaf per lane is ~30× slower), so it and the generic path round the product and the sum separately:
// their bits are each other's, not the FMA paths'. Contraction is off, so `a * b + c` is never fused behind our back.
#ifndef ADAMW_KERNEL_H
#define ADAMW_KERNEL_H

#include "CKernels.h"
#pragma clang diagnostic ignored "-Wpsabi"
#pragma clang fp contract(off)
#define memcpy __builtin_memcpy
#define memset __builtin_memset

typedef float vf __attribute__((ext_vector_type(16)));
typedef unsigned int vu __attribute__((ext_vector_type(16)));
typedef int vi __attribute__((ext_vector_type(16)));
typedef unsigned short vh __attribute__((ext_vector_type(16)));

#define INLINE static inline __attribute__((always_inline))
#define WIDTH 16
#define UNPACK(...) __VA_ARGS__

#if defined(__x86_64__)
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi2")))
#define TARGET_AVX2 __attribute__((target("avx2,fma,bmi2")))
#define PATHS(name, params, args)                                                                                   \
    TARGET_AVX512 static void name##_avx512 params { name##_body(1, 16, UNPACK args); }                              \
    TARGET_AVX2 static void name##_avx2 params { name##_body(1, 8, UNPACK args); }                                  \
    static void name##_sse2 params { name##_body(0, 4, UNPACK args); }                                              \
    void adamw_##name(int path, UNPACK params) {                                                                    \
        switch (path) {                                                                                             \
        case ADAMW_CPU_AVX512: name##_avx512 args; return;                                                         \
        case ADAMW_CPU_AVX2: name##_avx2 args; return;                                                             \
        default: name##_sse2 args; return; /* generic: x86-64's baseline is SSE2, the same code */                 \
        }                                                                                                           \
    }
#elif defined(__aarch64__)
#define PATHS(name, params, args)                                                                                   \
    static void name##_neon params { name##_body(1, 4, UNPACK args); }                                              \
    static void name##_generic params { name##_body(0, 4, UNPACK args); }                                           \
    void adamw_##name(int path, UNPACK params) {                                                                    \
        if (path == ADAMW_CPU_NEON) name##_neon args; else name##_generic args;                                    \
    }
#else
#define PATHS(name, params, args)                                                                                   \
    void adamw_##name(int path, UNPACK params) { (void)path; name##_body(0, 4, UNPACK args); }
#endif

// Loads and stores of whole vectors at any alignment, and of a row's last `lanes` (< 16) elements, zero-padded.
INLINE vf load_f(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
INLINE void store_f(float *p, vf v) { memcpy(p, &v, sizeof v); }
INLINE vf load_part(const float *p, size_t lanes) {
    float t[WIDTH] = {0};
    for (size_t i = 0; i < lanes; i++) t[i] = p[i];
    return load_f(t);
}
INLINE void store_part(float *p, vf v, size_t lanes) {
    float t[WIDTH];
    store_f(t, v);
    for (size_t i = 0; i < lanes; i++) p[i] = t[i];
}
INLINE vf load_n(const float *p, size_t lanes) { return lanes == WIDTH ? load_f(p) : load_part(p, lanes); }
INLINE void store_n(float *p, vf v, size_t lanes) { if (lanes == WIDTH) store_f(p, v); else store_part(p, v, lanes); }
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

/// a·b + c, rounded once on the FMA paths, twice on the others.
INLINE vf madd(const int fused, vf a, vf b, vf c) { return fused ? __builtin_elementwise_fma(a, b, c) : a * b + c; }
INLINE float madd1(const int fused, float a, float b, float c) { return fused ? __builtin_fmaf(a, b, c) : a * b + c; }

INLINE vf select_f(vi mask, vf yes, vf no) { return mask ? yes : no; }
INLINE vf vsqrt(vf x) { return __builtin_elementwise_sqrt(x); }

/// The sum of the 16 lanes halving pairwise (8 + 8, 4 + 4, 2 + 2, 1 + 1): a fixed order on every path.
INLINE float sum16(vf x) {
    typedef float v8 __attribute__((ext_vector_type(8)));
    typedef float v4 __attribute__((ext_vector_type(4)));
    typedef float v2 __attribute__((ext_vector_type(2)));
    v8 eight = x.lo + x.hi;
    v4 four = eight.lo + eight.hi;
    v2 two = four.lo + four.hi;
    return two.x + two.y;
}

/// The largest of the 16 lanes, halving pairwise (a NaN lane is skipped unless compared last).
INLINE float max16(vf x) {
    typedef float v8 __attribute__((ext_vector_type(8)));
    typedef float v4 __attribute__((ext_vector_type(4)));
    typedef float v2 __attribute__((ext_vector_type(2)));
    v8 eight = x.lo < x.hi ? x.hi : x.lo;
    v4 four = eight.lo < eight.hi ? eight.hi : eight.lo;
    v2 two = four.lo < four.hi ? four.hi : four.lo;
    return two.x < two.y ? two.y : two.x;
}

/// eˣ lane by lane, as Cephes' expf: n = round(x/ln 2), r = x − n·ln 2 with ln 2 in two parts (the first has 9
/// significant bits, so n times it is exact with or without FMA), eʳ ≈ 1 + r + r²·P(r), then 2ⁿ from exponent bits
/// as two factors so that results under the smallest normal underflow gradually and over the largest overflow to ∞.
/// The input is clamped to [−104, 88.73] first; NaN gives NaN. Relative error ~1 ulp where the result is normal.
INLINE vf exp16(const int fused, vf x) {
    vf clamped = x < -104.0f ? splat(-104.0f) : x;
    clamped = clamped > 88.73f ? splat(88.73f) : clamped;
    // Adding 1.5·2²³ rounds x/ln 2 to the nearest integer n and leaves n in the low mantissa bits.
    const float shifter = 0x1.8p23f;
    vf t = madd(fused, clamped, splat(1.44269504f), splat(shifter));
    vf n = t - shifter;
    vf r = clamped - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    vf p = splat(1.9875691500e-4f);
    p = madd(fused, p, r, splat(1.3981999507e-3f));
    p = madd(fused, p, r, splat(8.3334519073e-3f));
    p = madd(fused, p, r, splat(4.1665795894e-2f));
    p = madd(fused, p, r, splat(1.6666665459e-1f));
    p = madd(fused, p, r, splat(5.0000001201e-1f));
    vf er = madd(fused, p, r * r, r + 1.0f);
    vi integer = (vi)t - 0x4B400000;
    vi low = integer >> 1, high = integer - low;
    vf scale_low = (vf)((low + 127) << 23), scale_high = (vf)((high + 127) << 23);
    vf result = er * scale_low * scale_high;
    return x != x ? x : result;
}

/// erf(x) lane by lane (Eigen's rational approximation x·P(x²)/Q(x²)), exactly ±1 from |x| = 3.919206 on, where
/// erf rounds to ±1 in float. Absolute error ≤ 5e-7; NaN gives NaN.
INLINE vf erf16(const int fused, vf x) {
    vf x2 = x * x;
    vf p = splat(-2.72614225801306e-10f);
    p = madd(fused, p, x2, splat(2.77068142495902e-08f));
    p = madd(fused, p, x2, splat(-2.10102402082508e-06f));
    p = madd(fused, p, x2, splat(-5.69250639462346e-05f));
    p = madd(fused, p, x2, splat(-7.34990630326855e-04f));
    p = madd(fused, p, x2, splat(-2.95459980854025e-03f));
    p = madd(fused, p, x2, splat(-1.60960333262415e-02f));
    vf q = splat(-1.45660718464996e-05f);
    q = madd(fused, q, x2, splat(-2.13374055278905e-04f));
    q = madd(fused, q, x2, splat(-1.68282697438203e-03f));
    q = madd(fused, q, x2, splat(-7.37332916720468e-03f));
    q = madd(fused, q, x2, splat(-1.42647390514189e-02f));
    vf result = x * (p / q);
    result = x >= 3.919206f ? splat(1.0f) : result;
    return x <= -3.919206f ? splat(-1.0f) : result;
}

#endif
