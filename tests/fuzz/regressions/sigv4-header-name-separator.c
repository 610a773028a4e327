/* sigv4-header-name-separator: sigv4_sign() accepts a header name SignedHeaders cannot carry */
/*
 * header_name_valid() (daemon/aws/sigv4.c) refuses only CTLs, space, ':' and non-ASCII, so a name holding ';'
 * (or ',' '=' '(' '"' …, none of them RFC 7230 token characters) is signed: "a;b" lands in SignedHeaders
 * as "a;b;host;x-amz-date", which any verifier — AWS's or sim_sigv4_verify() — reads as headers "a" and "b".
 * The signature can never verify. Exit status 1 while sigv4_sign() accepts it, 0 once it returns -EINVAL.
 */
#include <errno.h>
#include <stdio.h>

#include "aws/sigv4.h"

int main(void)
{
	const struct sigv4_header headers[] = {{"Host", "deadline.us-west-2.amazonaws.com"}, {"a;b", "x"}};
	const struct sigv4_request req = {.method = "GET", .path = "/", .headers = headers, .n_headers = 2};
	const struct sigv4_params params = {.access_key_id = "AKIDEXAMPLE",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.region = "us-west-2",
		.service = "deadline",
		.now = 1440938160,
		.normalize_path = true};
	struct sigv4_signed s;
	int r = sigv4_sign(&req, &params, &s);

	if (r == -EINVAL) {
		printf("sigv4_sign refuses the header name: fixed\n");
		return 0;
	}
	printf("sigv4_sign returned %d: %s\n", r, r == 0 ? s.authorization : "");
	if (r == 0)
		sigv4_signed_deinit(&s);
	return 1;
}
