/* relabel: labels derived from job and queue names with Prometheus' relabeling semantics (PCRE2, RE2 syntax) */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"
#include "config/relabel.h"
#include "util/ascii.h"
#include "util/buf.h"

/*
 * Steps one match may take. A job name matches in a few hundred; this stops catastrophic backtracking (RE2, which
 * Prometheus uses, is linear in the input; PCRE2 is not) within milliseconds.
 */
#define RELABEL_MATCH_LIMIT 1000000u
/* RE2's largest repetition count: a{1001} is refused by Prometheus. */
#define RE2_REPEAT_MAX 1000
/* Longer than any PCRE2 group name (32): a replacement's $name that long names no group. */
#define GROUP_NAME_MAX 64

/* Prometheus compiles "^(?s:" + regex + ")$": anchored at both ends, '.' matching a newline too. */
#define RELABEL_PCRE2_OPTIONS \
	(PCRE2_UTF | PCRE2_DOTALL | PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY | \
		PCRE2_NEVER_BACKSLASH_C | PCRE2_NEVER_UCP)

/* A piece of an expanded replacement: literal text of the replacement, or a capture group. */
struct piece {
	int group; /* the group inserted, or -1: replacement[off, off + len) */
	size_t off, len;
};

struct relabel_program {
	pcre2_code *code;
	uint32_t captures;
	struct piece *pieces;
	size_t n_pieces;
	bool jit;
};

struct relabel_matcher {
	const struct relabel_rule *rules;
	size_t n;
	pcre2_match_data *match;
	pcre2_match_context *context;
	size_t *starts; /* where each value starts in out */
	struct buf out; /* the values, each NUL-terminated */
};

static const char *const source_names[RELABEL_SOURCE_COUNT] = {
	[RELABEL_SOURCE_JOB_NAME] = "job_name",
	[RELABEL_SOURCE_QUEUE_NAME] = "queue_name",
};

const char *relabel_source_name(enum relabel_source s)
{
	return (unsigned)s < RELABEL_SOURCE_COUNT ? source_names[s] : NULL;
}

int relabel_source_from_name(const char *s, enum relabel_source *out)
{
	for (size_t i = 0; s && i < RELABEL_SOURCE_COUNT; i++) {
		if (strcmp(s, source_names[i]) == 0) {
			if (out)
				*out = (enum relabel_source)i;
			return 0;
		}
	}
	return -EINVAL;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

bool relabel_label_name_valid(const char *name)
{
	if (!name || !(ascii_is_alpha(*name) || *name == '_'))
		return false;
	if (name[0] == '_' && name[1] == '_')
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!ascii_is_alnum(*p) && *p != '_')
			return false;
	return true;
}

/* The end of a braced argument ("\x{…}", "\p{…}") at p ('{'), or p when there is no closing brace. */
static size_t braced_length(const char *p)
{
	const char *end = strchr(p, '}');

	return end ? (size_t)(end - p) + 1 : 0;
}

/*
 * The length of the escape at p (p[0] == '\\'), or 0 with *why when RE2 refuses it (or reads it otherwise than
 * PCRE2 would). in_class: inside [...], where assertions make no sense.
 */
