/* fuzz_state: the state parser under the round-trip oracle (oracle.h). */
#include "fuzz/targets.h"

#include "state_json.h"

enum oracle_outcome fuzz_state_check(const uint8_t *data, size_t size,
				     struct oracle_report *rep)
{
	return oracle_state_bytes((const char *)data, size,
				  state_json_serialize, rep);
}

FUZZ_ENTRY("fuzz_state", fuzz_state_check)
