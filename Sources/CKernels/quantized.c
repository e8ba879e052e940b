// The block-quantized Adam step (torchao's AdamW8bit/AdamW4bit; see Kernels' QuantizedAdamStep), compiled per
// instruction set by including quantized_body.h once for each. The AVX-512 variant, whose helpers need the target
// for their intrinsics, is its own file (quantized_avx512.c), where the target applies to every function.
#include "kernel.h"
#include "quantized_shared.h"

#if defined(__x86_64__)
void adamw_quantized_decode_avx512(const uint8_t *codes, const float *scales, const adamw_code_map *map, int linear,
                                   size_t first_block, size_t end_block, float *out);
void adamw_quantized_encode_avx512(const float *values, uint8_t *codes, float *scales, const adamw_code_map *map,
                                   int linear, size_t first_block, size_t end_block);
void adamw_quantized_adam_step_avx512(const adamw_quantized_scalars *s, const adamw_quantized_buffers *p,
                                      const adamw_code_map *signed_map, const adamw_code_map *unsigned_map,
                                      size_t first_block, size_t end_block);

// Only the entry point carries AVX2's attribute: the helpers, inlined into it, take 16-lane vectors, which a
// function compiled for AVX2 would pass in other registers.
#define ENTRY TARGET_AVX2
#define SUFFIX avx2
#define LANES 8
#define FUSED 1
#include "quantized_body.h"
#undef ENTRY
#undef SUFFIX
#undef LANES
#undef FUSED

#define ENTRY
#define SUFFIX sse2
#define LANES 4
#define FUSED 0
#include "quantized_body.h"
#undef ENTRY
#undef SUFFIX
#undef LANES
#undef FUSED

void adamw_quantized_adam_step(int path, const adamw_quantized_scalars *s, const adamw_quantized_buffers *p,
                               const adamw_code_map *signed_map, const adamw_code_map *unsigned_map,
                               size_t first_block, size_t end_block) {
    switch (path) {
    case ADAMW_CPU_AVX512: adamw_quantized_adam_step_avx512(s, p, signed_map, unsigned_map, first_block, end_block); return;
    case ADAMW_CPU_AVX2: quantized_adam_step_avx2(s, p, signed_map, unsigned_map, first_block, end_block); return;
    default: quantized_adam_step_sse2(s, p, signed_map, unsigned_map, first_block, end_block); return;
    }
}

void adamw_quantized_decode(int path, const uint8_t *codes, const float *scales, const adamw_code_map *map, int linear,
                            size_t first_block, size_t end_block, float *out) {
    switch (path) {
    case ADAMW_CPU_AVX512: adamw_quantized_decode_avx512(codes, scales, map, linear, first_block, end_block, out); return;
    case ADAMW_CPU_AVX2: quantized_decode_avx2(codes, scales, map, linear, first_block, end_block, out); return;
    default: quantized_decode_sse2(codes, scales, map, linear, first_block, end_block, out); return;
    }
}

void adamw_quantized_encode(int path, const float *values, uint8_t *codes, float *scales, const adamw_code_map *map,
                            int linear, size_t first_block, size_t end_block) {
    switch (path) {
    case ADAMW_CPU_AVX512: adamw_quantized_encode_avx512(values, codes, scales, map, linear, first_block, end_block); return;
    case ADAMW_CPU_AVX2: quantized_encode_avx2(values, codes, scales, map, linear, first_block, end_block); return;
    default: quantized_encode_sse2(values, codes, scales, map, linear, first_block, end_block); return;
    }
}
#else
#define ENTRY
#define LANES 4
#if defined(__aarch64__)
#define SUFFIX neon
#define FUSED 1
#include "quantized_body.h"
#undef SUFFIX
#undef FUSED
#endif
#define SUFFIX generic
#define FUSED 0
#include "quantized_body.h"

void adamw_quantized_adam_step(int path, const adamw_quantized_scalars *s, const adamw_quantized_buffers *p,
                               const adamw_code_map *signed_map, const adamw_code_map *unsigned_map,
                               size_t first_block, size_t end_block) {
#if defined(__aarch64__)
    if (path == ADAMW_CPU_NEON) { quantized_adam_step_neon(s, p, signed_map, unsigned_map, first_block, end_block); return; }
#endif
    (void)path;
    quantized_adam_step_generic(s, p, signed_map, unsigned_map, first_block, end_block);
}

void adamw_quantized_decode(int path, const uint8_t *codes, const float *scales, const adamw_code_map *map, int linear,
                            size_t first_block, size_t end_block, float *out) {
#if defined(__aarch64__)
    if (path == ADAMW_CPU_NEON) { quantized_decode_neon(codes, scales, map, linear, first_block, end_block, out); return; }
#endif
    (void)path;
    quantized_decode_generic(codes, scales, map, linear, first_block, end_block, out);
}

void adamw_quantized_encode(int path, const float *values, uint8_t *codes, float *scales, const adamw_code_map *map,
                            int linear, size_t first_block, size_t end_block) {
#if defined(__aarch64__)
    if (path == ADAMW_CPU_NEON) { quantized_encode_neon(values, codes, scales, map, linear, first_block, end_block); return; }
#endif
    (void)path;
    quantized_encode_generic(values, codes, scales, map, linear, first_block, end_block);
}
#endif
