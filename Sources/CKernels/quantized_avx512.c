// The AVX-512 variant of the block-quantized Adam step (quantized.c has the others and the dispatch). The target
// applies to every function of this file, kernel.h's helpers included, so that the 16-lane vectors they pass stay
// in zmm registers and the intrinsics (vpermi2ps, vpermps, vpgatherdd) may be inlined anywhere.
#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi2"))), apply_to = function)
#include "kernel.h"
#define ADAMW_AVX512_FILE 1
#include "quantized_shared.h"

#define ENTRY
#define SUFFIX avx512
#define LANES 16
#define FUSED 1
#include "quantized_body.h"

void adamw_quantized_adam_step_avx512(const adamw_quantized_scalars *s, const adamw_quantized_buffers *p,
                                      const adamw_code_map *signed_map, const adamw_code_map *unsigned_map,
                                      size_t first_block, size_t end_block) {
    quantized_adam_step_avx512(s, p, signed_map, unsigned_map, first_block, end_block);
}
void adamw_quantized_decode_avx512(const uint8_t *codes, const float *scales, const adamw_code_map *map, int linear,
                                   size_t first_block, size_t end_block, float *out) {
    quantized_decode_avx512(codes, scales, map, linear, first_block, end_block, out);
}

void adamw_quantized_encode_avx512(const float *values, uint8_t *codes, float *scales, const adamw_code_map *map,
                                   int linear, size_t first_block, size_t end_block) {
    quantized_encode_avx512(values, codes, scales, map, linear, first_block, end_block);
}
#pragma clang attribute pop
#endif
