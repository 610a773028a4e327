/* test-aws_sts: STS responses parsed with expat; the credentials JSON of IMDS, containers and processes; times */
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
	test_json();
	TEST_DONE();
}
