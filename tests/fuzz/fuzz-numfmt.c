/* fuzz-numfmt: the fast number paths against their definitions, byte for byte and bit for bit */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/numfmt.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* The input as text: numfmt_parse_double() must agree with strtod() on a NUL-terminated copy. */
static void check_parse(const uint8_t *data, size_t size)
{
	char buf[128], *end;
	double fast = 0.0, slow;
	int rc;

	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	rc = numfmt_parse_double(buf, size, &fast);
	FUZZ_ASSERT(rc == 0 || rc == -EINVAL);
	errno = 0;
	slow = strtod(buf, &end);
	/* strtod() stops at a NUL inside the input: then it did not consume the whole text either */
	if (size == 0 || (size_t)(end - buf) != size) {
		FUZZ_ASSERT(rc == -EINVAL);
		return;
	}
	FUZZ_ASSERT(rc == 0);
	FUZZ_ASSERT(memcmp(&fast, &slow, sizeof(fast)) == 0 || (isnan(fast) && isnan(slow)));
}

/* The input's first 8 bytes as a double (any bit pattern): numfmt_double() writes what the reference writes. */
static void check_format(const uint8_t *data, size_t size)
{
	char fast[NUMFMT_DOUBLE_SIZE], slow[NUMFMT_DOUBLE_SIZE];
	double v;
	size_t nf, ns;

	if (size < sizeof(v))
		return;
	memcpy(&v, data, sizeof(v));
	nf = numfmt_double(fast, sizeof(fast), v);
	ns = numfmt_double_reference(slow, sizeof(slow), v);
	FUZZ_ASSERT(nf == ns && strcmp(fast, slow) == 0);
	if (!isnan(v)) {
		double back = 0.0;
		FUZZ_ASSERT(numfmt_parse_double(fast, nf, &back) == 0 || isinf(v));
		FUZZ_ASSERT(isinf(v) || back == v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	check_format(data, size);
	return 0;
}
