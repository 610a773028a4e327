/* fuzz-credentials-json: the credential documents of IMDS, the container endpoint and credential_process */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials/aws_credentials.h"
#include "util/rfc3339.h"

#include "fuzz.h"

/* Byte 0: bit 0 the credential_process format; the rest: the document (also read as a time). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_credentials *c = NULL;
	char why[256];
	char *text;
	int64_t t;
	int r;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	memset(why, 'x', sizeof(why));
	why[0] = '\0';
	r = aws_credentials_from_json(text, "fuzz", data[0] & 1, &c, why, sizeof(why));
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOMEM);
	FUZZ_ASSERT((r == 0) == (c != NULL));
	FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL);
	aws_credentials_unref(c);
	r = rfc3339_parse(text, &t);
	FUZZ_ASSERT(r == 0 || r == -EINVAL);
	free(text);
	return 0;
}
