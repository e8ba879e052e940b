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
/// are float32, or bfloat16 (uint16_t) when `bfloat16` is set. Each element is computed alone, with the reference's
/// multiply-adds in its order: fused on the FMA paths (AVX-512, AVX2, NEON), rounded twice on SSE2 and generic.
void adamw_adam_step(int path, const adamw_adam_scalars *scalars, float *param, const float *grad, void *exp_avg,
                     void *exp_avg_sq, void *max_exp_avg_sq, size_t begin, size_t end, int bfloat16);


/// The scalars of one SGD step (see Kernels' SGDStep).
typedef struct {
    float lr, momentum, one_minus_dampening, weight_decay;
    int nesterov, maximize;
    int initializes_buffer;  // the first step with momentum: b ← g
} adamw_sgd_scalars;

/// One SGD step over [begin, end); `momentum_buffer` is null without momentum.
void adamw_sgd_step(int path, const adamw_sgd_scalars *s, float *param, const float *grad, float *momentum_buffer,
                    size_t begin, size_t end);

/// The scalars of one RMSprop step (see Kernels' RMSpropStep).
typedef struct {
    float lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
    int centered, maximize;
} adamw_rmsprop_scalars;

/// One RMSprop step over [begin, end); `grad_avg` is read when centered, `momentum_buffer` when momentum > 0.
void adamw_rmsprop_step(int path, const adamw_rmsprop_scalars *s, float *param, const float *grad, float *square_avg,
                        float *grad_avg, float *momentum_buffer, size_t begin, size_t end);

/// The scalars of one Adagrad step (see Kernels' AdagradStep).
typedef struct {
    float clr, weight_decay, eps;
    int maximize;
} adamw_adagrad_scalars;

/// One Adagrad step over [begin, end).
void adamw_adagrad_step(int path, const adamw_adagrad_scalars *s, float *param, const float *grad, float *sum,
                        size_t begin, size_t end);

/// The scalars of one Schedule-Free AdamW step (see Kernels' ScheduleFreeStep), as float32 from the Double
/// arithmetic of the group's counters.
typedef struct {
    float lr;                // the warmed-up lr: z ← z − lr·ĝ
    float y_lr;              // lr·(β1·(1 − ckp1) − 1): y ← y + y_lr·ĝ
    float ckp1;              // y ← lerp(y, z, ckp1)
    float beta2, one_minus_beta2;
    float bias_correction2;  // 1 − β2^k
    float eps, weight_decay;
    int fresh;               // the state was created for this step: z starts as a copy of y
} adamw_schedule_free_scalars;

/// One Schedule-Free AdamW step over [begin, end): y (the parameter), g, z and v, all float32.
void adamw_schedule_free_step(int path, const adamw_schedule_free_scalars *s, float *param, const float *grad,
                              float *z, float *exp_avg_sq, size_t begin, size_t end);

/// values ← lerp(values, end, weight) over [begin, end_index), as PyTorch's `lerp_` with a scalar weight.
void adamw_lerp(int path, float *values, const float *end, float weight, size_t begin, size_t end_index);

// Weight decay toward a reference point (decay_reference.c), before Adam's step.
/// param ← (param − reference)·factor + reference over [begin, end): decoupled decay toward the reference.
void adamw_decay_toward(int path, float *param, const float *reference, float factor, size_t begin, size_t end);
/// out[i − begin] ← (maximize ? −grad : grad) + l2·(param − reference) over [begin, end): coupled decay toward it.
void adamw_l2_toward(int path, float *out, const float *grad, const float *param, const float *reference, float l2,
                     int maximize, size_t begin, size_t end);

/// The scalars of one block-quantized Adam/AdamW step, in float32 as torchao computes them (see Kernels'
/// QuantizedAdamStep).
typedef struct {
    float decay;         // lr·λ (AdamW), 0 for none
    float l2;            // λ (Adam's coupled L2), 0 for none
    float beta1_weight, beta2_weight;  // 1 − β1, 1 − β2
    float step_size;     // lr / (1 − β1ᵗ)
    float inverse_bias_correction2_sqrt;
    float eps;
    int maximize, amsgrad;
} adamw_quantized_scalars;

