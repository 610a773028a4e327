/* fuzz-sts: STS AssumeRole / AssumeRoleWithWebIdentity / GetCallerIdentity responses and ErrorResponses (XML, expat) */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials/aws_credentials.h"
#include "aws/credentials/aws_sts.h"

#include "fuzz.h"

/* Bytes 0-1: the HTTP status (200 half the time, else 100 to 599); the rest: the body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_credentials *c = NULL;
	char why[256];
	long status;
	int r;

	if (size < 2)
		return 0;
	status = data[0] & 1 ? 200 : 100 + ((data[0] << 8 | data[1]) >> 1) % 500;
	memset(why, 'x', sizeof(why));
	why[0] = '\0';
	r = aws_sts_parse((const char *)data + 2, size - 2, status, "fuzz", &c, why, sizeof(why));
	FUZZ_ASSERT(r == 0 || r == -EACCES || r == -EIO || r == -ENOMEM);
	FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL);
	FUZZ_ASSERT((r == 0) == (c != NULL));
	if (r == 0)
		FUZZ_ASSERT(status >= 200 && status < 300);
	aws_credentials_unref(c);

	/* The same bytes as a GetCallerIdentity answer: a 12-digit account and an ARN, or an error. */
	struct aws_caller_identity who;
	memset(why, 'x', sizeof(why));
	why[0] = '\0';
	r = aws_sts_parse_identity((const char *)data + 2, size - 2, status, &who, why, sizeof(why));
	FUZZ_ASSERT(r == 0 || r == -EACCES || r == -EIO || r == -ENOMEM);
	FUZZ_ASSERT(memchr(why, '\0', sizeof(why)) != NULL);
	if (r == 0)
		FUZZ_ASSERT(strlen(who.account) == 12 && strncmp(who.arn, "arn:", 4) == 0);
	return 0;
}
