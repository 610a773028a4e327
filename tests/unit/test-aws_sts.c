/* test-aws_sts: STS responses parsed with expat (credentials, who am I, refusals and their advice); the credentials
 * JSON of IMDS, containers and processes; times */
#include "aws/credentials/aws_credentials.h"
#include "aws/credentials/aws_sts.h"
#include "test.h"

#include <errno.h>

static const char assume_ok[] = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
				"  <AssumeRoleResult>\n"
				"    <SourceIdentity>x</SourceIdentity>\n"
				"    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>"
				"<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
				"    <Credentials>\n"
				"      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>\n"
				"      <SecretAccessKey>secret/+=</SecretAccessKey>\n"
				"      <SessionToken>tok&amp;en</SessionToken>\n"
				"      <Expiration>2030-01-02T03:04:05.123Z</Expiration>\n"
				"    </Credentials>\n"
				"  </AssumeRoleResult>\n"
				"  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\n"
				"</AssumeRoleResponse>\n";

static const char web_ok[] =
	"<?xml version=\"1.0\"?><AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
	"<SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken><Credentials><SessionToken>t</SessionToken>"
	"<SecretAccessKey>s</SecretAccessKey><Expiration>2030-01-02T03:04:05Z</Expiration>"
	"<AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>"
	"</AssumeRoleWithWebIdentityResponse>";

static const char error_xml[] =
	"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
	"<Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error>"
	"<RequestId>x</RequestId></ErrorResponse>";

static const char doctype_xml[] = "<?xml version=\"1.0\"?><!DOCTYPE lol [<!ENTITY a \"aaaa\">]>"
				  "<AssumeRoleResponse><Credentials><AccessKeyId>&a;</AccessKeyId></Credentials>"
				  "</AssumeRoleResponse>";

struct parse_case {
	const char *xml;
	long status;
	int rc;
	const char *key;
	const char *why_has;
};

static const struct parse_case parse_cases[] = {
	{assume_ok, 200, 0, "ASIAEXAMPLE", NULL},
	{web_ok, 200, 0, "A", NULL},
	{error_xml, 403, -EACCES, NULL, "AccessDenied"},
	{error_xml, 500, -EIO, NULL, "AccessDenied"},
	{doctype_xml, 200, -EIO, NULL, "DOCTYPE"},
	{"<AssumeRoleResponse><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResponse>", 200, -EIO,
		NULL, "lacks"},
	{"<a><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T"
	 "</SessionToken><Expiration>tomorrow</Expiration></Credentials></a>",
		200, -EIO, NULL, "Expiration"},
	{"not xml at all", 200, -EIO, NULL, "not XML"},
	{"<html>Bad gateway</html>", 502, -EIO, NULL, "502"},
	{"", 200, -EIO, NULL, NULL},
};

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct aws_credentials *cr = NULL;
		char why[256] = "";
		int r = aws_sts_parse(c->xml, strlen(c->xml), c->status, "test", &cr, why, sizeof(why));

		CHECK_MSG(r == c->rc, "sts case %zu: got %d (%s)", i, r, why);
		if (c->key && cr)
			CHECK_STR(cr->access_key_id, c->key);
		if (c->why_has)
			CHECK_MSG(strstr(why, c->why_has) != NULL, "sts case %zu: why=\"%s\"", i, why);
		aws_credentials_unref(cr);
	}

	struct aws_credentials *cr = NULL;
	char why[256];

	CHECK_INT(aws_sts_parse(assume_ok, sizeof(assume_ok) - 1, 200, "test", &cr, why, sizeof(why)), 0);
	if (cr) {
		CHECK_STR(cr->secret_access_key, "secret/+=");
		CHECK_STR(cr->session_token, "tok&en");
		CHECK_INT(cr->expiration, 1893553445);
		CHECK_STR(cr->provider, "test");
		aws_credentials_unref(cr);
	}
}

static const char identity_ok[] =
	"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	"  <GetCallerIdentityResult>\n"
	"    <Arn>arn:aws:sts::111122223333:assumed-role/deadline-exporter/deadline-cloud-exporter</Arn>\n"
	"    <UserId>AROAEXAMPLE:deadline-cloud-exporter</UserId>\n"
	"    <Account>111122223333</Account>\n"
	"  </GetCallerIdentityResult>\n"
	"  <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\n"
	"</GetCallerIdentityResponse>\n";

struct identity_case {
	const char *xml;
	long status;
	int rc;
	const char *account;
	const char *why_has;
};

static const struct identity_case identity_cases[] = {
	{identity_ok, 200, 0, "111122223333", NULL},
	{"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>12345</Account><Arn>arn:aws:iam::12345:user/u"
	 "</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>",
		200, -EIO, NULL, "12-digit"},
	{"<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account>"
	 "</GetCallerIdentityResult></GetCallerIdentityResponse>",
		200, -EIO, NULL, "Arn"},
	/* Account and Arn outside the result are not the caller's. */
	{"<GetCallerIdentityResponse><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/u</Arn>"
	 "</GetCallerIdentityResponse>",
		200, -EIO, NULL, "Account"},
	{"<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request "
	 "is invalid.</Message></Error></ErrorResponse>",
		403, -EACCES, NULL, "InvalidClientTokenId"},
	{error_xml, 403, -EACCES, NULL, "AccessDenied"},
	{"<html>gateway</html>", 504, -EIO, NULL, "504"},
};

