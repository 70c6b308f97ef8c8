/* stategen: see stategen.h. */
#include "lib/stategen.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rng {
	uint64_t s;
};

/* splitmix64: tiny, good enough, and the same on every libc. */
static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return n ? rng_next(r) % n : 0;
}

static bool rng_chance(struct rng *r, unsigned percent)
{
	return rng_below(r, 100) < percent;
}

/* Fragments of valid UTF-8: ASCII that JSON must escape, then 2-, 3- and
 * 4-byte sequences at the edges of their ranges (U+0080, U+07FF, U+0800,
 * U+D7FF, U+E000, U+FFFD, U+10000, U+10FFFF). */
/* clang-format off */
static const char *const pieces[] = {
	"a", "b", "z", "A", "Q", "0", "7", "-", "_", ".", "/", ":", " ",
	"\"", "\\", "\t", "\n", "\x01", "\x1f", "\x7f",
	"\xc2\x80", "\xc3\xa9", "\xc3\x9f", "\xdf\xbf",
	"\xe0\xa0\x80", "\xe4\xb8\xad", "\xe2\x82\xac", "\xed\x9f\xbf",
	"\xee\x80\x80", "\xef\xbf\xbd",
	"\xf0\x90\x80\x80", "\xf0\x9f\x9a\x80", "\xf4\x8f\xbf\xbf",
};
/* clang-format on */
#define N_PIECES (sizeof pieces / sizeof pieces[0])
#define FIRST_4BYTE (N_PIECES - 3)

/* Append up to N random pieces to OUT (NUL-terminated, CAP bytes), one of
 * them a 4-byte sequence, stopping before a piece that would not fit. */
static void rand_text(struct rng *r, char *out, size_t cap, size_t n)
{
	size_t len = strlen(out), forced = rng_below(r, n ? n : 1);

	for (size_t i = 0; i < n; i++) {
		const char *p = i == forced
				    ? pieces[FIRST_4BYTE + rng_below(r, 3)]
				    : pieces[rng_below(r, N_PIECES)];
		size_t plen = strlen(p);

		if (len + plen + 1 > cap)
			break;
		memcpy(out + len, p, plen + 1);
		len += plen;
	}
}

static uint64_t pick_u64(struct rng *r)
{
	switch (rng_below(r, 6)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return INT64_MAX;
	case 3:
		return INT64_MAX - 1;
	case 4:
		return rng_below(r, 1000);
	default:
		return rng_next(r) >> 1;
	}
}

/* One of LO, HI or something in between. */
static uint64_t pick_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	switch (rng_below(r, 3)) {
	case 0:
		return lo;
	case 1:
		return hi;
	default:
		return lo + rng_below(r, hi - lo + 1);
	}
}

static int fill_config(struct state *s, struct rng *r)
{
	struct state_config *c = &s->config;
	char text[512];
	unsigned port = 1 + (unsigned)rng_below(r, 60000);
	size_t n_listeners = rng_below(r, 5);

	/* 107 bytes at most: sun_path */
	snprintf(text, sizeof text, "/run/b%u/", (unsigned)rng_below(r, 1000));
	rand_text(r, text, 108, 1 + rng_below(r, 40));
	if (state_set_string(&c->command_socket, text))
		return -1;
	snprintf(text, sizeof text, "/run/");
	rand_text(r, text, sizeof text, 1 + rng_below(r, 60));
	if (state_set_string(&c->pid_file_path, text))
		return -1;
	c->command_buffer_size = pick_range(r, 16, 1u << 30);
	c->max_command_buffer_size =
	    pick_range(r, c->command_buffer_size, 1u << 30);
	c->worker_count = (uint32_t)pick_range(r, 0, 4096);
	c->upgrade_timeout_ms = pick_range(r, 1, 3600000);
	for (size_t i = 0; i < n_listeners; i++) {
		/* ports are consecutive, so addresses are distinct */
		if (rng_chance(r, 50))
			snprintf(text, sizeof text, "127.0.0.1:%u",
				 port + (unsigned)i);
		else
			snprintf(text, sizeof text, "[::1]:%u",
				 port + (unsigned)i);
		if (state_add_listener(s, text, "http"))
			return -1;
	}
	return 0;
}

