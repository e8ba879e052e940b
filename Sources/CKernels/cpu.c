// Which instruction sets this CPU runs, asked once. On x86-64, CPUID says what the CPU has and XGETBV whether the
// operating system saves the registers (AVX needs the YMM state, AVX-512 the opmask and ZMM states too).
#include "CKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int detect(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return ADAMW_CPU_SSE2;
    int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!(osxsave && avx && fma)) return ADAMW_CPU_SSE2;
    unsigned long long xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) return ADAMW_CPU_SSE2;  // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return ADAMW_CPU_SSE2;
    int avx2 = (ebx >> 5) & 1, avx512f = (ebx >> 16) & 1, avx512bw = (ebx >> 30) & 1, avx512vl = (ebx >> 31) & 1;
    if (avx512f && avx512bw && avx512vl && (xcr0 & 0xE6) == 0xE6) return ADAMW_CPU_AVX512;
    return avx2 ? ADAMW_CPU_AVX2 : ADAMW_CPU_SSE2;
}
#elif defined(__aarch64__)
static int detect(void) { return ADAMW_CPU_NEON; }
#else
static int detect(void) { return ADAMW_CPU_GENERIC; }
#endif

int adamw_cpu_detected(void) {
    static int detected = -1;  // a benign race: every thread computes the same value
    if (detected < 0) detected = detect();
    return detected;
}

int adamw_cpu_supports(int path) {
    int best = adamw_cpu_detected();
    switch (path) {
    case ADAMW_CPU_GENERIC: return 1;
    case ADAMW_CPU_SSE2: case ADAMW_CPU_AVX2: case ADAMW_CPU_AVX512:
        return best != ADAMW_CPU_NEON && best != ADAMW_CPU_GENERIC && path <= best;
    case ADAMW_CPU_NEON: return best == ADAMW_CPU_NEON;
    default: return 0;
    }
}
