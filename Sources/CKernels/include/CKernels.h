// The innermost loops of the package, in C: each is compiled once per instruction set (clang's target attributes,
// which Swift has not) and chosen at run time from the CPU's features, so that every build of the package — this
// repository's, or a package that depends on it by version, where SwiftPM allows no unsafe flags — runs them at
// full speed. Each has a Swift API above it (module Kernels) and a scalar Swift reference its tests compare with.
#ifndef ADAMW_CKERNELS_H
#define ADAMW_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// The instruction sets a kernel is compiled for. `ADAMW_CPU_GENERIC` is plain scalar C, for any CPU.
enum {
    ADAMW_CPU_GENERIC = 0,
    ADAMW_CPU_SSE2 = 1,    // x86-64's baseline
    ADAMW_CPU_AVX2 = 2,    // AVX2 with FMA
    ADAMW_CPU_AVX512 = 3,  // AVX-512 F, BW, VL with FMA
    ADAMW_CPU_NEON = 4,    // arm64
};

/// The best path this CPU (and its operating system, which must save the wider registers) runs.
int adamw_cpu_detected(void);

/// Whether this CPU runs `path`.
int adamw_cpu_supports(int path);

/// The scalars of one Adam/AdamW step (see Kernels' AdamStep, which computes them as PyTorch does).
typedef struct {
    float decay_factor;      // θ ← θ·decay_factor (decoupled decay); 1 for none
    float l2;                // g ← g + l2·θ (coupled L2); 0 for none
    float beta1_weight;      // 1 − β1, the lerp weight
    float beta2;
    float one_minus_beta2;
    float inverse_bias_correction2_sqrt;  // 1/√(1 − β2ᵗ)
    float eps;
    float step_size;         // lr/(1 − β1ᵗ)
    int maximize;
    int amsgrad;
} adamw_adam_scalars;

/// One Adam/AdamW step over the elements [begin, end): θ and g are float32; the moments (and v̂max with amsgrad)
/// are float32, or bfloat16 (uint16_t) when `bfloat16` is set. Every path gives the bits of the scalar reference:
/// each element is computed alone, with the same fused multiply-adds in the same order.
void adamw_adam_step(int path, const adamw_adam_scalars *scalars, float *param, const float *grad, void *exp_avg,
                     void *exp_avg_sq, void *max_exp_avg_sq, size_t begin, size_t end, int bfloat16);

#endif