static void shuffle_ints(struct rng *r, int *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(r, i);
		int t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* COUNT distinct fds in [STATE_FD_MIN, STATE_FD_MAX], often including both
 * ends, sometimes packed near the bottom as a real fd table is. */
static int *pick_fds(struct rng *r, size_t count)
{
	size_t span = STATE_FD_MAX - STATE_FD_MIN + 1, k = 0;
	unsigned char *seen = calloc(span / 8 + 1, 1);
	int *fds = malloc(count * sizeof *fds);
	bool dense = rng_chance(r, 50);

	if (!seen || !fds) {
		free(seen);
		free(fds);
		return NULL;
	}
	if (rng_chance(r, 60))
		fds[k++] = STATE_FD_MIN;
	if (k < count && rng_chance(r, 60))
		fds[k++] = STATE_FD_MAX;
	for (size_t i = 0; i < k; i++)
		seen[(fds[i] - STATE_FD_MIN) / 8] |=
		    1u << ((fds[i] - STATE_FD_MIN) % 8);
	while (k < count) {
		size_t off = rng_below(r, dense ? 4 * count + 4 : span);

		if (seen[off / 8] & (1u << (off % 8)))
			continue;
		seen[off / 8] |= 1u << (off % 8);
		fds[k++] = STATE_FD_MIN + (int)off;
	}
	free(seen);
	shuffle_ints(r, fds, count);
	return fds;
}

/* Distinct worker ids and a next_worker_id above all of them. */
static void pick_ids(struct rng *r, struct state_worker *w, size_t n,
		     uint32_t *next)
{
	uint32_t stride = 1 + (uint32_t)rng_below(r, 1000);
	uint32_t off = (uint32_t)rng_below(r, 1000);

	switch (rng_below(r, 3)) {
	case 0: /* the daemon's way: 0, 1, 2, ... */
		for (size_t i = 0; i < n; i++)
			w[i].id = (uint32_t)i;
		*next = (uint32_t)n + (uint32_t)rng_below(r, 3);
		break;
	case 1: /* at the top of the range */
		for (size_t i = 0; i < n; i++)
			w[i].id = UINT32_MAX - 1 - (uint32_t)i;
		*next = UINT32_MAX;
		break;
	default: /* sparse, descending */
		for (size_t i = 0; i < n; i++)
			w[i].id = off + stride * (uint32_t)(n - 1 - i);
		*next = off + stride * (uint32_t)n + (uint32_t)rng_below(r, 5);
		break;
	}
}

static int32_t pick_pid(struct rng *r)
{
	switch (rng_below(r, 5)) {
	case 0:
		return 1;
	case 1:
		return STATE_PID_MAX;
	default:
		return 1 + (int32_t)rng_below(r, STATE_PID_MAX);
	}
}

static int fill_workers(struct state *s, struct rng *r, size_t n)
{
	struct state_worker *w = calloc(n ? n : 1, sizeof *w);
	int *fds = pick_fds(r, 1 + 2 * n);
	unsigned first_run = (unsigned)rng_below(r, STATE_RUN_COUNT);
	int rc = -1;

	if (!w || !fds)
		goto out;
	pick_ids(r, w, n, &s->next_worker_id);
	s->command_socket_fd = fds[0];
	for (size_t i = 0; i < n; i++) {
		w[i].pid = pick_pid(r);
		w[i].run_state =
		    (enum state_run)((first_run + i) % STATE_RUN_COUNT);
		w[i].channel_fd = fds[1 + 2 * i];
		w[i].scm_fd = fds[2 + 2 * i];
	}
	for (size_t i = 0; i < n; i++)
		if (state_add_worker(s, &w[i]))
			goto out;
	rc = 0;
out:
	free(w);
	free(fds);
	return rc;
}

static bool name_taken(const struct state *s, const char *name)
{
	for (size_t i = 0; i < s->n_clusters; i++)
		if (strcmp(s->clusters[i].name, name) == 0)
			return true;
	return false;
}

static int fill_cluster(struct state_cluster *c, struct rng *r)
{
	size_t n = rng_below(r, 7);
	char text[160];

	for (size_t j = 0; j < n; j++) {
		if (j > 0 && rng_chance(r, 10)) {
			/* a map may hold one backend twice */
			snprintf(text, sizeof text, "%s", c->backends[0]);
		} else if (rng_chance(r, 50)) {
			snprintf(text, sizeof text, "127.0.0.1:%u",
				 1 + (unsigned)rng_below(r, 65535));
		} else {
			text[0] = 0;
			rand_text(r, text, sizeof text, 1 + rng_below(r, 12));
		}
		if (state_add_backend(c, text))
			return -1;
	}
	return 0;
}

static int fill_clusters(struct state *s, struct rng *r)
{
	size_t n = rng_below(r, 13);
	char name[128];

	for (size_t i = 0; i < n; i++) {
		int k;

		/* short names collide now and then: draw again */
		do {
			name[0] = 0;
			rand_text(r, name, sizeof name, 1 + rng_below(r, 10));
		} while (name_taken(s, name));
		k = state_add_cluster(s, name);
		if (k < 0 || fill_cluster(&s->clusters[k], r))
			return -1;
	}
	return 0;
}

size_t stategen_workers_for(uint64_t seed)
{
	struct rng r = {seed ^ 0x5eed};

	switch (seed % 8) {
	case 0:
		return 0;
	case 1:
		return STATEGEN_MAX_WORKERS;
	default:
		return rng_below(&r, STATEGEN_MAX_WORKERS + 1);
	}
}

int stategen_fill(struct state *s, uint64_t seed, size_t n_workers)
{
	struct rng r = {seed};

	state_init(s);
	if (n_workers == STATEGEN_ANY)
		n_workers = stategen_workers_for(seed);
	s->boot_generation = pick_u64(&r);
	s->next_client_id = pick_u64(&r);
	s->next_session_id = pick_u64(&r);
	s->next_task_id = pick_u64(&r);
	if (fill_config(s, &r) || fill_workers(s, &r, n_workers) ||
	    fill_clusters(s, &r)) {
		state_free(s);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* A permutation of 0..n-1 that is not the identity when n >= 2. */
static size_t *permutation(struct rng *r, size_t n)
{
	size_t *p = malloc((n ? n : 1) * sizeof *p);
	bool identity = true;

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = rng_below(r, i), t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		identity = identity && p[i] == i;
	if (identity && n >= 2) {
		p[0] = 1;
		p[1] = 0;
	}
	return p;
}

/* Add SRC's clusters to DST through the builders, in a shuffled order. */
static int add_clusters_reordered(struct state *dst, const struct state *src,
				  struct rng *r)
{
	size_t *order = permutation(r, src->n_clusters);
	int rc = -1;

	if (!order)
		return -1;
	for (size_t i = 0; i < src->n_clusters; i++) {
		const struct state_cluster *c = &src->clusters[order[i]];
		size_t *bo = permutation(r, c->n_backends);
		int k = bo ? state_add_cluster(dst, c->name) : -1;

		for (size_t j = 0; k >= 0 && j < c->n_backends; j++)
			if (state_add_backend(&dst->clusters[k],
					      c->backends[bo[j]]))
				k = -1;
		free(bo);
		if (k < 0)
			goto out;
	}
	rc = 0;
out:
	free(order);
	return rc;
}

int stategen_fill_reordered(struct state *s, uint64_t seed, size_t n_workers,
			    uint64_t order_seed)
{
	struct rng r = {order_seed};
	struct state src;
	struct state_cluster *clusters;
	size_t n_clusters;
	int rc;

	if (stategen_fill(&src, seed, n_workers))
		return -1;
	/* a copy of everything but the clusters, which are re-added */
	clusters = src.clusters;
	n_clusters = src.n_clusters;
	src.clusters = NULL;
	src.n_clusters = 0;
	rc = state_copy(s, &src, NULL);
	src.clusters = clusters;
	src.n_clusters = n_clusters;
	if (rc == 0 && add_clusters_reordered(s, &src, &r)) {
		state_free(s);
		rc = -1;
	}
	state_free(&src);
	if (rc)
		errno = ENOMEM;
	return rc;
}
