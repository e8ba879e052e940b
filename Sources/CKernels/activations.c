// GELU and its derivative in both of PyTorch's forms, and eˣ or erf over an array (for their tests), on 16-lane
// vectors with no libm call (kernel.h's exp16 and erf16). See Kernels' GELUKernel for the formulas. The last
// partial vector goes through the same code, zero-padded, so an element's bits do not depend on where it sits.
#include "kernel.h"

#define INVERSE_ROOT2 0.70710677f       // 1/√2
#define INVERSE_ROOT_2PI 0.3989423f     // 1/√(2π)
#define TWICE_ROOT_2_OVER_PI 1.5957691f // 2√(2/π)
#define CUBIC 0.044715f

/// x·Φ(x) = ½x(1 + erf(x/√2)), or the tanh form ½x(1 + tanh u) = x·σ(2u) = x / (1 + e^(−2u)),
/// u = √(2/π)(x + 0.044715x³): one exp, no tanh, no cancellation for negative x.
INLINE vf gelu_value(const int fused, vf x, int tanh_form) {
    if (tanh_form) {
        vf twice_u = x * madd(fused, x * x, splat(TWICE_ROOT_2_OVER_PI * CUBIC), splat(TWICE_ROOT_2_OVER_PI));
        return x / (1.0f + exp16(fused, -twice_u));
    }
    vf half = 0.5f * x;
    return madd(fused, half, erf16(fused, x * INVERSE_ROOT2), half);
}

/// GELU′(x). Exact: Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π). Tanh: d/dx x·σ(2u) = s + x·s(1 − s)·2u′ with s = σ(2u)
/// and s(1 − s) = e·s², e = e^(−2u); x is clamped to ±20 and e^(−2u) to e⁸⁰ first, where the derivative is 1 or 0
/// to float precision, so that x² and e cannot overflow into ∞·0.
INLINE vf gelu_derivative(const int fused, vf x, int tanh_form) {
    if (tanh_form) {
        vf clamped = x < -20.0f ? splat(-20.0f) : x;
        clamped = clamped > 20.0f ? splat(20.0f) : clamped;
        vf square = clamped * clamped;
        vf minus_twice_u = -clamped * madd(fused, square, splat(TWICE_ROOT_2_OVER_PI * CUBIC), splat(TWICE_ROOT_2_OVER_PI));
        vf e = exp16(fused, minus_twice_u > 80.0f ? splat(80.0f) : minus_twice_u);
        vf s = 1.0f / (1.0f + e);
        vf slope = madd(fused, square, splat(3.0f * TWICE_ROOT_2_OVER_PI * CUBIC), splat(TWICE_ROOT_2_OVER_PI));
        return madd(fused, clamped, e * s * s * slope, s);
    }
    vf cdf = madd(fused, erf16(fused, x * INVERSE_ROOT2), splat(0.5f), splat(0.5f));
    vf pdf = exp16(fused, -0.5f * x * x) * INVERSE_ROOT_2PI;
    return madd(fused, x, pdf, cdf);
}

INLINE void gelu_forward_body(const int fused, const int lanes, const float *x, float *y, size_t count, int tanh_form) {
    size_t i = 0;
    if (tanh_form) {
        for (; i + WIDTH <= count; i += WIDTH) store_f(y + i, gelu_value(fused, load_f(x + i), 1));
    } else {
        for (; i + WIDTH <= count; i += WIDTH) store_f(y + i, gelu_value(fused, load_f(x + i), 0));
    }
    if (i < count) store_part(y + i, gelu_value(fused, load_part(x + i, count - i), tanh_form), count - i);
}
PATHS(gelu_forward, (const float *x, float *y, size_t count, int tanh_form), (x, y, count, tanh_form))

INLINE void gelu_backward_body(const int fused, const int lanes, const float *g, const float *x, float *dx,
                               size_t count, int tanh_form) {
    size_t i = 0;
    if (tanh_form) {
        for (; i + WIDTH <= count; i += WIDTH) store_f(dx + i, load_f(g + i) * gelu_derivative(fused, load_f(x + i), 1));
    } else {
        for (; i + WIDTH <= count; i += WIDTH) store_f(dx + i, load_f(g + i) * gelu_derivative(fused, load_f(x + i), 0));
    }
    if (i < count) {
        size_t n = count - i;
        store_part(dx + i, load_part(g + i, n) * gelu_derivative(fused, load_part(x + i, n), tanh_form), n);
    }
}
PATHS(gelu_backward, (const float *g, const float *x, float *dx, size_t count, int tanh_form), (g, x, dx, count, tanh_form))

INLINE vf vector_function(const int fused, vf x, int function) {
    return function == ADAMW_FUNCTION_ERF ? erf16(fused, x) : exp16(fused, x);
}

INLINE void vector_math_body(const int fused, const int lanes, int function, const float *x, float *y, size_t count) {
    size_t i = 0;
    for (; i + WIDTH <= count; i += WIDTH) store_f(y + i, vector_function(fused, load_f(x + i), function));
    if (i < count) store_part(y + i, vector_function(fused, load_part(x + i, count - i), function), count - i);
}
PATHS(vector_math, (int function, const float *x, float *y, size_t count), (function, x, y, count))
