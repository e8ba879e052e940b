// The body of the block-quantized Adam step (quantized.c), included once per instruction set between a
// `#pragma clang attribute push(target(…))` and its pop (or with ENTRY, the entry point's attribute), with SUFFIX
// naming the variant, LANES its vector width (16: AVX-512, which decodes by permutes and looks buckets up by gathers)
// and FUSED whether it has FMA.
// See Kernels' QuantizedAdamStep for the arithmetic, which is torchao's, each operation rounded: the only fused
// operation is the Markstein correction of a quotient, which is exact, so every path gives the same bits.
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define NAME(name) CAT(name, SUFFIX)

// values[index] lane by lane: the narrower paths' table lookup.
INLINE vf NAME(lookup)(vu index, const float *values) {
    float out[WIDTH];
    for (int lane = 0; lane < WIDTH; lane++) out[lane] = values[index[lane]];
    return load_f(out);
}

// The map values of sixteen 8-bit codes (bytes at `codes`).
INLINE vf NAME(decode8)(const uint8_t *codes, const float *values) {
    typedef unsigned char vb __attribute__((ext_vector_type(16)));
    vb bytes;
    memcpy(&bytes, codes, sizeof bytes);
    vu index = __builtin_convertvector(bytes, vu);
#if LANES == 16
    // The 256 values as sixteen zmm: eight two-register permutes by the low five bits of the code, then three levels
    // of blends by its top three bits. (Alone, Benchmarks/lookup_ceiling.c measures a gather faster; in this kernel,
    // beside the encode's gathers, the permutes measured faster: 0.39 against 0.32–0.36 Gparam/s in cache. Its VBMI
    // byte planes are 3–4× faster than both, but would need an AVX-512 variant with VBMI and one without, each
    // tested, and still leave the step far below the fp32 one.)
    __m512i idx = (__m512i)index;
    __m512 r[8];
    for (int k = 0; k < 8; k++)
        r[k] = _mm512_permutex2var_ps(_mm512_loadu_ps(values + 32 * k), idx, _mm512_loadu_ps(values + 32 * k + 16));
    __mmask16 bit5 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(32));
    __mmask16 bit6 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(64));
    __mmask16 bit7 = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(128));
    for (int k = 0; k < 4; k++) r[k] = _mm512_mask_blend_ps(bit5, r[2 * k], r[2 * k + 1]);
    for (int k = 0; k < 2; k++) r[k] = _mm512_mask_blend_ps(bit6, r[2 * k], r[2 * k + 1]);
    return (vf)_mm512_mask_blend_ps(bit7, r[0], r[1]);
#else
    return NAME(lookup)(index, values);
#endif
}

