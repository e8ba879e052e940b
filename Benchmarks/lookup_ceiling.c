// What a table lookup costs on this CPU, whatever the instruction: an 8-bit AdamW step (torchao's AdamW8bit) looks
// up every element's two codes in 256-entry value tables and its two new codes in a threshold table, so these
// figures bound how fast any implementation of it can run, in any language. Measured in cache (no memory
// traffic), on one core:
//   scalar   sixteen loads from a 1 KB table                          (what compilers emit without gathers)
//   gather   one vgatherdps of sixteen lanes from the 1 KB table       (AVX-512)
//   permute  the table held in sixteen registers: eight vpermi2ps over pairs of them and seven blends on the
//            code's top three bits                                     (AVX-512)
//   bytes    the table as four byte planes of 256 bytes (AVX-512 VBMI): per plane two vpermi2b and a blend on
//            the code's top bit look up sixty-four codes at once; eight unpacks weave the planes into floats
//   bucket   the 8-bit encoder's lookup in its 256 KB bucket table, by scalar loads and by one vpgatherdd of
//            sixteen lanes
// It prints nanoseconds an element for each, then the ceiling the fastest decode and encode lookups put on an
// 8-bit step, lookups alone: 1 / (2 decode + 2 encode lookups) per core, times the cores given. Compare it with
// the float32 step that `adamw bench optimizer --states int8` prints beside the 8-bit one.
// Usage: cc -O2 -march=native Benchmarks/lookup_ceiling.c -o /tmp/lookup_ceiling && /tmp/lookup_ceiling [cores]
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

enum { count = 1 << 14, repeats = 20000 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint8_t codes[count];
static uint32_t keys[count];
static float out[count] __attribute__((aligned(64)));
static float table[256] __attribute__((aligned(64)));
static uint32_t buckets[1 << 16] __attribute__((aligned(64)));

// Kept scalar: left to itself the compiler turns this loop into the gather below.
#if defined(__clang__)
static void scalar(void) {
#pragma clang loop vectorize(disable)
    for (int j = 0; j < count; j++) out[j] = table[codes[j]];
}
#else
__attribute__((optimize("no-tree-vectorize"))) static void scalar(void) {
    for (int j = 0; j < count; j++) out[j] = table[codes[j]];
}
#endif

#if defined(__clang__)
static void scalar_bucket(void) {
#pragma clang loop vectorize(disable)
    for (int j = 0; j < count; j++) out[j] = (float)buckets[keys[j] >> 16];
}
#else
__attribute__((optimize("no-tree-vectorize"))) static void scalar_bucket(void) {
    for (int j = 0; j < count; j++) out[j] = (float)buckets[keys[j] >> 16];
}
#endif

#if defined(__AVX512F__)
static void gather(void) {
    for (int j = 0; j < count; j += 16) {
        __m512i c = _mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(codes + j)));
        _mm512_store_ps(out + j, _mm512_i32gather_ps(c, table, 4));
    }
}

static void permute(void) {
    __m512 t[16];
    for (int k = 0; k < 16; k++) t[k] = _mm512_load_ps(table + 16 * k);
    const __m512i b5 = _mm512_set1_epi32(32), b6 = _mm512_set1_epi32(64), b7 = _mm512_set1_epi32(128);
    for (int j = 0; j < count; j += 16) {
        __m512i c = _mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(codes + j)));
        __m512 a[8];
        for (int k = 0; k < 8; k++) a[k] = _mm512_permutex2var_ps(t[2 * k], c, t[2 * k + 1]);
        __mmask16 m5 = _mm512_test_epi32_mask(c, b5), m6 = _mm512_test_epi32_mask(c, b6);
        __mmask16 m7 = _mm512_test_epi32_mask(c, b7);
        __m512 x0 = _mm512_mask_blend_ps(m5, a[0], a[1]), x1 = _mm512_mask_blend_ps(m5, a[2], a[3]);
        __m512 x2 = _mm512_mask_blend_ps(m5, a[4], a[5]), x3 = _mm512_mask_blend_ps(m5, a[6], a[7]);
        __m512 y0 = _mm512_mask_blend_ps(m6, x0, x1), y1 = _mm512_mask_blend_ps(m6, x2, x3);
        _mm512_store_ps(out + j, _mm512_mask_blend_ps(m7, y0, y1));
    }
}

#if defined(__AVX512VBMI__)
// The table split into four byte planes of 256 bytes (four registers each): two vpermi2b and a blend on the code's
// top bit look up one byte of sixty-four codes at once, and eight unpacks weave the four planes back into floats.
// The codes are shuffled first so that the woven floats come out in order.
static uint8_t planes[4][256] __attribute__((aligned(64)));

