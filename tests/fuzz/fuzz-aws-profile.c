/* fuzz-aws-profile: the shared config / credentials file parser (~/.aws/config, ~/.aws/credentials) */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_profile.h"

#include "fuzz.h"

static const char *const keys[] = {
	"aws_access_key_id",
	"aws_secret_access_key",
	"aws_session_token",
	"region",
	"role_arn",
	"source_profile",
	"credential_process",
	"web_identity_token_file",
	"credential_source",
	"external_id",
	"duration_seconds",
};

/* Byte 0: bit 0 the config format ("[profile name]"), bit 1 the profile "prod" rather than "default". */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_profile *p = NULL;
	bool config_format;
	char *text;
	int r;

	if (size < 1)
		return 0;
	config_format = data[0] & 1;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (aws_profile_new(&p, data[0] & 2 ? "prod" : "default") < 0)
		goto out;
	r = aws_profile_parse(p, text, config_format);
	FUZZ_ASSERT(r == 0 || r == -ENOMEM);
	for (size_t i = 0; r == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = aws_profile_get(p, keys[i]);

		if (!v)
			continue;
		/* values are trimmed and non-empty, within the text they came from */
		FUZZ_ASSERT(v[0] != '\0');
		FUZZ_ASSERT(v[0] != ' ' && v[0] != '\t');
		FUZZ_ASSERT(v[strlen(v) - 1] != ' ' && v[strlen(v) - 1] != '\t');
		FUZZ_ASSERT(strlen(v) < size);
		FUZZ_ASSERT(aws_profile_found(p));
	}
	(void)aws_profile_bool(aws_profile_get(p, "sts_regional_endpoints"));
out:
	aws_profile_free(p);
	free(text);
	return 0;
}