// Sixteen 4-bit codes from eight bytes, the first of each pair in the high half (torchao's packing).
INLINE vu NAME(nibbles)(const uint8_t *codes) {
    typedef unsigned char vb8 __attribute__((ext_vector_type(8)));
    typedef unsigned int vu8 __attribute__((ext_vector_type(8)));
    vb8 bytes;
    memcpy(&bytes, codes, sizeof bytes);
    vu8 wide = __builtin_convertvector(bytes, vu8);
    vu doubled = __builtin_shufflevector(wide, wide, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const vu shifts = {4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0};
    return (doubled >> shifts) & 15u;
}

// The map values of sixteen 4-bit codes: one permute over the 16 values held in a register on AVX-512.
INLINE vf NAME(decode4)(const uint8_t *codes, const float *values) {
    vu index = NAME(nibbles)(codes);
#if LANES == 16
    return (vf)_mm512_permutexvar_ps((__m512i)index, _mm512_loadu_ps(values));
#else
    return NAME(lookup)(index, values);
#endif
}

// (k + 1)/16 for the 4-bit linear map of v: the integer k + 1 in a float's low bits above 2²³, minus 2²³, is exact.
INLINE vf NAME(decode4_linear)(const uint8_t *codes) {
    vu k = NAME(nibbles)(codes);
    return ((vf)((k + 1u) | 0x4B000000u) - 8388608.0f) * 0.0625f;
}

// The 8-bit codes of sixteen y ∈ [−1, 1]: the bucket of each key's top 16 bits holds the number of thresholds below
// it and the low bits of the one threshold inside it; one compare with that threshold finishes the count. The
// buckets are read from the compressed table (22 KB, in L1), indexed by magnitude away from zero.
INLINE vu NAME(encode8)(vf y, const adamw_code_map *map) {
    vu keys = ordered_keys(y);
    vi c = (vi)(((vu)y & 0x7FFFFFFFu) >> 16) - map->bucket_floor;
    c = c < 0 ? (vi)0 : c;
    c = c >= map->bucket_half ? (vi)(map->bucket_half - 1) : c;
    vi index = (vi)y < 0 ? map->bucket_half - 1 - c : map->bucket_half + c;
    const uint32_t *buckets = map->buckets;
#if LANES == 16
    vu entries = (vu)_mm512_i32gather_epi32((__m512i)index, (const int *)buckets, 4);
#else
    uint32_t out[WIDTH];
    for (int lane = 0; lane < WIDTH; lane++) out[lane] = buckets[index[lane]];
    vu entries;
    memcpy(&entries, out, sizeof entries);
#endif
    vi difference = (vi)((keys & 0xFFFFu) - (entries >> 8));
    return (entries & 0xFFu) + 1u + (vu)(difference >> 31);
}

// The 4-bit codes of y ∈ [−1, 1]: the number of the 15 thresholds at or below each. A compare with the middle one
// picks the half, then the seven thresholds of that half are counted (22 operations instead of 45). No threshold is
// a zero, so −0 and +0 get the same code, as in the reference.
INLINE vu NAME(encode4)(vf y, const float *thresholds) {
    vi upper = (vi)(y >= thresholds[7]);
    vi code = upper & 8;
    for (int k = 0; k < 7; k++) {
        vf threshold = upper ? splat(thresholds[k + 8]) : splat(thresholds[k]);
        code -= (vi)(y >= threshold);
    }
    return (vu)code;
}

// The linear map's codes: x = 16y (exact); the code is ⌊x + ½⌋ − 1 clamped to 0…15 (x + ½ ≥ ½, so a truncating
// conversion is the floor).
INLINE vu NAME(encode4_linear)(vf y) {
    vi code = __builtin_convertvector(y * 16.0f + 0.5f, vi) - 1;
    code = code < 0 ? (vi)0 : code;
    return (vu)(code > 15 ? (vi)15 : code);
}

// Decodes sixteen elements of a buffer from `element` (map `map`, `linear`: the 4-bit linear map).
INLINE vf NAME(decode)(const uint8_t *codes, size_t element, const adamw_code_map *map, int bits, int linear) {
    if (bits == 8) return NAME(decode8)(codes + element, map->values);
    return linear ? NAME(decode4_linear)(codes + element / 2) : NAME(decode4)(codes + element / 2, map->values);
}

INLINE void NAME(encode)(uint8_t *codes, size_t element, vf y, const adamw_code_map *map, int bits, int linear) {
    if (bits == 8) store8(codes + element, NAME(encode8)(y, map));
    else store4(codes + element / 2, linear ? NAME(encode4_linear)(y) : NAME(encode4)(y, map->thresholds));
}

// A block whose scale's reciprocal is not a normal float (it held a NaN, an infinity or a value above 2¹²⁶): divide,
// and where the scale is not finite code element by element by the reference rule.
INLINE void NAME(encode_dividing)(uint8_t *codes, size_t base, const float *x, float scale, size_t block,
                                  const adamw_code_map *map, int bits, int linear) {
    if (scale - scale != 0.0f) {
        for (size_t j = 0; j < block; j++)
            store_code(codes, base + j, reference_code(x[j] / scale, map->thresholds, (1u << bits) - 1), bits);
        return;
    }
    for (size_t j = 0; j < block; j += WIDTH) NAME(encode)(codes, base + j, load_f(x + j) / scale, map, bits, linear);
}

INLINE void NAME(update_parameter)(const adamw_quantized_scalars *s, float *param, vf m, vf second) {
    vf theta = load_f(param);
    if (s->decay != 0.0f) theta = theta - s->decay * theta;
    vf denominator = vsqrt(second) * s->inverse_bias_correction2_sqrt + s->eps;
    store_f(param, theta - s->step_size * m / denominator);
}

// Blocks [first_block, end_block): three passes over each (the states' update with the new scales, θ, the codes),
// through `scratch` (three blocks of floats).
// The scalars come by value and every pointer is read into a local first: a code's store is a byte store, which
// may alias anything, and would otherwise reload each of them for the next vector.
INLINE void NAME(blocks)(const int fused, const adamw_quantized_scalars scalars, const adamw_quantized_buffers buffers,
                         const adamw_code_map signed_codes, const adamw_code_map unsigned_codes, size_t first_block,
                         size_t end_block, int bits, int amsgrad, float *restrict scratch) {
    const adamw_quantized_scalars *s = &scalars;
    const adamw_quantized_buffers *p = &buffers;
    const adamw_code_map *signed_map = &signed_codes, *unsigned_map = &unsigned_codes;
    const size_t block = bits == 8 ? 256 : 128;
    const int linear = bits == 4;  // torchao's 4-bit v is the linear map
    float *m = scratch, *v = scratch + block, *maximum = scratch + 2 * block;
    for (size_t index = first_block; index < end_block; index++) {
        size_t base = index * block;
        float old_m = p->m_scales[index], old_v = p->v_scales[index], old_max = amsgrad ? p->max_scales[index] : 0;
        vi m_largest = (vi)0, v_largest = (vi)0, max_largest = (vi)0;
        for (size_t i = 0; i < block; i += WIDTH) {
            vf g = load_f(p->grad + base + i);
            vf mm = NAME(decode)(p->m_codes, base + i, signed_map, bits, 0) * old_m;
            vf vv = NAME(decode)(p->v_codes, base + i, unsigned_map, bits, linear) * old_v;
            if (s->maximize) g = g * -1.0f;
            if (s->l2 != 0.0f) {
                vf theta = load_f(p->param + base + i);
                if (s->decay != 0.0f) theta = theta - s->decay * theta;  // θ as update_parameter decays it
                g = g + s->l2 * theta;
            }
            mm = lerp(mm, g, s->beta1_weight);
            vv = lerp(vv, g * g, s->beta2_weight);
            if (amsgrad) {
                vf stored = NAME(decode)(p->max_codes, base + i, unsigned_map, bits, linear) * old_max;
                vf second = ((stored < vv) | (vv != vv)) ? vv : stored;  // NaN propagates, as torch.maximum
                store_f(maximum + i, second);
                vi bits_ = (vi)second & 0x7FFFFFFF;
                max_largest = max_largest < bits_ ? bits_ : max_largest;
            }
            store_f(m + i, mm);
            store_f(v + i, vv);
            vi m_bits = (vi)mm & 0x7FFFFFFF, v_bits = (vi)vv & 0x7FFFFFFF;
            m_largest = m_largest < m_bits ? m_bits : m_largest;
            v_largest = v_largest < v_bits ? v_bits : v_largest;
        }
        float m_scale = block_scale(m_largest), v_scale = block_scale(v_largest);
        float max_scale = amsgrad ? block_scale(max_largest) : 0;
        p->m_scales[index] = m_scale;
        p->v_scales[index] = v_scale;
        if (amsgrad) p->max_scales[index] = max_scale;
        const float *second = amsgrad ? maximum : v;
        for (size_t i = 0; i < block; i += WIDTH)
            NAME(update_parameter)(s, p->param + base + i, load_f(m + i), load_f(second + i));
        float m_reciprocal = 1.0f / m_scale, v_reciprocal = 1.0f / v_scale, max_reciprocal = 1.0f / max_scale;
        if (!__builtin_isnormal(m_reciprocal) || !__builtin_isnormal(v_reciprocal) ||
            (amsgrad && !__builtin_isnormal(max_reciprocal))) {
            NAME(encode_dividing)(p->m_codes, base, m, m_scale, block, signed_map, bits, 0);
            NAME(encode_dividing)(p->v_codes, base, v, v_scale, block, unsigned_map, bits, linear);
            if (amsgrad) NAME(encode_dividing)(p->max_codes, base, maximum, max_scale, block, unsigned_map, bits, linear);
            continue;
        }
        for (size_t i = 0; i < block; i += WIDTH) {
            NAME(encode)(p->m_codes, base + i, quotient(fused, load_f(m + i), m_scale, m_reciprocal), signed_map, bits, 0);
            NAME(encode)(p->v_codes, base + i, quotient(fused, load_f(v + i), v_scale, v_reciprocal), unsigned_map, bits,
                         linear);
            if (amsgrad)
                NAME(encode)(p->max_codes, base + i, quotient(fused, load_f(maximum + i), max_scale, max_reciprocal),
                             unsigned_map, bits, linear);
        }
    }
}

// Blocks [first_block, end_block) of one buffer decoded to float32 into `out` (out[0]: the first block's first
// element): the values a float32 step reads (Schedule-Free's v).
ENTRY static void NAME(quantized_decode)(const uint8_t *codes, const float *scales, const adamw_code_map *map_,
                                         int linear, size_t first_block, size_t end_block, float *out) {
    const adamw_code_map map = *map_;
    const size_t block = map.bits == 8 ? 256 : 128;
    for (size_t index = first_block; index < end_block; index++) {
        size_t base = index * block;
        float scale = scales[index];
        float *target = out + (index - first_block) * block;
        for (size_t i = 0; i < block; i += WIDTH)
            store_f(target + i, NAME(decode)(codes, base + i, &map, map.bits, linear) * scale);
    }
}

// `values` (out's layout above) encoded into blocks [first_block, end_block) as the Adam step encodes its moments:
// each block's scale is its largest magnitude (at least 1e-12; NaN when it holds one), each code by the map.
ENTRY static void NAME(quantized_encode)(const float *values, uint8_t *codes, float *scales, const adamw_code_map *map_,
                                         int linear, size_t first_block, size_t end_block) {
    const adamw_code_map map = *map_;
    const size_t block = map.bits == 8 ? 256 : 128;
    for (size_t index = first_block; index < end_block; index++) {
        size_t base = index * block;
        const float *x = values + (index - first_block) * block;
        vi largest = (vi)0;
        for (size_t i = 0; i < block; i += WIDTH) {
            vi bits_ = (vi)load_f(x + i) & 0x7FFFFFFF;
            largest = largest < bits_ ? bits_ : largest;
        }
        float scale = block_scale(largest), reciprocal = 1.0f / scale;
        scales[index] = scale;
        if (!__builtin_isnormal(reciprocal)) {
            NAME(encode_dividing)(codes, base, x, scale, block, &map, map.bits, linear);
            continue;
        }
        for (size_t i = 0; i < block; i += WIDTH)
            NAME(encode)(codes, base + i, quotient(FUSED, load_f(x + i), scale, reciprocal), &map, map.bits, linear);
    }
}

ENTRY static void NAME(quantized_adam_step)(const adamw_quantized_scalars *scalars, const adamw_quantized_buffers *p,
                                      const adamw_code_map *signed_map, const adamw_code_map *unsigned_map,
                                      size_t first_block, size_t end_block) {
    const adamw_quantized_scalars s = *scalars;
    const adamw_quantized_buffers b = *p;
    const adamw_code_map m = *signed_map, v = *unsigned_map;
    float scratch[3 * 256] __attribute__((aligned(64)));
    if (m.bits == 8) {
        if (s.amsgrad) NAME(blocks)(FUSED, s, b, m, v, first_block, end_block, 8, 1, scratch);
        else NAME(blocks)(FUSED, s, b, m, v, first_block, end_block, 8, 0, scratch);
    } else {
        if (s.amsgrad) NAME(blocks)(FUSED, s, b, m, v, first_block, end_block, 4, 1, scratch);
        else NAME(blocks)(FUSED, s, b, m, v, first_block, end_block, 4, 0, scratch);
    }
}

#undef NAME
#undef CAT
#undef CAT_