static void test_identity(void)
{
	for (size_t i = 0; i < sizeof(identity_cases) / sizeof(identity_cases[0]); i++) {
		const struct identity_case *c = &identity_cases[i];
		struct aws_caller_identity who;
		char why[512] = "";
		int r = aws_sts_parse_identity(c->xml, strlen(c->xml), c->status, &who, why, sizeof(why));

		CHECK_MSG(r == c->rc, "identity case %zu: got %d (%s)", i, r, why);
		if (c->account)
			CHECK_STR(who.account, c->account);
		else
			CHECK_STR(who.account, "");
		if (c->why_has)
			CHECK_MSG(strstr(why, c->why_has) != NULL, "identity case %zu: why=\"%s\"", i, why);
	}

	struct aws_caller_identity who;
	char why[256];

	CHECK_INT(aws_sts_parse_identity(identity_ok, strlen(identity_ok), 200, &who, why, sizeof(why)), 0);
	CHECK_STR(who.arn, "arn:aws:sts::111122223333:assumed-role/deadline-exporter/deadline-cloud-exporter");
	CHECK_STR(who.user_id, "AROAEXAMPLE:deadline-cloud-exporter");
}

/* Which policy refused an AssumeRole, from STS's words (the fake STS and IAM's documented forms). */
struct advice_case {
	const char *message;
	const char *advice_has;
};

static const struct advice_case advice_cases[] = {
	{"User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole on resource: "
	 "arn:aws:iam::111122223333:role/r because no identity-based policy allows the sts:AssumeRole action",
		"lacks the permission: grant it sts:AssumeRole"},
	{"User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole on resource: "
	 "arn:aws:iam::111122223333:role/r because no resource-based policy allows the sts:AssumeRole action",
		"trust policy does not trust"},
	{"User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole on resource: "
	 "arn:aws:iam::111122223333:role/r with an explicit deny in a service control policy",
		"an explicit deny"},
	{"User: u is not authorized to perform: sts:AssumeRole on resource: r with an explicit deny in a "
	 "resource-based policy",
		"trust policy denies"},
	{"User: arn:aws:iam::123456789012:user/x is not authorized to perform: sts:AssumeRole on resource: "
	 "arn:aws:iam::111122223333:role/r",
		"either"},
};

static void test_advice(void)
{
	for (size_t i = 0; i < sizeof(advice_cases) / sizeof(advice_cases[0]); i++) {
		const char *advice = aws_sts_denial_advice(advice_cases[i].message);

		CHECK_MSG(strstr(advice, advice_cases[i].advice_has) != NULL, "advice case %zu: %s", i, advice);
	}

	/* Added to an AccessDenied on sts:AssumeRole, not to other refusals. */
	struct aws_credentials *cr = NULL;
	char why[1024];

	CHECK_INT(aws_sts_parse(error_xml, strlen(error_xml), 403, "t", &cr, why, sizeof(why)), -EACCES);
	CHECK_MSG(strstr(why, "): either") != NULL, "why: %s", why);
	static const char expired[] = "<ErrorResponse><Error><Code>ExpiredToken</Code><Message>The security token "
				      "included in the request is expired</Message></Error></ErrorResponse>";
	CHECK_INT(aws_sts_parse(expired, strlen(expired), 403, "t", &cr, why, sizeof(why)), -EACCES);
	CHECK_STR(why, "STS refused (HTTP 403 ExpiredToken: The security token included in the request is expired)");
}

struct json_case {
	const char *json;
	bool process_format;
	int rc;
	int64_t expiration;
};

static const struct json_case json_cases[] = {
	/* IMDS / container documents */
	{"{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\","
	 "\"Expiration\":\"2030-01-02T03:04:05Z\"}",
		false, 0, 1893553445},
	{"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\",\"Expiration\":\"2030-01-02T03:04:05Z\","
	 "\"RoleArn\":\"arn\"}",
		false, 0, 1893553445},
	{"{\"Code\":\"Failure\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"2030-01-02T03:04:"
	 "05Z\"}",
		false, -EINVAL, 0},
	{"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\"}", false, -EINVAL, 0},
	{"{\"AccessKeyId\":\"A\",\"Token\":\"T\",\"Expiration\":\"2030-01-02T03:04:05Z\"}", false, -EINVAL, 0},
	{"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":5,\"Expiration\":\"2030-01-02T03:04:05Z\"}", false,
		-EINVAL, 0},
	{"[1]", false, -EINVAL, 0},
	{"{", false, -EINVAL, 0},
	/* credential_process output */
	{"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"SessionToken\":\"T\","
	 "\"Expiration\":\"2030-01-02T05:04:05+02:00\"}",
		true, 0, 1893553445},
	{"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}", true, 0, 0},
	{"{\"Version\":\"1\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}", true, -EINVAL, 0},
	{"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}", true, -EINVAL, 0},
	{"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":12}", true, -EINVAL, 0},
};

static void test_json(void)
{
	for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		const struct json_case *c = &json_cases[i];
		struct aws_credentials *cr = NULL;
		char why[256] = "";
		int r = aws_credentials_from_json(c->json, "p", c->process_format, &cr, why, sizeof(why));

		CHECK_MSG(r == c->rc, "json case %zu: got %d (%s)", i, r, why);
		if (cr) {
			CHECK_INT(cr->expiration, c->expiration);
			aws_credentials_unref(cr);
		} else {
			CHECK(why[0] != '\0');
		}
	}
}

int main(void)
{
	test_parse();
	test_identity();
	test_advice();
	test_json();
	TEST_DONE();
}