static size_t escape_length(const char *p, bool in_class, const char **why)
{
	unsigned char c = (unsigned char)p[1];
	size_t n;

	if (c == '\0')
		return 1; /* PCRE2 reports the backslash at the end */
	if (c >= 0x80) {
		*why = "an escaped non-ASCII character (write the character itself)";
		return 0;
	}
	if (!ascii_is_alnum(c))
		return 2; /* escaped punctuation stands for itself in both */
	if (strchr("aftnrdDsSwW", c))
		return 2;
	if (strchr("AbBz", c)) {
		if (!in_class)
			return 2;
		*why = "an assertion inside a character class";
		return 0;
	}
	if (c == 'p' || c == 'P')
		return p[2] == '{' ? 2 + braced_length(p + 2) : 2 + (p[2] != '\0');
	if (c == 'x') {
		if (p[2] == '{')
			return 2 + braced_length(p + 2);
		if (ascii_is_hex(p[2]) && ascii_is_hex(p[3]))
			return 4;
		*why = "\\x takes exactly two hex digits, or braces: \\x{...}";
		return 0;
	}
	if (c == 'v') {
		*why = "\\v (RE2's vertical tab is PCRE2's any vertical space): write \\x0b";
		return 0;
	}
	/* RE2: \0, and \1 to \7 followed by an octal digit, start an octal code of up to three digits. */
	if (c == '0' || (c <= '7' && is_octal(p[2]))) {
		for (n = 2; n < 4 && is_octal(p[n]); n++)
			;
		return n;
	}
	if (ascii_is_digit(c)) {
		*why = "a backreference (RE2 has none)";
		return 0;
	}
	*why = "an escape RE2 does not know (PCRE-only, such as \\K, \\G, \\Z, \\h, \\R, \\X, \\e, \\g, \\k)";
	return 0;
}

/* The length of the character class at p ('['), or 0 with *at (from p) and *why when RE2 refuses what it holds. */
static size_t class_length(const char *p, size_t *at, const char **why)
{
	const char *q = p + 1;

	if (*q == '^')
		q++;
	if (*q == ']')
		q++; /* a ']' first is itself */
	while (*q && *q != ']') {
		size_t n;

		if (q[0] == '[' && q[1] == ':') {
			const char *end = strstr(q + 2, ":]");

			if (end) {
				q = end + 2;
				continue;
			}
		}
		if (*q != '\\') {
			q++;
			continue;
		}
		n = escape_length(q, true, why);
		if (n == 0) {
			*at = (size_t)(q - p);
			return 0;
		}
		q += n;
	}
	return (size_t)(q - p) + (*q == ']');
}

/*
 * The length of the group opening at p ('('), or 0 with *why for the PCRE-only kinds. RE2 knows (...), (?:...),
 * (?P<name>...), (?<name>...) and flags (?i) (?m) (?s) (?U), negated with '-', alone or before ':'.
 */
static size_t group_length(const char *p, const char **why)
{
	const char *q;

	if (p[1] == '*') {
		*why = "a (*VERB) (PCRE-only)";
		return 0;
	}
	if (p[1] != '?')
		return 1;
	if (p[2] == 'P' && p[3] == '<')
		return 4;
	if (p[2] == '<' && p[3] != '=' && p[3] != '!')
		return 3;
	for (q = p + 2; *q && strchr("imsU-", *q); q++)
		;
	if (*q == ':' || *q == ')')
		return (size_t)(q - p) + 1;
	*why = "a group RE2 does not know (lookaround, atomic, comment, conditional, recursion, branch reset, "
	       "named backreference or a flag other than i, m, s, U are PCRE-only)";
	return 0;
}

/* Reads the decimal number at *p (advancing it); false when it has a leading zero, which RE2 does not read as one. */
static bool repeat_count(const char **p, long *n)
{
	const char *q = *p;

	if (q[0] == '0' && ascii_is_digit(q[1]))
		return false;
	for (*n = 0; ascii_is_digit(*q); q++)
		if (*n <= RE2_REPEAT_MAX)
			*n = *n * 10 + (*q - '0');
	*p = q;
	return true;
}

/*
 * The length of the repetition operator at p ("*", "+", "?", "{n}", "{n,}", "{n,m}"), or 0 when p starts none (a
 * '{' that is no count is itself, in both). 0 with *why when RE2 would refuse the count or read the brace otherwise.
 */
static size_t repeat_length(const char *p, const char **why)
{
	const char *q = p + 1;
	long min, max = -1;

	if (*p == '*' || *p == '+' || *p == '?')
		return 1;
	if (*p != '{' || !ascii_is_digit(*q))
		return 0;
	if (!repeat_count(&q, &min))
		goto leading_zero;
	if (*q == ',') {
		q++;
		if (ascii_is_digit(*q) && !repeat_count(&q, &max))
			goto leading_zero;
	}
	if (*q != '}')
		return 0;
	if (min > RE2_REPEAT_MAX || max > RE2_REPEAT_MAX) {
		*why = "a repetition count above 1000 (RE2's limit)";
		return 0;
	}
	return (size_t)(q - p) + 1;
leading_zero:
	*why = "a repetition count with a leading zero (RE2 reads the brace as itself): write \\{ or drop the zero";
	return 0;
}

