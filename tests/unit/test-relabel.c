/* test-relabel: Prometheus' relabeling semantics: the regexes RE2 takes or refuses, anchoring, $-expansion, limits */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>

#include "config/relabel.h"
#include "test.h"

/*
 * Regexes as Prometheus (Go's regexp, RE2 syntax) takes or refuses them. refused: NULL when Prometheus takes it,
 * else a piece of the message expected.
 */
static const struct {
	const char *regex;
	const char *refused;
} syntax_cases[] = {
	/* taken by both */
	{"(.*)", NULL},
	{"", NULL},
	{"a|b", NULL},
	{"(?i)abc", NULL},
	{"(?i:abc)", NULL},
	{"(?-s:.)", NULL},
	{"(?im-sU:a)", NULL},
	{"(?U)a+", NULL},
	{"(?P<show>[a-z]+)", NULL},
	{"(?<show>[a-z]+)", NULL},
	{"a{0}", NULL},
	{"a{2,}", NULL},
	{"a{2,5}?", NULL},
	{"a{1000}", NULL},
	{"a{,3}", NULL}, /* no count: a brace and text, in both */
	{"a{", NULL},
	{"a{x}", NULL},
	{"\\x41\\x{1F600}", NULL},
	{"\\pL\\p{Greek}\\PN\\P{Lu}", NULL},
	{"[[:alpha:]][[:^digit:]]", NULL},
	{"[\\d\\s\\w\\pL\\x41-\\x5a]", NULL},
	{"[]a]", NULL},
	{"[^]a]", NULL},
	{"\\Q(*)+?\\E", NULL},
	{"\\Q\\1", NULL},
	{"\\0\\012\\123\\77", NULL},
	{"\\.\\$\\{\\*\\\\\\-", NULL},
	{"\\A\\bword\\B\\z", NULL},
	{"a*?b+?c??", NULL},
	{"[a-z]+_(anim|comp|fx)_v[0-9]{3}", NULL},
	/* PCRE-only: refused, as Prometheus refuses them */
	{"(a)\\1", "backreference"},
	{"\\1", "backreference"},
	{"\\7", "backreference"}, /* octal only with a second digit */
	{"[\\1]", "backreference"},
	{"\\8", "backreference"},
	{"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)\\12", "backreference"}, /* RE2: octal 012; PCRE2: group 12 */
	{"(?=a)a", "group RE2 does not know"},
	{"(?!a)b", "group RE2 does not know"},
	{"(?<=a)b", "group RE2 does not know"},
	{"(?<!a)b", "group RE2 does not know"},
	{"(?>a+)", "group RE2 does not know"},
	{"(?x)a b", "group RE2 does not know"},
	{"(?#note)a", "group RE2 does not know"},
	{"(?|(a)|(b))", "group RE2 does not know"},
	{"(a)(?1)", "group RE2 does not know"},
	{"(?R)", "group RE2 does not know"},
	{"(?<n>a)(?&n)", "group RE2 does not know"},
	{"(?P<n>a)(?P=n)", "group RE2 does not know"},
	{"(?P<n>a)(?P>n)", "group RE2 does not know"},
	{"(?(1)a|b)", "group RE2 does not know"},
	{"(?'n'a)", "group RE2 does not know"},
	{"(?C1)a", "group RE2 does not know"},
	{"(*UTF)a", "(*VERB)"},
	{"a(*ACCEPT)", "(*VERB)"},
	{"a*+", "repetition of a repetition"},
	{"a++", "repetition of a repetition"},
	{"a?+", "repetition of a repetition"},
	{"a{2}+", "repetition of a repetition"},
	{"a**", "repetition of a repetition"},
	{"a{2}{3}", "repetition of a repetition"},
	{"a*??", "repetition of a repetition"},
	{"a{1001}", "above 1000"},
	{"a{2,1001}", "above 1000"},
	{"a{01}", "leading zero"},
	{"a{1,02}", "leading zero"},
	{"a\\Kb", "escape RE2 does not know"},
	{"\\Ga", "escape RE2 does not know"},
	{"a\\Z", "escape RE2 does not know"},
	{"\\h\\H", "escape RE2 does not know"},
	{"\\R", "escape RE2 does not know"},
	{"\\X", "escape RE2 does not know"},
	{"\\e", "escape RE2 does not know"},
	{"\\g1", "escape RE2 does not know"},
	{"\\k<n>", "escape RE2 does not know"},
	{"\\N", "escape RE2 does not know"},
	{"\\C", "escape RE2 does not know"},
	{"\\E", "escape RE2 does not know"},
	{"\\v", "\\v"},
	{"[\\v]", "\\v"},
	{"[\\b]", "assertion inside a character class"},
	{"[\\Qa\\E]", "escape RE2 does not know"},
	{"\\x4", "two hex digits"},
	{"\\xé", "two hex digits"},
	{"\\é", "escaped non-ASCII character"},
	/* refused by both: PCRE2's own message */
	{"(", "missing closing parenthesis"},
	{"a)", "unmatched closing parenthesis"},
	{"[a", "missing terminating ]"},
	{"[z-a]", "range out of order"},
	{"*a", "quantifier does not follow a repeatable item"},
	{"a{3,2}", "numbers out of order"},
	{"\\p{Nope}", "unknown property"},
	{"\xff", "UTF-8 error"},
};