/// A quantized buffer's code book: its 2^bits values, the 2^bits − 1 thresholds between codes, and for 8-bit
/// maps the bucket table of ordered keys, compressed to the magnitudes of [−1, 1] from the smallest threshold's:
/// y reads entry bucket_half + c (y ≥ 0) or bucket_half − 1 − c (y < 0), c = max((|y|'s bits >> 16) − bucket_floor,
/// 0) (Kernels' QuantizationMap).
typedef struct {
    const float *values;
    const float *thresholds;
    const uint32_t *buckets;
    int bucket_floor, bucket_half;
    int bits;
} adamw_code_map;

/// The memory of one quantized step: θ, g, and each moment's codes and block scales (v̂max's with amsgrad).
typedef struct {
    float *param;
    const float *grad;
    uint8_t *m_codes, *v_codes, *max_codes;
    float *m_scales, *v_scales, *max_scales;
} adamw_quantized_buffers;

/// One step over the blocks [first_block, end_block) (256 elements with 8-bit maps, 128 with 4-bit ones; 4-bit v
/// uses the linear map). Every path gives the same bits.
void adamw_quantized_adam_step(int path, const adamw_quantized_scalars *s, const adamw_quantized_buffers *p,
                               const adamw_code_map *signed_map, const adamw_code_map *unsigned_map,
                               size_t first_block, size_t end_block);

/// Blocks [first_block, end_block) of one quantized buffer decoded to float32 into `out` (out[0]: the first block's
/// first element); `linear`: the 4-bit linear map. For a float32 step over a quantized state (Schedule-Free's v).
void adamw_quantized_decode(int path, const uint8_t *codes, const float *scales, const adamw_code_map *map, int linear,
                            size_t first_block, size_t end_block, float *out);
/// `values` (laid out as `out` above) encoded into blocks [first_block, end_block) as the Adam step encodes: each
/// block's scale its largest magnitude (at least 1e-12, NaN when it holds one), each code by the map.
void adamw_quantized_encode(int path, const float *values, uint8_t *codes, float *scales, const adamw_code_map *map,
                            int linear, size_t first_block, size_t end_block);

/// bfloat16 ↔ float32 over [begin, end): `out[i − begin]` the value of half i, and half i the nearest even
/// bfloat16 of `values[i − begin]` (a NaN keeps its payload, quieted), as the Adam step stores bfloat16 moments.
void adamw_bf16_decode(int path, const uint16_t *halves, float *out, size_t begin, size_t end);
void adamw_bf16_encode(int path, const float *values, uint16_t *halves, size_t begin, size_t end);

// MARK: GEMM (Kernels' GEMM blocks the product and spreads it over threads; these are its inner loops)

/// Where the macro-kernel finds a block's strips of 6 rows of A: the first `in_place` strips in A itself (strip s
/// at base + s·strip_stride, element (i, p) at i·row_stride + p·step), the others packed by adamw_gemm_pack_a (strip
/// s at packed + (s − in_place)·kc·6, element (i, p) at i + 6p).
typedef struct {
    const float *base;
    ptrdiff_t row_stride, step, strip_stride;
    size_t in_place;
    const float *packed;
} adamw_gemm_strips;

/// C[6×32] (+)= A[6×kc]·B[kc×32] (overwrite or add): A's element (i, p) at a[i·a_row + p·a_step], B's row p at
/// b + p·b_step, C's row i at c + i·ldc.
void adamw_gemm_tile(int path, size_t kc, const float *a, ptrdiff_t a_row, ptrdiff_t a_step, const float *b,
                     ptrdiff_t b_step, float *c, ptrdiff_t ldc, int overwrite);

/// Every 6×32 tile of an mc × nc block of C (element (i, j) at c[i·c_row + j·c_column]) from strips of A and the
/// packed panel of B (kc rows in strips of 32 columns).
void adamw_gemm_macro(int path, const adamw_gemm_strips *strips, size_t mc, size_t nc, size_t kc,
                      const float *packed_b, float *c, ptrdiff_t c_row, ptrdiff_t c_column, int overwrite);

/// Packs strips [first_strip, first_strip + strips) of B's kc × nc block (element (p, j) at b[p·row_stride +
/// j·column_stride]) into `packed`: strip s at packed + s·kc·32 holds kc rows of 32 floats, zero past column nc.
void adamw_gemm_pack_b(int path, const float *b, ptrdiff_t row_stride, ptrdiff_t column_stride, size_t kc, size_t nc,
                       size_t first_strip, size_t strips, float *packed);

