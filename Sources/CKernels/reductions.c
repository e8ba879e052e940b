// Σx² of a block of floats, accumulated in double (Kernels' Reductions cuts the input into fixed blocks and adds
// their results in order): two accumulators of 8 doubles, for elements 16i..16i+7 and 16i+8..16i+15, the 16 lanes
// added pairwise, then the last count mod 16 squares one by one.
#include "kernel.h"

typedef double vd __attribute__((ext_vector_type(8)));
typedef float vf8 __attribute__((ext_vector_type(8)));

INLINE vd madd_d(const int fused, vd a, vd b, vd c) { return fused ? __builtin_elementwise_fma(a, b, c) : a * b + c; }

INLINE double sum_of_squares_body(const int fused, const int lanes, const float *x, size_t count) {
    vd acc0 = (vd)0.0, acc1 = (vd)0.0;
    size_t i = 0;
    for (; i + WIDTH <= count; i += WIDTH) {
        vf8 low, high;
        memcpy(&low, x + i, sizeof low);
        memcpy(&high, x + i + 8, sizeof high);
        vd a = __builtin_convertvector(low, vd), b = __builtin_convertvector(high, vd);
        acc0 = madd_d(fused, a, a, acc0);
        acc1 = madd_d(fused, b, b, acc1);
    }
    typedef double vd4 __attribute__((ext_vector_type(4)));
    typedef double vd2 __attribute__((ext_vector_type(2)));
    vd eight = acc0 + acc1;
    vd4 four = eight.lo + eight.hi;
    vd2 two = four.lo + four.hi;
    double total = two.x + two.y;
    for (; i < count; i++) total += (double)x[i] * (double)x[i];
    return total;
}

// Dispatched by hand: PATHS writes functions that return nothing.
#if defined(__x86_64__)
TARGET_AVX512 static double sum_of_squares_avx512(const float *x, size_t count) { return sum_of_squares_body(1, 16, x, count); }
TARGET_AVX2 static double sum_of_squares_avx2(const float *x, size_t count) { return sum_of_squares_body(1, 8, x, count); }
static double sum_of_squares_sse2(const float *x, size_t count) { return sum_of_squares_body(0, 4, x, count); }
double adamw_sum_of_squares(int path, const float *x, size_t count) {
    switch (path) {
    case ADAMW_CPU_AVX512: return sum_of_squares_avx512(x, count);
    case ADAMW_CPU_AVX2: return sum_of_squares_avx2(x, count);
    default: return sum_of_squares_sse2(x, count);
    }
}
#elif defined(__aarch64__)
double adamw_sum_of_squares(int path, const float *x, size_t count) {
    return path == ADAMW_CPU_NEON ? sum_of_squares_body(1, 4, x, count) : sum_of_squares_body(0, 4, x, count);
}
#else
double adamw_sum_of_squares(int path, const float *x, size_t count) { (void)path; return sum_of_squares_body(0, 4, x, count); }
#endif