/*
 * Matches and expansions as Prometheus' "replace" action gives them (Go's regexp.Expand): expected NULL for no
 * match (the default, "-", applies).
 */
static const struct {
	const char *regex;
	const char *replacement;
	const char *source;
	const char *expected;
} match_cases[] = {
	{"([a-z0-9]+)_.*", "$1", "harbor_sh0393_comp_v012", "harbor"},
	{"([a-z0-9]+)_.*", "$1", "Harbor_sh0393_comp_v012", NULL},
	{".*_(anim|comp|fx|lgt|lookdev)_.*", "$1", "harbor_sh0393_comp_v012", "comp"},
	{".*_(anim|comp|fx|lgt|lookdev)_.*", "$1", "harbor_notes", NULL},
	{"(.+) - .*", "$1", "Harbor - Lighting", "Harbor"},
	{"(.+) - .*", "$1", "Harbor", NULL},
	/* anchored at both ends: no partial match */
	{"foo", "x", "foo", "x"},
	{"foo", "x", "afoo", NULL},
	{"foo", "x", "foob", NULL},
	{"a|ab", "$0", "ab", "ab"}, /* the second branch, to reach the end */
	{"(a|ab)(c|bcd)", "$1-$2", "abcd", "a-bcd"},
	{"abc", "x", "abc\n", NULL},
	{"abc$", "x", "abc\n", NULL},
	{"abc$\n", "x", "abc\n", NULL}, /* $ is the end of the text, not before a final newline */
	{".*", "$0", "a\nb", "a\nb"}, /* (?s): '.' takes newlines */
	{"(?-s:.*)", "x", "a\nb", NULL},
	{"(.*)", "$1", "", ""}, /* a match to the empty value is not the default */
	{"a(x?)b", "[$1]", "ab", "[]"},
	{"(?i)HARBOR_(.*)", "$1", "harbor_x", "x"},
	{"(.*?)_(.*)", "$1", "a_b_c", "a"},
	{"(.*)_(.*)", "$1", "a_b_c", "a_b"},
	{"(.)(.*)", "$1", "\xc3\xa9t\xc3\xa9", "\xc3\xa9"}, /* a character, not a byte */
	{"\\pL+", "ok", "\xc3\xa9t\xc3\xa9", "ok"},
	{"\\w+", "ok", "\xc3\xa9t\xc3\xa9", NULL}, /* \w is ASCII in RE2 */
	{"[[:alpha:]]+_\\d{4}", "ok", "abc_0393", "ok"},
	{"\\Qa.b\\E", "ok", "a.b", "ok"},
	{"\\Qa.b\\E", "ok", "axb", NULL},
	{"\\101\\x42\\x{43}", "ok", "ABC", "ok"},
	/* expansion, as Go's regexp.Expand reads a template */
	{"(a)(b)", "$1x", "ab", ""}, /* the group named "1x", which does not exist */
	{"(a)(b)", "${1}x", "ab", "ax"},
	{"(a)(b)", "$2$1", "ab", "ba"},
	{"(a)(b)", "$$1", "ab", "$1"},
	{"(a)(b)", "$$$1", "ab", "$a"},
	{"(a)(b)", "cost$", "ab", "cost$"},
	{"(a)(b)", "${1", "ab", "${1"},
	{"(a)(b)", "${}", "ab", "${}"},
	{"(a)(b)", "$-$.", "ab", "$-$."},
	{"(a)(b)", "${1}}", "ab", "a}"},
	{"(a)(b)", "$0", "ab", "ab"},
	{"(a)(b)", "$9", "ab", ""},
	{"(a)(b)", "$01", "ab", ""},
	{"(a)(b)", "$100000000", "ab", ""},
	{"(a)|(b)", "[$1][$2]", "a", "[a][]"},
	{"(a)|(b)", "[$1][$2]", "b", "[][b]"},
	{"(?P<show>[a-z]+)_(?<shot>sh[0-9]+)_.*", "${show}/$shot", "harbor_sh0393_comp", "harbor/sh0393"},
	{"(?P<show>[a-z]+)_.*", "$show_x", "harbor_x", ""}, /* the name runs on: "show_x" */
	{"(?P<show>[a-z]+)_.*", "${show}_x", "harbor_x", "harbor_x"},
	{"(?P<show>[a-z]+)_.*", "$nope", "harbor_x", ""},
	{"(?P<show>[a-z]+)_.*", "static", "harbor_x", "static"},
	{"(.*)", "\xc3\xa9${1}\xc3\xa9", "x", "\xc3\xa9x\xc3\xa9"},
};

