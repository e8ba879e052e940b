// SGD's, RMSprop's and Adagrad's fused per-element steps (see Kernels' SGDStep, RMSpropStep and AdagradStep for the
// formulas and their order), over 16-lane vectors, compiled for each instruction set (kernel.h). Each loop runs
// whole vectors, then the last elements as one whole vector through zero-padded scratch: the same code, so the
// same bits wherever an element sits.
#include "kernel.h"

// Up to five float streams: the first `read_only` are only read.
typedef struct {
    float *stream[5];
} streams5;

// Copies the tail [i, end) of each non-null stream into zero-padded scratch, runs `update` at 0 there, copies back.
#define RUN_TAIL(streams, read_only, i, end, update_at)                                                             \
    do {                                                                                                            \
        size_t lanes_ = (end) - (i);                                                                                \
        float scratch_[5][WIDTH];                                                                                   \
        streams5 tail_;                                                                                             \
        memset(scratch_, 0, sizeof scratch_);                                                                       \
        for (int k_ = 0; k_ < 5; k_++) {                                                                            \
            tail_.stream[k_] = (streams).stream[k_] ? scratch_[k_] : 0;                                             \
            if ((streams).stream[k_]) memcpy(scratch_[k_], (streams).stream[k_] + (i), 4 * lanes_);                 \
        }                                                                                                           \
        update_at(tail_, 0);                                                                                        \
        for (int k_ = (read_only); k_ < 5; k_++)                                                                    \
            if ((streams).stream[k_]) memcpy((streams).stream[k_] + (i), scratch_[k_], 4 * lanes_);                 \
    } while (0)

// MARK: SGD. Streams: g, θ, b.

INLINE void sgd_update(const int fused, const adamw_sgd_scalars *s, streams5 p, size_t i, int momentum, int init,
                       int nesterov, int decay) {
    vf g = load_f(p.stream[0] + i), theta = load_f(p.stream[1] + i);
    if (s->maximize) g = g * -1.0f;  // a sign flip: −(+0) is −0, as the scalar reference's −g
    if (decay) g = madd(fused, theta, splat(s->weight_decay), g);
    if (momentum) {
        vf b = init ? g : madd(fused, g, splat(s->one_minus_dampening), load_f(p.stream[2] + i) * s->momentum);
        store_f(p.stream[2] + i, b);
        g = nesterov ? madd(fused, b, splat(s->momentum), g) : b;
    }
    store_f(p.stream[1] + i, madd(fused, g, splat(-s->lr), theta));
}

INLINE void sgd_range(const int fused, const adamw_sgd_scalars *scalars, streams5 p, size_t begin, size_t end,
                      int momentum, int init, int nesterov, int decay) {
    const adamw_sgd_scalars copy = *scalars, *s = &copy;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) sgd_update(fused, s, p, i, momentum, init, nesterov, decay);
    if (i == end) return;
#define SGD_AT(tail, at) sgd_update(fused, s, tail, at, momentum, init, nesterov, decay)
    RUN_TAIL(p, 1, i, end, SGD_AT);
}

INLINE void sgd_step_body(const int fused, const int lanes, const adamw_sgd_scalars *s, float *param,
                          const float *grad, float *momentum_buffer, size_t begin, size_t end) {
    streams5 p = {{(float *)grad, param, momentum_buffer, 0, 0}};
    int decay = s->weight_decay != 0.0f;
    if (!momentum_buffer) {
        if (decay) sgd_range(fused, s, p, begin, end, 0, 0, 0, 1); else sgd_range(fused, s, p, begin, end, 0, 0, 0, 0);
    } else if (s->initializes_buffer) {
        if (s->nesterov) sgd_range(fused, s, p, begin, end, 1, 1, 1, decay);
        else sgd_range(fused, s, p, begin, end, 1, 1, 0, decay);
    } else if (s->nesterov) {
        if (decay) sgd_range(fused, s, p, begin, end, 1, 0, 1, 1); else sgd_range(fused, s, p, begin, end, 1, 0, 1, 0);
    } else {
        if (decay) sgd_range(fused, s, p, begin, end, 1, 0, 0, 1); else sgd_range(fused, s, p, begin, end, 1, 0, 0, 0);
    }
}
PATHS(sgd_step, (const adamw_sgd_scalars *s, float *param, const float *grad, float *momentum_buffer, size_t begin,
                 size_t end),
      (s, param, grad, momentum_buffer, begin, end))

// MARK: RMSprop. Streams: g, θ, s, ḡ, b.

