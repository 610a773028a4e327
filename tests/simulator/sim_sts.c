/* sim_sts: STS GetCallerIdentity (Query protocol, XML answers), so that a client learns whose keys it signs with */
#include "sim_sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_access.h"
#include "sim_api.h"
#include "util/buf.h"

#define STS_NS "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_VERSION "2011-06-15"
#define XML_TYPE "text/xml"
#define FORM_TYPE "application/x-www-form-urlencoded"
#define STS_BODY_MAX (64 * 1024)

bool sim_sts_request(const char *target, const char *content_type)
{
	/* the identity store's calls name their operation in X-Amz-Target; STS's name it in the form */
	return !target && content_type && strncasecmp(content_type, FORM_TYPE, strlen(FORM_TYPE)) == 0;
}

/* Appends s with XML's five special characters escaped (a principal ARN given through /__sim/credentials). */
static int xml_puts(struct buf *b, const char *s)
{
	int r = 0;

	for (; *s && r >= 0; s++) {
		switch (*s) {
		case '&':
			r = buf_puts(b, "&amp;");
			break;
		case '<':
			r = buf_puts(b, "&lt;");
			break;
		case '>':
			r = buf_puts(b, "&gt;");
			break;
		case '"':
			r = buf_puts(b, "&quot;");
			break;
		case '\'':
			r = buf_puts(b, "&apos;");
			break;
		default:
			r = buf_putc(b, *s);
		}
	}
	return r;
}

/* Takes b's text as r's XML body with status (a 500 when b could not be made). */
static void xml_finish(struct buf *b, int err, struct sim_response *r, unsigned status)
{
	size_t len = 0;
	char *text = err < 0 ? NULL : buf_take(b, &len);

	buf_deinit(b);
	if (!text) {
		sim_response_internal_failure(r, "out of memory");
		return;
	}
	r->status = status;
	r->body = text;
	r->body_len = len;
	r->content_type = XML_TYPE;
}

/* STS's error answer: <ErrorResponse> with the Sender's code and message, and x-amzn-ErrorType for the logs. */
static void sts_error(
	struct sim_state *st, struct sim_response *r, unsigned status, const char *code, const char *message)
{
	char request_id[37];
	struct buf b;
	int e;

	sim_api_request_id(st, request_id);
	buf_init(&b, STS_BODY_MAX, false);
	e = buf_printf(
		&b, "<ErrorResponse xmlns=\"%s\"><Error><Type>Sender</Type><Code>%s</Code><Message>", STS_NS, code);
	if (e >= 0)
		e = xml_puts(&b, message);
	if (e >= 0)
		e = buf_printf(&b, "</Message></Error><RequestId>%s</RequestId></ErrorResponse>", request_id);
	xml_finish(&b, e, r, status);
	if (r->status == status)
		snprintf(r->error_type, sizeof(r->error_type), "%s", code);
}

void sim_sts_reshape_error(struct sim_state *st, struct sim_response *r)
{
	/* the signature checks' names (Deadline Cloud's) and the ones STS gives for the same refusals */
	static const char *const names[][2] = {
		{"InvalidSignatureException", "SignatureDoesNotMatch"},
		{"UnrecognizedClientException", "InvalidClientTokenId"},
		{"ExpiredTokenException", "ExpiredToken"},
	};
	char type[128], err[64], *message;
	const char *code;
	unsigned status = r->status;
	yajl_val tree = NULL, m;

	if (!r->error_type[0])
		return;
	snprintf(type, sizeof(type), "%.*s", (int)strcspn(r->error_type, ":"), r->error_type);
	code = type;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(type, names[i][0]) == 0)
			code = names[i][1];
	if (r->body)
		tree = sim_json_parse(r->body, r->body_len, 8, err, sizeof(err));
	m = sim_json_member(tree, "message");
	message = strdup(m && YAJL_IS_STRING(m) ? YAJL_GET_STRING(m) : "");
	yajl_tree_free(tree);
	sim_response_deinit(r);
	*r = (struct sim_response){.retry_after = -1};
	if (!message) {
		sim_response_internal_failure(r, "out of memory");
		return;
	}
	sts_error(st, r, status, code, message);
	free(message);
}

