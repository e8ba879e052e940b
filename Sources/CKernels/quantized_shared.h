// The helpers of the block-quantized step that do not depend on the instruction set (quantized_body.h uses them).
#ifndef ADAMW_QUANTIZED_SHARED_H
#define ADAMW_QUANTIZED_SHARED_H

// Keeps a narrowed vector in a register before it is stored: on Zen 4 the memory forms of vpmovdb/vpmovqb, which the
// compiler otherwise fuses the narrowing and the store into, are microcoded (int8 0.36 → 0.40 Gparam/s in cache).
// (Only the AVX-512 file, which has those instructions, defines ADAMW_AVX512_FILE.)
#if defined(ADAMW_AVX512_FILE)
#define IN_REGISTER(v) __asm__("" : "+v"(v))
#define IN_GENERAL_REGISTER(v) __asm__("" : "+r"(v))
#else
#define IN_REGISTER(v) ((void)0)
#define IN_GENERAL_REGISTER(v) ((void)0)
#endif

// Ordered keys: negative floats with every bit flipped, positive ones with the sign bit set.
INLINE vu ordered_keys(vf y) {
    vi bits = (vi)y;
    return (vu)(bits ^ ((bits >> 31) | (vi)0x80000000));
}

INLINE void store8(uint8_t *target, vu codes) {
    typedef unsigned char vb __attribute__((ext_vector_type(16)));
    vb bytes = __builtin_convertvector(codes, vb);
    IN_REGISTER(bytes);
    memcpy(target, &bytes, sizeof bytes);
}

// byte = first << 4 | second: each pair of 32-bit lanes read as one 64-bit lane (first in its low half) is
// combined there and narrowed (one vpmovqb on AVX-512, where two-register shuffles took several instructions).
INLINE void store4(uint8_t *target, vu codes) {
    typedef unsigned long long vq __attribute__((ext_vector_type(8)));
    typedef unsigned char vb8 __attribute__((ext_vector_type(8)));
    vq pairs = (vq)codes;
    vb8 bytes = __builtin_convertvector(((pairs & 0xFu) << 4) | (pairs >> 32), vb8);
    uint64_t word;
    memcpy(&word, &bytes, sizeof word);
    IN_GENERAL_REGISTER(word);
    memcpy(target, &word, sizeof word);
}

// PyTorch's lerp: start + w(end − start) for w < ½, else end − (end − start)(1 − w), each step rounded.
INLINE vf lerp(vf start, vf end, float weight) {
    return weight < 0.5f ? start + weight * (end - start) : end - (end - start) * (1.0f - weight);
}

// max(largest, 1e-12) of a block's magnitudes (as integer bits: for non-negative floats the integer order is the
// numeric one, and a NaN's bits are above every number's), or NaN when the block held one.
INLINE float block_scale(vi largest) {
    int best = 0;
    for (int lane = 0; lane < WIDTH; lane++) best = largest[lane] > best ? largest[lane] : best;
    float value;
    memcpy(&value, &best, 4);
    return value != value ? value : (value > 1e-12f ? value : 1e-12f);
}

// x / d, rounded as a division, from r = 1/d by Markstein's correction (q = x·r; x − q·d is exact by FMA; q + (x −
// q·d)·r is the rounded quotient); a division on the paths without FMA.
INLINE vf quotient(const int fused, vf x, float d, float r) {
    if (!fused) return x / d;
    vf q = x * r;
    vf remainder = __builtin_elementwise_fma(-q, splat(d), x);
    return __builtin_elementwise_fma(remainder, splat(r), q);
}

// The code of one y by the reference rule: the number of thresholds ≤ y (a binary search; a NaN gets 0).
INLINE unsigned reference_code(float y, const float *thresholds, unsigned count) {
    unsigned low = 0, high = count;
    while (low < high) {
        unsigned middle = (low + high) / 2;
        if (y >= thresholds[middle]) low = middle + 1; else high = middle;
    }
    return low;
}

INLINE void store_code(uint8_t *bytes, size_t element, unsigned code, int bits) {
    if (bits == 8) { bytes[element] = (uint8_t)code; return; }
    uint8_t *byte = bytes + element / 2;
    *byte = element % 2 == 0 ? (uint8_t)((*byte & 0x0F) | code << 4) : (uint8_t)((*byte & 0xF0) | code);
}

#endif