static void bytes(void) {
    __m512i t[4][4];
    for (int p = 0; p < 4; p++)
        for (int k = 0; k < 4; k++) t[p][k] = _mm512_load_si512((const void *)(planes[p] + 64 * k));
    // After the unpacks, output vector v's lane group g holds codes 16g + 4v .. 16g + 4v + 3 of the input order
    // below; so input byte 16g + 4v + i must come from code 16v + 4g + i.
    uint8_t order[64];
    for (int g = 0; g < 4; g++)
        for (int v = 0; v < 4; v++)
            for (int i = 0; i < 4; i++) order[16 * g + 4 * v + i] = (uint8_t)(16 * v + 4 * g + i);
    const __m512i shuffle = _mm512_loadu_si512((const void *)order);
    for (int j = 0; j < count; j += 64) {
        __m512i c = _mm512_permutexvar_epi8(shuffle, _mm512_loadu_si512((const void *)(codes + j)));
        __mmask64 high = _mm512_movepi8_mask(c);
        __m512i b[4];
        for (int p = 0; p < 4; p++) {
            __m512i low = _mm512_permutex2var_epi8(t[p][0], c, t[p][1]);
            __m512i up = _mm512_permutex2var_epi8(t[p][2], c, t[p][3]);
            b[p] = _mm512_mask_blend_epi8(high, low, up);
        }
        __m512i l01 = _mm512_unpacklo_epi8(b[0], b[1]), h01 = _mm512_unpackhi_epi8(b[0], b[1]);
        __m512i l23 = _mm512_unpacklo_epi8(b[2], b[3]), h23 = _mm512_unpackhi_epi8(b[2], b[3]);
        _mm512_store_si512((void *)(out + j), _mm512_unpacklo_epi16(l01, l23));
        _mm512_store_si512((void *)(out + j + 16), _mm512_unpackhi_epi16(l01, l23));
        _mm512_store_si512((void *)(out + j + 32), _mm512_unpacklo_epi16(h01, h23));
        _mm512_store_si512((void *)(out + j + 48), _mm512_unpackhi_epi16(h01, h23));
    }
}
#endif

static void bucket(void) {
    for (int j = 0; j < count; j += 16) {
        __m512i k = _mm512_srli_epi32(_mm512_loadu_si512((const void *)(keys + j)), 16);
        _mm512_store_si512((void *)(out + j), _mm512_i32gather_epi32(k, (const void *)buckets, 4));
    }
}
#endif

static double time_it(void (*kernel)(void)) {
    kernel();
    double start = now();
    for (int r = 0; r < repeats; r++) {
        kernel();
        __asm__ volatile("" : : "r"(out) : "memory");
    }
    return (now() - start) * 1e9 / ((double)repeats * count);
}

int main(int argc, char **argv) {
    int cores = argc > 1 ? atoi(argv[1]) : 2;
    if (cores < 1) {
        fprintf(stderr, "cores must be at least 1, got %s\n", argv[1]);
        return 1;
    }
    uint32_t state = 0x2545F491u;
    for (int i = 0; i < 256; i++) table[i] = (float)i / 255.0f;
    for (int i = 0; i < (1 << 16); i++) buckets[i] = (uint32_t)i;
    for (int j = 0; j < count; j++) {
        state = state * 1664525u + 1013904223u;
        codes[j] = (uint8_t)(state >> 24);
        // Keys of values spread over [2^-7, 1], as a block's normalized states are: about 900 of the 65,536 buckets.
        keys[j] = 0xBC000000u + state % 0x3800000u;
    }
#if defined(__AVX512VBMI__)
    for (int i = 0; i < 256; i++) {
        uint32_t bits;
        __builtin_memcpy(&bits, &table[i], 4);
        for (int p = 0; p < 4; p++) planes[p][i] = (uint8_t)(bits >> (8 * p));
    }
#endif
    double best_decode = time_it(scalar), best_encode = time_it(scalar_bucket);
    printf("lookup scalar_ns_per_element=%.3f\n", best_decode);
    printf("lookup scalar_bucket_ns_per_element=%.3f\n", best_encode);
#if defined(__AVX512F__)
    double g = time_it(gather), p = time_it(permute), b = time_it(bucket);
    printf("lookup gather_ns_per_element=%.3f\n", g);
    printf("lookup permute_ns_per_element=%.3f\n", p);
    printf("lookup bucket_gather_ns_per_element=%.3f\n", b);
    if (g < best_decode) best_decode = g;
    if (p < best_decode) best_decode = p;
    if (b < best_encode) best_encode = b;
#if defined(__AVX512VBMI__)
    double y = time_it(bytes);
    for (int j = 0; j < count; j++)
        if (out[j] != table[codes[j]]) {
            fprintf(stderr, "bytes: element %d decoded %g, table says %g\n", j, out[j], table[codes[j]]);
            return 1;
        }
    printf("lookup bytes_ns_per_element=%.3f\n", y);
    if (y < best_decode) best_decode = y;
#endif
#else
    printf("lookup gather, permute, bucket: skipped (no AVX-512)\n");
#endif
    double per_core = 1.0 / (2 * best_decode + 2 * best_encode);
    printf("summary lookups_ceiling int8_gparams_per_s_per_core=%.3f cores=%d int8_gparams_per_s=%.3f\n",
           per_core, cores, per_core * cores);
    return 0;
}
