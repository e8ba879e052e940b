#ifndef ADAMW_CPREFETCH_H
#define ADAMW_CPREFETCH_H

/// Asks the CPU to bring the cache line holding `address` into cache, without waiting for it (a hint: it never
/// faults). Swift has no prefetch instruction of its own; the data loader uses this to fetch the next batch's
/// samples while the current batch trains.
static inline void adamw_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