/*
 * Refuses what RE2 refuses but PCRE2 accepts (or reads otherwise): returns 0, or -EINVAL with *at (an offset in
 * re) and *why. What both refuse (an unbalanced parenthesis, a bad range) is left to PCRE2's message.
 */
static int re2_syntax_check(const char *re, size_t *at, const char **why)
{
	const char *p = re;
	bool repeated = false;

	while (*p) {
		size_t n = repeat_length(p, why), bad = 0;

		if (n) {
			/* RE2 refuses a** and a*+ alike; PCRE2 reads the latter as possessive. */
			if (repeated) {
				*why = "a repetition of a repetition (possessive quantifiers such as a*+ are "
				       "PCRE-only)";
				goto refuse;
			}
			p += n;
			if (*p == '?')
				p++; /* non-greedy */
			repeated = true;
			continue;
		}
		if (*why)
			goto refuse;
		repeated = false;
		if (p[0] == '\\' && p[1] == 'Q') {
			const char *end = strstr(p + 2, "\\E");

			p = end ? end + 2 : p + strlen(p);
			continue;
		}
		if (*p == '\\')
			n = escape_length(p, false, why);
		else if (*p == '[')
			n = class_length(p, &bad, why);
		else if (*p == '(')
			n = group_length(p, why);
		else
			n = 1;
		if (n == 0) {
			p += bad;
			goto refuse;
		}
		p += n;
	}
	return 0;
refuse:
	*at = (size_t)(p - re);
	return -EINVAL;
}

/* Adds a piece; pieces has room for every piece a replacement of that length can make. */
static void piece_add(struct relabel_program *pg, int group, size_t off, size_t len)
{
	if (group < 0 && len == 0)
		return;
	pg->pieces[pg->n_pieces++] = (struct piece){group, off, len};
}

/* The group a reference names (Go's regexp.Expand): a number, or a name; -1 when it names none. */
static int template_group(const struct relabel_program *pg, const char *name, size_t len)
{
	char buf[GROUP_NAME_MAX + 1];
	long num = 0;
	int r;

	for (size_t i = 0; i < len; i++) {
		if (!ascii_is_digit(name[i]) || num >= 100000000) {
			num = -1;
			break;
		}
		num = num * 10 + (name[i] - '0');
	}
	/* "$01" is the group named "01", which no PCRE2 group can be (its names start with a non-digit). */
	if (name[0] == '0' && len > 1)
		num = -1;
	if (num >= 0)
		return num <= (long)pg->captures ? (int)num : -1;
	if (len > GROUP_NAME_MAX)
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	r = pcre2_substring_number_from_name(pg->code, (PCRE2_SPTR)buf);
	return r > 0 ? r : -1;
}

/*
 * Parses a replacement as Go's regexp.Expand reads it: "$$" is "$"; "$" + the longest run of letters, digits and
 * '_', or "${" + such a run + "}", is a reference ("$1x" names the group "1x": write "${1}x"); any other "$" is
 * itself. Go counts Unicode letters into names: a non-ASCII character where a name is read is refused, so that
 * what is accepted expands exactly as in Prometheus.
 */
