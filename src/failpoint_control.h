/* failpoint_control: the fault registry and its control (libfiu's
 * fiu-control.h), for batond's command-line code, the harness and the
 * tests.  Production code includes failpoint.h only.
 *
 * The registry runs on libfiu: every point it knows is enabled with an
 * external callback that counts hits (while armed, see failpoint.h) and
 * decides the spec.  Points outside baton's own namespace (posix/...,
 * libc/...) are libfiu's POSIX preload wrappers: they fire only when the
 * process runs with fiu_posix_preload.so in LD_PRELOAD.
 *
 * A spec is one line and is also the reproduction:
 *     [ROLE:]POINT@N:KIND[=ERRNO][:MODE]
 * e.g. old/write@2:error=ENOSPC:persistent, child/exec@1:error=ENOENT,
 * new:libc/mm/malloc@3:error=ENOMEM.  N counts the hits of POINT in one
 * process (1-based); MODE is transient (hit N only, the default) or
 * persistent (hit N and every later hit).  ROLE limits the spec to the
 * processes of that role (old, new, worker); without it the spec applies in
 * every process that hits the point.
 *
 * Environment, read by fp_setup:
 *   BATON_FAULTS       comma-separated specs
 *   BATON_FAULT_TRACE  path of a file that receives one line per hit and
 *                      per injected fault: "hit PID ROLE POINT N T" and
 *                      "fire PID ROLE POINT N KIND T", T the time of the
 *                      hit (CLOCK_MONOTONIC, microseconds)
 *   BATON_HANG_SECONDS how long hang sleeps (default 3600)
 *
 * Every fault that fires goes through fp_fired_breakpoint, a function that
 * is never inlined: `break fp_fired_breakpoint` in gdb stops at each
 * injected fault with the failing call on the stack.
 *
 * The registry is the only global mutable state of the fault machinery.
 * With -DFP_DISABLE it is not built: fp_setup refuses BATON_FAULTS and
 * BATON_FAULT_TRACE (such a binary cannot do what they ask, and says so
 * rather than run clean), fp_code_points lists nothing, and nothing else
 * here exists. */
#ifndef BATON_FAILPOINT_CONTROL_H
#define BATON_FAILPOINT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "err.h"
#include "failpoint.h"

#ifndef FP_DISABLE

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
bool fp_armed(void);
/* Forget every enabled spec and hit count; the process is clean after. */
void fp_reset(void);
/* Enable one spec from code (tests): same as listing it in BATON_FAULTS. */
int fp_enable(const struct fp_spec *s, struct bt_err *err);
/* How many times the spec for POINT fired in this process, and how many
 * times POINT was hit while armed (for an enabled or traced point). */
unsigned fp_fired(const char *point);
unsigned fp_hits(const char *point);

/* Called for every fault that fires, before it acts (a crash or hang does
 * not return); it writes the trace's "fire" line.  Never inlined: a
 * breakpoint's home. */
void fp_fired_breakpoint(const char *point, unsigned n, enum fp_kind kind);

/* The distinct point names of FP_HIT sites in this binary, sorted.  The
 * array is static; *n receives the count. */
const char *const *fp_code_points(size_t *n);

/* libfiu POSIX-preload points that baton's catalogue may name. */
extern const char *const fp_posix_points[];

#else

#include <errno.h>

static inline int fp_setup(const char *role, struct bt_err *err)
{
	const char *faults = getenv("BATON_FAULTS");
	const char *trace = getenv("BATON_FAULT_TRACE");

	(void)role;
	if ((faults && *faults) || (trace && *trace))
		return err_set(err, "fault-setup", ENOTSUP,
			       "BATON_FAULTS or BATON_FAULT_TRACE is set, but this "
			       "binary was built with FP_DISABLE (no fault registry)");
	return 0;
}

static inline const char *const *fp_code_points(size_t *n)
{
	static const char *const none[] = {NULL};

	*n = 0;
	return none;
}

#endif
#endif
