/* oracle: the checks the fuzz targets apply to what a parser accepts.
 *
 * The state oracle is the round trip of docs/design.md ("Fuzzing"): any input
 * that parses must survive parse -> validate -> serialize -> parse -> deep
 * equal -> serialize byte-identical, and nothing may leak.  The serializer
 * is a parameter, so a test can hand it a broken (non-canonical) one and
 * watch it fail.  Byte identity is checked on an equal state whose maps
 * were filled in another order (state.h: maps are unordered), which is what
 * a new master that rebuilt its maps would hold: a serializer that writes
 * map keys in insertion or hash order fails there.
 *
 * Leaks: jansson's allocations are counted (oracle_init installs counting
 * functions above json_guard_malloc/free, so the mem/alloc point stays
 * underneath) and every heap block by the malloc shim of fuzz/heapcount.c,
 * in the programs that link it, before and after each input.  Under ASan
 * the shim is left out and LeakSanitizer does that job.
 *
 * Outcomes: ORACLE_REJECTED (the parser said no, cleanly), ORACLE_PASS, or
 * ORACLE_VIOLATION with a sentence in the report.  No function here aborts:
 * the fuzz entry points do, the replay suite reports. */
#ifndef BATON_ORACLE_H
#define BATON_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "state.h"

enum oracle_outcome { ORACLE_PASS = 0, ORACLE_REJECTED, ORACLE_VIOLATION };

struct oracle_report {
	enum oracle_outcome outcome;
	char stage[32];		/* "parse", "reparse", "equal", "bytes", ... */
	char msg[1400];
};

typedef int (*oracle_serialize_fn)(const struct state *s, char **out,
				   size_t *len, struct bt_err *err);

/* Once per process: json_guard_init plus the counting jansson allocator. */
void oracle_init(void);

/* Live jansson blocks / live heap blocks right now (0 under ASan). */
long oracle_json_live(void);
long oracle_heap_live(void);

/* The round trip from bytes: parse; on success the state round trip. */
enum oracle_outcome oracle_state_bytes(const char *buf, size_t len,
				       oracle_serialize_fn ser,
				       struct oracle_report *rep);

/* The round trip from a parsed (or generated) state; S is not modified. */
enum oracle_outcome oracle_state_roundtrip(const struct state *s,
					   oracle_serialize_fn ser,
					   struct oracle_report *rep);

/* Record a violation (printf-style) and return ORACLE_VIOLATION. */
enum oracle_outcome oracle_fail(struct oracle_report *rep, const char *stage,
				const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Leak checks around one input: mark before, check after. */
struct oracle_mark {
	long json;
	long heap;
};
void oracle_mark(struct oracle_mark *m);
enum oracle_outcome oracle_check_leaks(const struct oracle_mark *m,
				       struct oracle_report *rep);

/* What the fuzz entry points do with a violation: print it with the input
 * size, then abort() so the engine records a crash. */
void oracle_abort(const char *target, const struct oracle_report *rep,
		  size_t input_len) __attribute__((noreturn));

#endif