static int template_parse(struct relabel_program *pg, const char *repl, char *err, size_t errlen)
{
	const char *p = repl, *lit = repl, *d;
	size_t dollars = 0;

	for (const char *q = repl; *q; q++)
		dollars += *q == '$';
	pg->pieces = calloc(2 * dollars + 1, sizeof(*pg->pieces));
	if (!pg->pieces)
		return -ENOMEM;
	while ((d = strchr(p, '$'))) {
		const char *name, *end;
		bool brace;

		piece_add(pg, -1, (size_t)(lit - repl), (size_t)(d - lit));
		p = d + 1;
		if (*p == '$') {
			piece_add(pg, -1, (size_t)(p - repl), 1);
			lit = ++p;
			continue;
		}
		brace = *p == '{';
		name = p + brace;
		for (end = name; ascii_is_alnum(*end) || *end == '_'; end++)
			;
		if ((unsigned char)*end >= 0x80) {
			snprintf(err, errlen,
				"a non-ASCII character in a group name after '$' at offset %zu (Prometheus would read "
				"it "
				"as part of the name): end the name with ${...}",
				(size_t)(end - repl));
			return -EINVAL;
		}
		if (end == name || (brace && *end != '}')) {
			lit = d; /* not a reference: the '$' is itself */
			continue;
		}
		piece_add(pg, template_group(pg, name, (size_t)(end - name)), 0, 0);
		p = lit = end + brace;
	}
	piece_add(pg, -1, (size_t)(lit - repl), strlen(lit));
	return 0;
}

static void program_free(struct relabel_program *pg)
{
	if (!pg)
		return;
	pcre2_code_free(pg->code);
	free(pg->pieces);
	free(pg);
}

/* Compiles re (already checked for RE2 syntax) into pg->code. */
static int regex_compile(struct relabel_program *pg, const char *re, char *err, size_t errlen)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE offset = 0;
	uint32_t backrefs = 0;
	int code = 0;

	pg->code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, RELABEL_PCRE2_OPTIONS, &code, &offset, NULL);
	if (!pg->code) {
		if (code == PCRE2_ERROR_HEAPLIMIT || code == PCRE2_ERROR_NOMEMORY)
			return -ENOMEM;
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		snprintf(err, errlen, "%s at offset %zu", (const char *)msg, (size_t)offset);
		return -EINVAL;
	}
	/* The syntax check refuses backreferences; \12 after twelve groups is one PCRE2 still sees (RE2: octal). */
	if (pcre2_pattern_info(pg->code, PCRE2_INFO_BACKREFMAX, &backrefs) != 0 ||
		pcre2_pattern_info(pg->code, PCRE2_INFO_CAPTURECOUNT, &pg->captures) != 0) {
		snprintf(err, errlen, "cannot inspect the compiled regex");
		return -EINVAL;
	}
	if (backrefs) {
		snprintf(err, errlen, "a backreference (RE2 has none)");
		return -EINVAL;
	}
	/* Without JIT (an architecture PCRE2 has none for) the interpreter runs the same pattern. */
	pg->jit = pcre2_jit_compile(pg->code, PCRE2_JIT_COMPLETE) == 0;
	return 0;
}

int relabel_rule_compile(struct relabel_rule *rule, char *err, size_t errlen)
{
	struct relabel_program *pg;
	const char *why = NULL;
	char msg[320];
	size_t at = 0;
	int r;

	program_free(rule->program);
	rule->program = NULL;
	if (!rule->regex || !rule->replacement) {
		snprintf(err, errlen, "no regex or replacement");
		return -EINVAL;
	}
	if (re2_syntax_check(rule->regex, &at, &why) < 0) {
		snprintf(err, errlen, "%s at offset %zu", why, at);
		return -EINVAL;
	}
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	r = regex_compile(pg, rule->regex, msg, sizeof(msg));
	if (r == -EINVAL)
		snprintf(err, errlen, "%s", msg);
	if (r == 0) {
		r = template_parse(pg, rule->replacement, msg, sizeof(msg));
		if (r == -EINVAL)
			snprintf(err, errlen, "replacement: %s", msg);
	}
	if (r < 0) {
		program_free(pg);
		return r;
	}
	rule->program = pg;
	return 0;
}

void relabel_rule_deinit(struct relabel_rule *rule)
{
	if (!rule)
		return;
	free(rule->label);
	free(rule->regex);
	free(rule->replacement);
	free(rule->default_value);
	program_free(rule->program);
	memset(rule, 0, sizeof(*rule));
}

