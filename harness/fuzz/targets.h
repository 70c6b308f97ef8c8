/* fuzz_targets: the five fuzz targets, each a check function plus the
 * libFuzzer entry points around it.
 *
 * fuzz_<name>_check runs one input through one parser and its oracle and
 * returns the outcome (oracle.h); it never aborts, so the replay suite can
 * name the input that failed.  FUZZ_ENTRY turns a check function into
 * LLVMFuzzerInitialize/LLVMFuzzerTestOneInput (which abort on a violation,
 * so an engine records a crash); the replay suite compiles the targets with
 * FUZZ_NO_ENTRY, which leaves the entry points out so all five link into
 * one program. */
#ifndef BATON_FUZZ_TARGETS_H
#define BATON_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "fuzz/oracle.h"

typedef enum oracle_outcome (*fuzz_check_fn)(const uint8_t *data, size_t size,
					     struct oracle_report *rep);

enum oracle_outcome fuzz_state_check(const uint8_t *data, size_t size,
				     struct oracle_report *rep);
enum oracle_outcome fuzz_frame_check(const uint8_t *data, size_t size,
				     struct oracle_report *rep);
enum oracle_outcome fuzz_manifest_check(const uint8_t *data, size_t size,
					struct oracle_report *rep);
enum oracle_outcome fuzz_main_args_check(const uint8_t *data, size_t size,
					 struct oracle_report *rep);
enum oracle_outcome fuzz_spec_check(const uint8_t *data, size_t size,
				    struct oracle_report *rep);

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_NO_ENTRY
#define FUZZ_ENTRY(name, check)
#else
#define FUZZ_ENTRY(name, check)                                               \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                     \
	{                                                                     \
		(void)argc;                                                   \
		(void)argv;                                                   \
		oracle_init();                                                \
		return 0;                                                     \
	}                                                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)          \
	{                                                                     \
		struct oracle_report rep_;                                    \
		if (check(data, size, &rep_) == ORACLE_VIOLATION)             \
			oracle_abort(name, &rep_, size);                      \
		return 0;                                                     \
	}
#endif

#endif