static bool compile(struct relabel_rule *rule, const char *regex, const char *replacement, const char *def, char *err,
	size_t errlen)
{
	memset(rule, 0, sizeof(*rule));
	rule->label = strdup("show");
	rule->source = RELABEL_SOURCE_JOB_NAME;
	rule->regex = strdup(regex);
	rule->replacement = strdup(replacement);
	rule->default_value = strdup(def);
	CHECK(rule->label && rule->regex && rule->replacement && rule->default_value);
	return relabel_rule_compile(rule, err, errlen) == 0;
}

static void test_syntax(void)
{
	for (size_t i = 0; i < sizeof(syntax_cases) / sizeof(syntax_cases[0]); i++) {
		struct relabel_rule rule;
		char err[512] = "";
		bool ok = compile(&rule, syntax_cases[i].regex, "$1", "-", err, sizeof(err));

		if (!syntax_cases[i].refused) {
			CHECK_MSG(ok, "regex %zu \"%s\" refused: %s", i, syntax_cases[i].regex, err);
		} else {
			CHECK_MSG(!ok && strstr(err, syntax_cases[i].refused),
				"regex %zu \"%s\": expected \"%s\", got \"%s\"", i, syntax_cases[i].regex,
				syntax_cases[i].refused, ok ? "(taken)" : err);
			CHECK(rule.program == NULL);
		}
		relabel_rule_deinit(&rule);
	}
}

/* Where a refusal points: the offset in the regex as written. */
static void test_offsets(void)
{
	static const struct {
		const char *regex;
		const char *at;
	} cases[] = {
		{"abc(?=x)", "at offset 3"}, {"ab[cd\\b]", "at offset 5"}, {"x{2}+", "at offset 4"},
		{"abc\\K", "at offset 3"}, {"abc(", "at offset 4"}, /* PCRE2's */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct relabel_rule rule;
		char err[512] = "";

		CHECK(!compile(&rule, cases[i].regex, "$1", "-", err, sizeof(err)));
		CHECK_MSG(strstr(err, cases[i].at) != NULL, "\"%s\": expected \"%s\", got \"%s\"", cases[i].regex,
			cases[i].at, err);
		relabel_rule_deinit(&rule);
	}
}