bool relabel_rule_jit(const struct relabel_rule *rule)
{
	return rule && rule->program && rule->program->jit;
}

void relabel_matcher_free(struct relabel_matcher *m)
{
	if (!m)
		return;
	pcre2_match_data_free(m->match);
	pcre2_match_context_free(m->context);
	free(m->starts);
	buf_deinit(&m->out);
	free(m);
}

int relabel_matcher_new(struct relabel_matcher **out, const struct relabel_rule *rules, size_t n)
{
	struct relabel_matcher *m = calloc(1, sizeof(*m));
	uint32_t captures = 0;

	if (!m)
		return -ENOMEM;
	m->rules = rules;
	m->n = n;
	buf_init(&m->out, 0, false);
	for (size_t i = 0; i < n; i++)
		if (rules[i].program && rules[i].program->captures > captures)
			captures = rules[i].program->captures;
	m->match = pcre2_match_data_create(captures + 1, NULL);
	m->context = pcre2_match_context_create(NULL);
	m->starts = calloc(n ? n : 1, sizeof(*m->starts));
	if (!m->match || !m->context || !m->starts || pcre2_set_match_limit(m->context, RELABEL_MATCH_LIMIT) != 0) {
		relabel_matcher_free(m);
		return -ENOMEM;
	}
	*out = m;
	return 0;
}

/* Appends the replacement expanded with the groups of the last match; -EMSGSIZE beyond RELABEL_VALUE_MAX bytes. */
static int expand(struct relabel_matcher *m, const struct relabel_rule *rule, const char *src)
{
	const struct relabel_program *pg = rule->program;
	const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->match);
	size_t start = m->out.len;
	int r = 0;

	for (size_t k = 0; k < pg->n_pieces && r == 0; k++) {
		const struct piece *pc = &pg->pieces[k];
		const char *text = rule->replacement + pc->off;
		size_t len = pc->len;

		if (pc->group >= 0) {
			if (ov[2 * pc->group] == PCRE2_UNSET)
				continue;
			text = src + ov[2 * pc->group];
			len = ov[2 * pc->group + 1] - ov[2 * pc->group];
		}
		if (m->out.len - start + len > RELABEL_VALUE_MAX)
			return -EMSGSIZE;
		r = buf_append(&m->out, text, len);
	}
	return r;
}

/* Appends rule's value for src (NULL: unknown). Returns 0, RELABEL_DEFAULTED or -ENOMEM. */
static int apply_one(struct relabel_matcher *m, const struct relabel_rule *rule, const char *src)
{
	size_t start = m->out.len;
	int rc, r = 0;

	if (src && rule->program) {
		rc = pcre2_match(rule->program->code, (PCRE2_SPTR)src, strlen(src), 0, 0, m->match, m->context);
		if (rc > 0) {
			r = expand(m, rule, src);
			if (r != -EMSGSIZE)
				return r;
		}
		/* A match limit or invalid UTF-8: the value is unknown, like a source that is. */
		if (rc != PCRE2_ERROR_NOMATCH)
			r = RELABEL_DEFAULTED;
		m->out.len = start;
	}
	rc = buf_puts(&m->out, rule->default_value ? rule->default_value : "");
	return rc < 0 ? rc : r;
}

int relabel_apply(struct relabel_matcher *m, const char *const sources[RELABEL_SOURCE_COUNT], const char **values)
{
	int outcome = 0;

	/* The buffer is reused from row to row: emptied, never freed. */
	m->out.len = 0;
	for (size_t i = 0; i < m->n; i++) {
		const struct relabel_rule *rule = &m->rules[i];
		const char *src = (unsigned)rule->source < RELABEL_SOURCE_COUNT ? sources[rule->source] : NULL;
		int r;

		m->starts[i] = m->out.len;
		r = apply_one(m, rule, src);
		if (r < 0)
			return r;
		if (r > 0)
			outcome = r;
		r = buf_putc(&m->out, '\0');
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < m->n; i++)
		values[i] = m->out.data + m->starts[i];
	return outcome;
}