/// Packs A's mc × kc block (element (i, p) at a[i·row_stride + p·column_stride]) into strips of 6 rows: strip s at
/// packed + s·kc·6 holds, for each p, 6 floats, zero past row mc.
void adamw_gemm_pack_a(int path, const float *a, ptrdiff_t row_stride, ptrdiff_t column_stride, size_t mc, size_t kc,
                       float *packed);

/// Rows [first_row, last_row) of C = A·Bᵀ (+ C), A m × k and B n × k row-major: dot products of contiguous rows, in
/// 16 lanes added pairwise, then the last k mod 16 terms in order. `first_row` is a multiple of 4.
void adamw_dot_rows(int path, size_t first_row, size_t last_row, size_t m, size_t n, size_t k, const float *a,
                    size_t lda, const float *b, size_t ldb, float *c, size_t ldc, int accumulate);

// MARK: Element-wise functions, normalization, attention, reductions

/// y = GELU(x), `count` elements: exact (x·Φ(x)) or, with `tanh_form`, GPT-2's tanh approximation.
void adamw_gelu_forward(int path, const float *x, float *y, size_t count, int tanh_form);

/// dx = g·GELU′(x), `count` elements.
void adamw_gelu_backward(int path, const float *g, const float *x, float *dx, size_t count, int tanh_form);

/// The functions of adamw_vector_math.
enum { ADAMW_FUNCTION_EXP = 0, ADAMW_FUNCTION_ERF = 1 };

/// y = eˣ or erf(x) (`function`), `count` elements: the kernels' own, no libm.
void adamw_vector_math(int path, int function, const float *x, float *y, size_t count);

/// Rows [first_row, last_row) of layer normalization over rows of n: y, and each row's mean and 1/√(var + eps).
void adamw_layer_norm_forward(int path, const float *x, const float *gamma, const float *beta, float *y, float *mean,
                              float *rstd, size_t first_row, size_t last_row, size_t n, double eps);

/// Rows [first_row, last_row) of layer normalization's backward pass: dx (when non-null), and in `sums` (2n floats,
/// overwritten) the rows' Σ g·x̂ then Σ g.
void adamw_layer_norm_backward(int path, const float *g, const float *x, const float *gamma, const float *mean,
                               const float *rstd, float *dx, float *sums, size_t first_row, size_t last_row, size_t n);

/// dWeight and dBias (each when non-null) as the sums over `blocks` of adamw_layer_norm_backward's `sums`, in order.
void adamw_layer_norm_sum_blocks(int path, const float *partials, size_t blocks, size_t n, float *dweight,
                                 float *dbias);

/// scores[t, ·] = scale · a[t, ·]·Bᵀ over the keys t2 ≤ t can see (whole vectors of 16), rows of a `a_stride` apart
/// with `depth` columns, Bᵀ (depth, padded_time); then, with `softmax`, each row's causal softmax, zero after t.
void adamw_attention_scores(int path, const float *a, ptrdiff_t a_stride, const float *b_transposed, size_t time,
                            size_t padded_time, size_t depth, float scale, float *scores, int softmax);

/// out[t, c] = Σ_t2≤t weights[t, t2]·values[t2, c] for the head's columns c < head_size (rows `out_stride` apart).
void adamw_attention_weighted_sum(int path, const float *weights, size_t padded_time, const float *values,
                                  size_t padded_head, size_t time, size_t head_size, float *out, ptrdiff_t out_stride);

/// grad ← weights ⊙ (grad − Σ_t2 weights ⊙ grad) · scale, row by row (the softmax's backward), zero after t.
void adamw_attention_softmax_backward(int path, const float *weights, float *grad, size_t time, size_t padded_time,
                                      float scale);

/// dq = dScore·k, dk = dScoreᵀ·q, dv = droppedᵀ·dy for the head's columns (rows of dq, dk, dv `stride` apart).
void adamw_attention_input_gradients(int path, const float *dscores, const float *dropped, size_t padded_time,
                                     const float *keys, const float *queries, const float *gradients,
                                     size_t padded_head, size_t time, size_t head_size, float *dq, float *dk,
                                     float *dv, ptrdiff_t stride);

/// Σ x², accumulated in double.
double adamw_sum_of_squares(int path, const float *x, size_t count);

#endif