static void test_matches(void)
{
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		struct relabel_rule rule;
		struct relabel_matcher *m = NULL;
		const char *sources[RELABEL_SOURCE_COUNT] = {match_cases[i].source, NULL};
		const char *value = NULL;
		char err[512] = "";
		int r;

		if (!compile(&rule, match_cases[i].regex, match_cases[i].replacement, "-", err, sizeof(err))) {
			CHECK_MSG(false, "case %zu \"%s\": %s", i, match_cases[i].regex, err);
			relabel_rule_deinit(&rule);
			continue;
		}
		CHECK_INT(relabel_matcher_new(&m, &rule, 1), 0);
		r = m ? relabel_apply(m, sources, &value) : -ENOMEM;
		CHECK_MSG(r == 0, "case %zu: %d", i, r);
		CHECK_MSG(value && strcmp(value, match_cases[i].expected ? match_cases[i].expected : "-") == 0,
			"case %zu: /%s/ \"%s\" on \"%s\": got \"%s\", expected \"%s\"", i, match_cases[i].regex,
			match_cases[i].replacement, match_cases[i].source, value ? value : "(null)",
			match_cases[i].expected ? match_cases[i].expected : "(the default)");
		relabel_matcher_free(m);
		relabel_rule_deinit(&rule);
	}
}

/* A replacement whose $-reference runs into a non-ASCII character: Go reads Unicode letters into names. */
static void test_replacement_refused(void)
{
	static const char *const refused[] = {"$1\xc3\xa9", "${\xc3\xa9}", "$\xc3\xa9", "x$ab\xe2\x82\xac"};
	struct relabel_rule rule;
	char err[512];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		err[0] = '\0';
		CHECK(!compile(&rule, "(.*)", refused[i], "-", err, sizeof(err)));
		CHECK_MSG(strstr(err, "replacement: a non-ASCII character in a group name") != NULL, "%zu: %s", i, err);
		relabel_rule_deinit(&rule);
	}
}

/* Several rules, sources by kind, an unknown source, and what a matcher gives back row after row. */
static void test_rules(void)
{
	struct relabel_rule rules[3];
	struct relabel_matcher *m = NULL;
	const char *values[3];
	char err[512];

	CHECK(compile(&rules[0], "([a-z0-9]+)_.*", "$1", "unknown", err, sizeof(err)));
	CHECK(compile(&rules[1], "(.+) - .*", "$1", "no production", err, sizeof(err)));
	rules[1].source = RELABEL_SOURCE_QUEUE_NAME;
	CHECK(compile(&rules[2], ".*_(comp|fx)_.*", "dept-$1", "other", err, sizeof(err)));
	CHECK_INT(relabel_matcher_new(&m, rules, 3), 0);
	if (!m)
		return;
	CHECK_INT(relabel_apply(m, (const char *const[]){"harbor_sh0393_comp_v012", "Harbor - Lighting"}, values), 0);
	CHECK_STR(values[0], "harbor");
	CHECK_STR(values[1], "Harbor");
	CHECK_STR(values[2], "dept-comp");
	/* a job whose queue was not found: that rule's default, the others as usual */
	CHECK_INT(relabel_apply(m, (const char *const[]){"tide_sh0010_fx_v001", NULL}, values), 0);
	CHECK_STR(values[0], "tide");
	CHECK_STR(values[1], "no production");
	CHECK_STR(values[2], "dept-fx");
	CHECK_INT(relabel_apply(m, (const char *const[]){"Notes", "Render"}, values), 0);
	CHECK_STR(values[0], "unknown");
	CHECK_STR(values[1], "no production");
	CHECK_STR(values[2], "other");
	relabel_matcher_free(m);
	for (size_t i = 0; i < 3; i++)
		relabel_rule_deinit(&rules[i]);
	relabel_matcher_free(NULL);
	relabel_rule_deinit(NULL);
}