INLINE void rmsprop_update(const int fused, const adamw_rmsprop_scalars *s, streams5 p, size_t i, int centered,
                           int momentum, int decay) {
    vf g = load_f(p.stream[0] + i), theta = load_f(p.stream[1] + i), square_avg = load_f(p.stream[2] + i);
    if (s->maximize) g = g * -1.0f;
    if (decay) g = madd(fused, theta, splat(s->weight_decay), g);
    square_avg = madd(fused, g * s->one_minus_alpha, g, square_avg * s->alpha);
    vf avg = square_avg;
    if (centered) {
        vf grad_avg = load_f(p.stream[3] + i);
        vf delta = g - grad_avg;
        grad_avg = s->one_minus_alpha < 0.5f ? madd(fused, splat(s->one_minus_alpha), delta, grad_avg)
                                             : madd(fused, splat(s->one_minus_alpha - 1.0f), delta, g);
        store_f(p.stream[3] + i, grad_avg);
        avg = madd(fused, -grad_avg, grad_avg, square_avg);
    }
    avg = vsqrt(avg) + s->eps;
    vf direction = g / avg;
    if (momentum) {
        direction = madd(fused, load_f(p.stream[4] + i), splat(s->momentum), direction);
        store_f(p.stream[4] + i, direction);
    }
    store_f(p.stream[1] + i, madd(fused, direction, splat(-s->lr), theta));
    store_f(p.stream[2] + i, square_avg);
}

INLINE void rmsprop_range(const int fused, const adamw_rmsprop_scalars *scalars, streams5 p, size_t begin,
                          size_t end, int centered, int momentum, int decay) {
    const adamw_rmsprop_scalars copy = *scalars, *s = &copy;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) rmsprop_update(fused, s, p, i, centered, momentum, decay);
    if (i == end) return;
#define RMSPROP_AT(tail, at) rmsprop_update(fused, s, tail, at, centered, momentum, decay)
    RUN_TAIL(p, 1, i, end, RMSPROP_AT);
}

INLINE void rmsprop_step_body(const int fused, const int lanes, const adamw_rmsprop_scalars *s, float *param,
                              const float *grad, float *square_avg, float *grad_avg, float *momentum_buffer,
                              size_t begin, size_t end) {
    streams5 p = {{(float *)grad, param, square_avg, s->centered ? grad_avg : 0, s->momentum > 0 ? momentum_buffer : 0}};
    switch ((s->centered ? 4 : 0) | (s->momentum > 0 ? 2 : 0) | (s->weight_decay != 0.0f ? 1 : 0)) {
    case 0: rmsprop_range(fused, s, p, begin, end, 0, 0, 0); break;
    case 1: rmsprop_range(fused, s, p, begin, end, 0, 0, 1); break;
    case 2: rmsprop_range(fused, s, p, begin, end, 0, 1, 0); break;
    case 3: rmsprop_range(fused, s, p, begin, end, 0, 1, 1); break;
    case 4: rmsprop_range(fused, s, p, begin, end, 1, 0, 0); break;
    case 5: rmsprop_range(fused, s, p, begin, end, 1, 0, 1); break;
    case 6: rmsprop_range(fused, s, p, begin, end, 1, 1, 0); break;
    default: rmsprop_range(fused, s, p, begin, end, 1, 1, 1); break;
    }
}
PATHS(rmsprop_step, (const adamw_rmsprop_scalars *s, float *param, const float *grad, float *square_avg,
                     float *grad_avg, float *momentum_buffer, size_t begin, size_t end),
      (s, param, grad, square_avg, grad_avg, momentum_buffer, begin, end))

// MARK: Adagrad. Streams: g, θ, Σ.

INLINE void adagrad_update(const int fused, const adamw_adagrad_scalars *s, streams5 p, size_t i, int decay) {
    vf g = load_f(p.stream[0] + i), theta = load_f(p.stream[1] + i), sum = load_f(p.stream[2] + i);
    if (s->maximize) g = g * -1.0f;
    if (decay) g = madd(fused, theta, splat(s->weight_decay), g);
    sum = madd(fused, g, g, sum);
    vf std = vsqrt(sum) + s->eps;
    store_f(p.stream[1] + i, madd(fused, g / std, splat(-s->clr), theta));
    store_f(p.stream[2] + i, sum);
}

INLINE void adagrad_range(const int fused, const adamw_adagrad_scalars *scalars, streams5 p, size_t begin, size_t end,
                          int decay) {
    const adamw_adagrad_scalars copy = *scalars, *s = &copy;
    size_t i = begin;
    for (; i + WIDTH <= end; i += WIDTH) adagrad_update(fused, s, p, i, decay);
    if (i == end) return;
#define ADAGRAD_AT(tail, at) adagrad_update(fused, s, tail, at, decay)
    RUN_TAIL(p, 1, i, end, ADAGRAD_AT);
}

INLINE void adagrad_step_body(const int fused, const int lanes, const adamw_adagrad_scalars *s, float *param,
                              const float *grad, float *sum, size_t begin, size_t end) {
    streams5 p = {{(float *)grad, param, sum, 0, 0}};
    if (s->weight_decay != 0.0f) adagrad_range(fused, s, p, begin, end, 1); else adagrad_range(fused, s, p, begin, end, 0);
}
PATHS(adagrad_step, (const adamw_adagrad_scalars *s, float *param, const float *grad, float *sum, size_t begin,
                     size_t end),
      (s, param, grad, sum, begin, end))
