/* stategen: seeded generator of valid upgrade states, for the round-trip
 * tests, the fuzz seeds and the benchmarks.
 *
 * The same seed always gives the same state (splitmix64, no libc rand).
 * Every state passes state_validate and reaches for the edges the format
 * allows: 0 to STATEGEN_MAX_WORKERS workers, every run state, valid UTF-8
 * with 2-, 3- and 4-byte sequences, quotes, backslashes and control
 * characters in every string, u64 counters at 0 and INT64_MAX,
 * next_worker_id at UINT32_MAX, fds at 3 and 1048575 (all distinct), pids
 * at 1 and 4194304.
 *
 * stategen_fill_reordered builds the very same state (state_equal) with
 * its maps (clusters, and the backends of each cluster) added through the
 * state_add_* builders in another order, for the canonical-bytes check. */
#ifndef BATON_STATEGEN_H
#define BATON_STATEGEN_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

#define STATEGEN_MAX_WORKERS 300
/* n_workers value that lets the seed pick 0 .. STATEGEN_MAX_WORKERS */
#define STATEGEN_ANY ((size_t)-1)

/* Fill *s (initialized here).  0, or -1 with errno ENOMEM and *s empty. */
int stategen_fill(struct state *s, uint64_t seed, size_t n_workers);

/* The state stategen_fill(seed, n_workers) gives, with clusters and
 * backends inserted in an order drawn from order_seed.  When a map has two
 * entries or more, the order differs from stategen_fill's. */
int stategen_fill_reordered(struct state *s, uint64_t seed, size_t n_workers,
			    uint64_t order_seed);

/* The worker count stategen_fill(seed, STATEGEN_ANY) uses. */
size_t stategen_workers_for(uint64_t seed);

#endif