/* A value that cannot be derived gets the default and says so: never a partial value, never an error. */
static void test_limits(void)
{
	static char long_name[2049], longer_name[2050];
	struct relabel_rule rule;
	struct relabel_matcher *m = NULL;
	const char *value = NULL;
	char err[512], many_a[64];

	/*
	 * Catastrophic backtracking stops at the match limit (RE2 would be linear): 30 a's take more steps than the
	 * exporter's limit and fewer than PCRE2's own default (10 million), 20 fewer than either.
	 */
	memset(many_a, 'a', 30);
	memcpy(many_a + 30, "bc", 3);
	CHECK(compile(&rule, "(a|aa)+c", "$1", "-", err, sizeof(err)));
	CHECK_INT(relabel_matcher_new(&m, &rule, 1), 0);
	CHECK_INT(relabel_apply(m, (const char *const[]){many_a, NULL}, &value), RELABEL_DEFAULTED);
	CHECK_STR(value, "-");
	memcpy(many_a + 20, "bc", 3);
	CHECK_INT(relabel_apply(m, (const char *const[]){many_a, NULL}, &value), 0);
	CHECK_STR(value, "-");
	/* invalid UTF-8 cannot be matched as characters */
	CHECK_INT(relabel_apply(m,
			  (const char *const[]){"aa\xff"
						"c",
				  NULL},
			  &value),
		RELABEL_DEFAULTED);
	CHECK_STR(value, "-");
	CHECK_INT(relabel_apply(m, (const char *const[]){"aac", NULL}, &value), 0);
	CHECK_STR(value, "a");
	relabel_matcher_free(m);
	relabel_rule_deinit(&rule);

	/* RELABEL_VALUE_MAX bytes are a value; one more is not. */
	memset(long_name, 'x', sizeof(long_name) - 1);
	memset(longer_name, 'x', sizeof(longer_name) - 1);
	CHECK(compile(&rule, "(.*)", "$1$1", "-", err, sizeof(err)));
	CHECK_INT(relabel_matcher_new(&m, &rule, 1), 0);
	CHECK_INT(relabel_apply(m, (const char *const[]){long_name, NULL}, &value), 0);
	CHECK_INT(strlen(value), RELABEL_VALUE_MAX);
	CHECK_INT(relabel_apply(m, (const char *const[]){longer_name, NULL}, &value), RELABEL_DEFAULTED);
	CHECK_STR(value, "-");
	relabel_matcher_free(m);
	relabel_rule_deinit(&rule);
}

static void test_names(void)
{
	static const char *const good[] = {"show", "_x", "Department", "shot_2", "a"};
	static const char *const bad[] = {"", "2shot", "__name__", "__x", "sh-ot", "sh ot", "sh\xc3\xb6t", "a.b"};
	enum relabel_source s;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_MSG(relabel_label_name_valid(good[i]), "\"%s\"", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(!relabel_label_name_valid(bad[i]), "\"%s\"", bad[i]);
	CHECK(!relabel_label_name_valid(NULL));
	CHECK_INT(relabel_source_from_name("job_name", &s), 0);
	CHECK_INT(s, RELABEL_SOURCE_JOB_NAME);
	CHECK_INT(relabel_source_from_name("queue_name", &s), 0);
	CHECK_INT(s, RELABEL_SOURCE_QUEUE_NAME);
	CHECK_INT(relabel_source_from_name("fleet_name", &s), -EINVAL);
	CHECK_INT(relabel_source_from_name(NULL, &s), -EINVAL);
	CHECK_STR(relabel_source_name(RELABEL_SOURCE_QUEUE_NAME), "queue_name");
	CHECK(relabel_source_name(RELABEL_SOURCE_COUNT) == NULL);
}

/* Compiled once, to JIT code where PCRE2 has a JIT (Debian's does on amd64 and arm64). */
static void test_jit(void)
{
	struct relabel_rule rule;
	uint32_t jit = 0;
	char err[512];

	CHECK(pcre2_config(PCRE2_CONFIG_JIT, &jit) == 0);
	CHECK(compile(&rule, "([a-z0-9]+)_.*", "$1", "-", err, sizeof(err)));
	CHECK_INT(relabel_rule_jit(&rule), jit != 0);
	relabel_rule_deinit(&rule);
	CHECK(!relabel_rule_jit(NULL));
}

int main(void)
{
	test_syntax();
	test_offsets();
	test_matches();
	test_replacement_refused();
	test_rules();
	test_limits();
	test_names();
	test_jit();
	TEST_DONE();
}
