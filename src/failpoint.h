/* failpoint: fault points as production code sees them (libfiu's
 * fiu-local.h); the registry that decides them is failpoint_control.h.
 *
 * FP_HIT("old/write") evaluates a named point: FP_NONE when nothing is
 * injected, FP_ERROR with errno set, or FP_SHORT (the caller makes its
 * read or write partial).  The kinds hang (sleep past every deadline) and
 * crash (SIGKILL self) are carried out inside FP_HIT and never return.
 * FP_DECIDE evaluates a point on behalf of another process: a child
 * between fork and exec may not touch the registry, so the parent decides
 * and the child acts; hang and crash are returned, not carried out, and
 * the child hangs for fp_hang_seconds().  Every site is recorded in a
 * linker section, so a binary can list the points its code contains.
 *
 * Counting scope: a hit counts only between fp_arm and fp_disarm, which
 * bracket the upgrade's own code (upgrade_old_*, a new master until it has
 * confirmed, a worker's part of a listener handoff), so N means "the Nth
 * call of the upgrade" whatever else the process did before.  Brackets
 * nest; a forked child never counts under its parent's bracket.
 *
 * Compiled with -DFP_DISABLE (make nofault) the points cost nothing:
 * FP_HIT and FP_DECIDE are FP_NONE, the brackets are empty, no site is
 * recorded and the registry is not built. */
#ifndef BATON_FAILPOINT_H
#define BATON_FAILPOINT_H

enum fp_kind { FP_NONE = 0, FP_ERROR, FP_SHORT, FP_HANG, FP_CRASH };

#ifndef FP_DISABLE

/* One FP_HIT site, placed in the "baton_fp" section. */
struct fp_site {
	const char *point;
	const char *file;
	int line;
} __attribute__((aligned(16)));

#define FP_SITE_(name, fn)                                                    \
	({                                                                    \
		static const struct fp_site fp_site_                          \
			__attribute__((section("baton_fp"), used)) = {        \
				name, __FILE__, __LINE__};                    \
		fn(&fp_site_);                                                \
	})
#define FP_HIT(name) FP_SITE_(name, fp_hit)
#define FP_DECIDE(name) FP_SITE_(name, fp_decide)

enum fp_kind fp_hit(const struct fp_site *site);
enum fp_kind fp_decide(const struct fp_site *site);
void fp_arm(void);
void fp_disarm(void);
/* How long a decided hang lasts (BATON_HANG_SECONDS, default 3600). */
unsigned fp_hang_seconds(void);

#else

#define FP_HIT(name) FP_NONE
#define FP_DECIDE(name) FP_NONE
static inline void fp_arm(void) {}
static inline void fp_disarm(void) {}
static inline unsigned fp_hang_seconds(void) { return 0; }

#endif
#endif
