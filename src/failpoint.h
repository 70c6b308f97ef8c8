/* failpoint: named fault points on libfiu, and the BATON_FAULTS spec parser.
 *
 * Production code sees only FP_HIT("old/write"): it returns FP_NONE when
 * nothing is injected, FP_ERROR with errno set, or FP_SHORT (the caller
 * makes its read or write partial).  The kinds `hang` (sleep past every
 * deadline) and `crash` (SIGKILL self) are carried out inside FP_HIT and
 * never return to the caller.  Every FP_HIT site is recorded in a linker
 * section, so the binary can list the points its code contains
 * (fp_code_points) and the campaign can compare them with the catalogue.
 *
 * A spec is one line and is also the reproduction:
 *     [ROLE:]POINT@N:KIND[=ERRNO][:MODE]
 * e.g. old/write@2:error=ENOSPC:persistent, child/exec@1:error=ENOENT,
 * new:libc/mm/malloc@3:error=ENOMEM.  N counts the hits of POINT in one
 * process (1-based); MODE is transient (hit N only, the default) or
 * persistent (hit N and every later hit).  ROLE limits the spec to the
 * processes of that role (old, new, worker); without it the spec applies in
 * every process that hits the point.  Points outside baton's own namespace
 * (posix/..., libc/...) are libfiu's POSIX preload wrappers: they fire only
 * when the process runs with fiu_posix_preload.so in LD_PRELOAD.
 *
 * Hits are counted only while the process is armed (fp_arm): a master arms
 * while an upgrade is in flight, a new master from its start until it has
 * confirmed, a worker during a listener handoff.  That makes N mean "the
 * Nth call of the upgrade" whatever else the process did before.
 *
 * Environment, read by fp_setup:
 *   BATON_FAULTS       comma-separated specs
 *   BATON_FAULT_TRACE  path of a file that receives one line per hit and
 *                      per injected fault: "hit PID ROLE POINT N T" and
 *                      "fire PID ROLE POINT N KIND T", T the time of the
 *                      hit (CLOCK_MONOTONIC, microseconds)
 *   BATON_HANG_SECONDS how long `hang` sleeps (default 3600)
 *
 * The registry below is the only global mutable state in baton. */
#ifndef BATON_FAILPOINT_H
#define BATON_FAILPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum fp_kind { FP_NONE = 0, FP_ERROR, FP_SHORT, FP_HANG, FP_CRASH };
enum fp_mode { FP_TRANSIENT = 0, FP_PERSISTENT };

#define FP_NAME_MAX 64
#define FP_ROLE_MAX 16
#define FP_SPECS_MAX 32

struct fp_spec {
	char role[FP_ROLE_MAX];	/* "" = every process */
	char point[FP_NAME_MAX];
	unsigned nth;		/* >= 1 */
	enum fp_kind kind;
	int errnum;		/* FP_ERROR only */
	enum fp_mode mode;
};

/* One FP_HIT call site, placed in the "baton_fp" section. */
struct fp_site {
	const char *point;
	const char *file;
	int line;
} __attribute__((aligned(16)));

#ifndef FP_DISABLE
#define FP_SITE_(name, fn)                                                    \
	({                                                                    \
		static const struct fp_site fp_site_                          \
			__attribute__((section("baton_fp"), used)) = {        \
				name, __FILE__, __LINE__};                    \
		fn(&fp_site_);                                                \
	})
#define FP_HIT(name) FP_SITE_(name, fp_hit)
#define FP_DECIDE(name) FP_SITE_(name, fp_decide)
#else
#define FP_HIT(name) FP_NONE
#define FP_DECIDE(name) FP_NONE
#endif

/* Evaluate a point; see FP_HIT. */
enum fp_kind fp_hit(const struct fp_site *site);
/* FP_DECIDE: evaluate a point on behalf of another process (a child
 * between fork and exec may not touch the registry): hang and crash are
 * returned, not carried out; errno is set for FP_ERROR. */
enum fp_kind fp_decide(const struct fp_site *site);

/* Parse one spec / a comma-separated list.  On error the message quotes the
 * input and puts a caret under the offending character. */
int fp_spec_parse(const char *text, struct fp_spec *out, struct bt_err *err);
int fp_spec_parse_list(const char *text, struct fp_spec *out, size_t max,
		       size_t *n, struct bt_err *err);
/* Canonical text of a spec (what fp_spec_parse reads back). */
int fp_spec_format(const struct fp_spec *s, char *buf, size_t len);
const char *fp_kind_name(enum fp_kind k);

/* Initialize libfiu, read the environment, enable the specs that apply to
 * ROLE ("old", "new", "worker", or "tool" for harness binaries). */
int fp_setup(const char *role, struct bt_err *err);
/* Arm or disarm counting (see above). */
void fp_arm(void);
void fp_disarm(void);
bool fp_armed(void);
/* Forget every enabled spec and hit count; the process is clean after. */
void fp_reset(void);
/* Enable one spec from code (tests): same as listing it in BATON_FAULTS. */
int fp_enable(const struct fp_spec *s, struct bt_err *err);
/* How many times the spec for POINT fired in this process, and how many
 * times POINT was hit while armed (for an enabled or traced point). */
unsigned fp_fired(const char *point);
unsigned fp_hits(const char *point);

/* Allocation scopes, for jansson 2.14, whose parser cannot survive an
 * allocation failing in the middle of a token (it drops a byte and goes
 * on).  Inside a scope, once one allocation has failed every later one
 * fails too (fp_alloc_refuse), and the end of the scope says whether any
 * failed.  The state is part of the registry. */
void fp_alloc_scope_begin(void);
bool fp_alloc_scope_end(void);
bool fp_alloc_refuse(void);
void fp_alloc_note(bool ok);

/* The distinct point names of FP_HIT sites in this binary, sorted.  The
 * array is static; *n receives the count. */
const char *const *fp_code_points(size_t *n);

/* libfiu POSIX-preload points that baton's catalogue may name. */
extern const char *const fp_posix_points[];

#endif