/*
 * The caller's unique id as IAM spells it: "AIDA" and 17 characters for a user, "AROA" and 17 characters then
 * ":" and the session name for an assumed role; derived from the ARN so the same caller keeps the same id.
 */
static void caller_user_id(const struct sim_state *st, const char *arn, char *out, size_t outlen)
{
	char label[256], hex[SIM_HEX_ID_LEN + 1];
	const char *session = strstr(arn, ":assumed-role/") ? strrchr(arn, '/') : NULL;

	snprintf(label, sizeof(label), "principal/%.200s", arn);
	if (sim_derive_hex(st->config->seed, label, hex, NULL) < 0)
		memset(hex, '0', SIM_HEX_ID_LEN);
	for (size_t i = 0; i < 17; i++)
		hex[i] = hex[i] >= 'a' ? (char)(hex[i] - 'a' + 'A') : hex[i];
	snprintf(out, outlen, "%s%.17s%s%s", session ? "AROA" : "AIDA", hex, session ? ":" : "",
		session ? session + 1 : "");
}

/* GetCallerIdentity's answer for the keys of slot: their account and principal. */
static void caller_identity(struct sim_state *st, int slot, struct sim_response *r)
{
	char account[SIM_ACCOUNT_ID_LEN + 1], arn[SIM_PRINCIPAL_MAX], user_id[SIM_PRINCIPAL_MAX + 32];
	char request_id[37];
	struct buf b;
	int e;

	sim_state_lock(st);
	/* signatures not checked (slot -1): the default keys' caller */
	memcpy(account, st->access.keys.slots[slot >= 0 ? slot : 0].account, sizeof(account));
	memcpy(arn, st->access.keys.slots[slot >= 0 ? slot : 0].principal, sizeof(arn));
	sim_state_unlock(st);
	caller_user_id(st, arn, user_id, sizeof(user_id));
	sim_api_request_id(st, request_id);
	buf_init(&b, STS_BODY_MAX, false);
	e = buf_printf(&b, "<GetCallerIdentityResponse xmlns=\"%s\">\n  <GetCallerIdentityResult>\n    <Arn>", STS_NS);
	if (e >= 0)
		e = xml_puts(&b, arn);
	if (e >= 0)
		e = buf_puts(&b, "</Arn>\n    <UserId>");
	if (e >= 0)
		e = xml_puts(&b, user_id);
	if (e >= 0)
		e = buf_printf(&b,
			"</UserId>\n    <Account>%s</Account>\n  </GetCallerIdentityResult>\n  <ResponseMetadata>\n"
			"    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n",
			account, request_id);
	xml_finish(&b, e, r, 200);
}

void sim_sts_serve(struct sim_state *st, int slot, const char *body, size_t body_len, struct sim_response *r)
{
	struct sim_query form;
	char *text = strndup(body, body_len), message[256];
	const char *action, *version;

	if (!text || sim_query_parse(text, &form) < 0) {
		free(text);
		sts_error(st, r, 400, "MalformedQueryString",
			"The form is not a valid application/x-www-form-urlencoded "
			"body");
		return;
	}
	free(text);
	action = sim_query_get(&form, "Action");
	version = sim_query_get(&form, "Version");
	if (action && version && strcmp(action, "GetCallerIdentity") == 0 && strcmp(version, STS_VERSION) == 0) {
		caller_identity(st, slot, r);
	} else {
		/* AssumeRole and the rest: the integration tests' fake STS (tests/integration/fake_aws.py) has them */
		snprintf(message, sizeof(message),
			"Could not find operation %.64s for version %.32s (the simulator's STS serves "
			"GetCallerIdentity, "
			"version " STS_VERSION ", only)",
			action ? action : "(no Action)", version ? version : "(no Version)");
		sts_error(st, r, 400, "InvalidAction", message);
	}
	sim_query_deinit(&form);
}
