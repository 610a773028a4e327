/* sim_search: SearchJobs: the body validated as the model says, filters, sorting and the result window */
#include "sim_activity.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_time.h"

#define MAX_BODY_DEPTH 16
#define MAX_FILTERS 3 /* per group: SearchFilterExpressions' max */
#define MAX_NODES (1 + MAX_FILTERS + MAX_FILTERS * MAX_FILTERS)
#define MAX_SORTS 5
#define MAX_QUEUE_IDS 10
#define MAX_PAGE_SIZE 100
#define MAX_ITEM_OFFSET 10000
#define MAX_LIST_VALUES 16
#define MAX_TERM_CHARS 256
/* One page in DUPLICATE_EVERY past the first starts one job early: eventual consistency, as seen by clients. */
#define DUPLICATE_EVERY 3
#define FIELD_SIZE 96

enum cmp_op { OP_EQUAL, OP_NOT_EQUAL, OP_GTE, OP_GT, OP_LTE, OP_LT, OP_ANY_EQUALS, OP_ALL_NOT_EQUALS, OP_COUNT };

static const char *const op_names[OP_COUNT] = {"EQUAL", "NOT_EQUAL", "GREATER_THAN_EQUAL_TO", "GREATER_THAN",
	"LESS_THAN_EQUAL_TO", "LESS_THAN", "ANY_EQUALS", "ALL_NOT_EQUALS"};

/* The job fields filters and sorts may name; the dates first. */
enum job_field { FIELD_CREATED_AT, FIELD_STARTED_AT, FIELD_ENDED_AT, FIELD_UPDATED_AT, FIELD_PRIORITY, FIELD_COUNT };

static const char *const field_names[FIELD_COUNT] = {"CREATED_AT", "STARTED_AT", "ENDED_AT", "UPDATED_AT", "PRIORITY"};

enum node_kind { NODE_STATUS, NODE_DATE, NODE_TERM, NODE_GROUP };

struct node {
	enum node_kind kind;
	enum cmp_op op;
	unsigned statuses; /* NODE_STATUS: a bit per TaskRunStatus */
	enum job_field field; /* NODE_DATE */
	int64_t ms;
	const char *term; /* NODE_TERM: in the parsed tree */
	bool fuzzy;
	bool and; /* NODE_GROUP */
	size_t children[MAX_FILTERS], n_children;
};

struct sort_key {
	bool user_first; /* userJobsFirst: user's jobs before the others */
	long user; /* its index, -1 for an id the simulator does not know */
	enum job_field field;
	bool descending;
};

struct search {
	struct node nodes[MAX_NODES];
	size_t n_nodes;
	bool have_filter, have_term;
	struct sort_key sorts[MAX_SORTS];
	size_t n_sorts;
	const char *queue_ids[MAX_QUEUE_IDS];
	size_t n_queue_ids;
	long long item_offset, page_size;
};

static int bad(struct sim_invalid *why, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(struct sim_invalid *why, const char *field, const char *fmt, ...)
{
	char message[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return sim_invalid_set(why, "FIELD_VALIDATION_FAILED", field, "%s %s", field, message);
}

static void field_printf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A field's path into out (FIELD_SIZE); the model's paths fit, a longer one would be cut. */
static void field_printf(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, FIELD_SIZE, fmt, ap);
	va_end(ap);
	if (n < 0)
		out[0] = '\0';
}

/* An absent member and an explicit null mean the same. */
static yajl_val member(yajl_val obj, const char *key)
{
	yajl_val v = sim_json_member(obj, key);

	return YAJL_IS_NULL(v) ? NULL : v;
}

/* Every member of obj is one of known (NULL-terminated). Returns 0 or SIM_AGG_INVALID. */
static int only_members(yajl_val obj, const char *const *known, const char *path, struct sim_invalid *why)
{
	char field[FIELD_SIZE];

	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *const *k = known;

		while (*k && strcmp(*k, obj->u.object.keys[i]) != 0)
			k++;
		if (!*k) {
			field_printf(field, "%s%s%.32s", path, path[0] ? "." : "", obj->u.object.keys[i]);
			return bad(why, field, "is not a member of the model's structure");
		}
	}
	return 0;
}

/* A required string member of obj: *out, or an error naming path.key. */
static int required_string(yajl_val obj, const char *key, const char *path, const char **out, struct sim_invalid *why)
{
	yajl_val v = member(obj, key);
	char field[FIELD_SIZE];

	field_printf(field, "%s.%s", path, key);
	*out = YAJL_GET_STRING(v);
	if (!v)
		return bad(why, field, "is required");
	if (!*out)
		return bad(why, field, "must be a string");
	return 0;
}

static int parse_operator(yajl_val obj, const char *path, unsigned allowed, enum cmp_op *out, struct sim_invalid *why)
{
	const char *s;
	char field[FIELD_SIZE];
	int r = required_string(obj, "operator", path, &s, why);

	if (r)
		return r;
	field_printf(field, "%s.operator", path);
	for (int i = 0; i < OP_COUNT; i++) {
		if (strcmp(s, op_names[i]) == 0) {
			if (!(allowed & 1u << i))
				return bad(why, field, "%s is not an operator of this filter", op_names[i]);
			*out = (enum cmp_op)i;
			return 0;
		}
	}
	return bad(why, field, "must be a ComparisonOperator");
}

/* A TaskRunStatus value into the node's set. */
static int add_status(struct node *n, const char *s, const char *field, struct sim_invalid *why)
{
	int status = s ? sim_task_status_parse(s) : -1;

	if (status < 0)
		return bad(why, field, "must be a TaskRunStatus");
	n->statuses |= 1u << status;
	return 0;
}

static int parse_string_filter(yajl_val f, const char *path, bool list, struct node *n, struct sim_invalid *why)
{
	static const char *const string_members[] = {"name", "operator", "value", NULL};
	static const char *const list_members[] = {"name", "operator", "values", NULL};
	unsigned ops = list ? 1u << OP_ANY_EQUALS | 1u << OP_ALL_NOT_EQUALS : 1u << OP_EQUAL | 1u << OP_NOT_EQUAL;
	const char *name, *value;
	char field[FIELD_SIZE];
	yajl_val values;
	int r;

	n->kind = NODE_STATUS;
	r = only_members(f, list ? list_members : string_members, path, why);
	if (!r)
		r = required_string(f, "name", path, &name, why);
	if (!r && strcmp(name, "TASK_RUN_STATUS") != 0) {
		field_printf(field, "%s.name", path);
		r = bad(why, field, "names a field the simulator does not search (TASK_RUN_STATUS)");
	}
	if (!r)
		r = parse_operator(f, path, ops, &n->op, why);
	if (r)
		return r;
	if (!list) {
		field_printf(field, "%s.value", path);
		r = required_string(f, "value", path, &value, why);
		return r ? r : add_status(n, value, field, why);
	}
	values = member(f, "values");
	field_printf(field, "%s.values", path);
	if (!values)
		return bad(why, field, "is required");
	if (!YAJL_IS_ARRAY(values) || values->u.array.len < 1 || values->u.array.len > MAX_LIST_VALUES)
		return bad(why, field, "must be a list of 1 to %d strings", MAX_LIST_VALUES);
	for (size_t i = 0; i < values->u.array.len && !r; i++)
		r = add_status(n, YAJL_GET_STRING(values->u.array.values[i]), field, why);
	return r;
}

static int parse_date_filter(yajl_val f, const char *path, struct node *n, struct sim_invalid *why)
{
	static const char *const members[] = {"name", "operator", "dateTime", NULL};
	const char *name, *text;
	char field[FIELD_SIZE];
	int r, i;

	n->kind = NODE_DATE;
	r = only_members(f, members, path, why);
	if (!r)
		r = required_string(f, "name", path, &name, why);
	for (i = 0; !r && i < FIELD_PRIORITY && strcmp(name, field_names[i]) != 0; i++)
		;
	if (!r && i == FIELD_PRIORITY) {
		field_printf(field, "%s.name", path);
		r = bad(why, field, "must be CREATED_AT, STARTED_AT, ENDED_AT or UPDATED_AT");
	}
	n->field = (enum job_field)i;
	if (!r)
		r = parse_operator(f, path, (1u << OP_ANY_EQUALS) - 1, &n->op, why);
	if (!r)
		r = required_string(f, "dateTime", path, &text, why);
	field_printf(field, "%s.dateTime", path);
	if (!r && sim_rfc3339_parse(text, &n->ms) < 0)
		r = bad(why, field, "must be an ISO 8601 date-time");
	return r;
}

static int parse_term_filter(yajl_val f, const char *path, struct node *n, struct sim_invalid *why)
{
	static const char *const members[] = {"searchTerm", "matchType", NULL};
	yajl_val type = member(f, "matchType");
	const char *match = type ? YAJL_GET_STRING(type) : NULL;
	char field[FIELD_SIZE];
	size_t chars = 0;
	int r;

	n->kind = NODE_TERM;
	r = only_members(f, members, path, why);
	if (!r)
		r = required_string(f, "searchTerm", path, &n->term, why);
	for (const char *p = r ? "" : n->term; *p; p++)
		chars += ((unsigned char)*p & 0xc0) != 0x80;
	field_printf(field, "%s.searchTerm", path);
	if (!r && (chars < 1 || chars > MAX_TERM_CHARS))
		r = bad(why, field, "must be 1 to %d characters", MAX_TERM_CHARS);
	field_printf(field, "%s.matchType", path);
	if (!r && type && (!match || (strcmp(match, "CONTAINS") != 0 && strcmp(match, "FUZZY_MATCH") != 0)))
		r = bad(why, field, "must be FUZZY_MATCH or CONTAINS");
	n->fuzzy = match && strcmp(match, "FUZZY_MATCH") == 0;
	return r;
}

static int parse_group(
	yajl_val g, const char *path, int depth, struct search *s, size_t *index, struct sim_invalid *why);

/* One SearchFilterExpression: a union of exactly one filter. */
static int parse_filter(
	yajl_val f, const char *path, int depth, struct search *s, size_t *index, struct sim_invalid *why)
{
	static const char *const kinds[] = {"dateTimeFilter", "parameterFilter", "searchTermFilter", "stringFilter",
		"stringListFilter", "groupFilter", NULL};
	char field[FIELD_SIZE];
	const char *kind;
	yajl_val v;
	int r;

	if (!YAJL_IS_OBJECT(f) || f->u.object.len != 1)
		return bad(why, path, "must be an object with exactly one of the SearchFilterExpression members");
	r = only_members(f, kinds, path, why);
	if (r)
		return r;
	kind = f->u.object.keys[0];
	v = f->u.object.values[0];
	field_printf(field, "%s.%s", path, kind);
	if (!YAJL_IS_OBJECT(v))
		return bad(why, field, "must be an object");
	if (strcmp(kind, "groupFilter") == 0) {
		/* the service takes two levels of grouping: the request's and one nested group */
		if (depth >= 1)
			return bad(
				why, field, "is nested too deep: a nested groupFilter cannot hold another groupFilter");
		return parse_group(v, field, depth + 1, s, index, why);
	}
	if (strcmp(kind, "parameterFilter") == 0)
		return bad(why, field, "is not simulated");
	*index = s->n_nodes++;
	if (strcmp(kind, "dateTimeFilter") == 0)
		return parse_date_filter(v, field, &s->nodes[*index], why);
	if (strcmp(kind, "searchTermFilter") == 0) {
		s->have_term = true;
		return parse_term_filter(v, field, &s->nodes[*index], why);
	}
	return parse_string_filter(v, field, strcmp(kind, "stringListFilter") == 0, &s->nodes[*index], why);
}

/* SearchGroupedFilterExpressions: operator and 1 to 3 filters. */
static int parse_group(
	yajl_val g, const char *path, int depth, struct search *s, size_t *index, struct sim_invalid *why)
{
	static const char *const members[] = {"filters", "operator", NULL};
	yajl_val filters = member(g, "filters");
	const char *op;
	char field[FIELD_SIZE];
	struct node *n;
	size_t at;
	int r;

	if (!YAJL_IS_OBJECT(g))
		return bad(why, path, "must be an object");
	r = only_members(g, members, path, why);
	if (!r)
		r = required_string(g, "operator", path, &op, why);
	field_printf(field, "%s.operator", path);
	if (!r && strcmp(op, "AND") != 0 && strcmp(op, "OR") != 0)
		r = bad(why, field, "must be AND or OR");
	if (r)
		return r;
	field_printf(field, "%s.filters", path);
	if (!filters)
		return bad(why, field, "is required");
	if (!YAJL_IS_ARRAY(filters) || filters->u.array.len < 1 || filters->u.array.len > MAX_FILTERS)
		return bad(why, field,
			"must hold 1 to %d filters (at most %d per group: a nested groupFilter holds %d more)",
			MAX_FILTERS, MAX_FILTERS, MAX_FILTERS);
	at = s->n_nodes++;
	n = &s->nodes[at];
	n->kind = NODE_GROUP;
	n->and = strcmp(op, "AND") == 0;
	for (size_t i = 0; i < filters->u.array.len && !r; i++) {
		char item[FIELD_SIZE];

		field_printf(item, "%s[%zu]", field, i);
		r = parse_filter(filters->u.array.values[i], item, depth, s, &n->children[i], why);
		n->n_children = i + 1;
	}
	*index = at;
	return r;
}

static int parse_sort(yajl_val v, const struct sim_world *w, struct search *s, struct sim_invalid *why)
{
	static const char *const kinds[] = {"userJobsFirst", "fieldSort", "parameterSort", NULL};
	static const char *const field_members[] = {"sortOrder", "name", NULL};
	static const char *const user_members[] = {"userIdentityId", NULL};

	if (!YAJL_IS_ARRAY(v) || v->u.array.len < 1 || v->u.array.len > MAX_SORTS)
		return bad(why, "sortExpressions", "must be a list of 1 to %d sort expressions", MAX_SORTS);
	for (size_t i = 0; i < v->u.array.len; i++) {
		yajl_val e = v->u.array.values[i], x;
		struct sort_key *k = &s->sorts[s->n_sorts++];
		char path[FIELD_SIZE], field[FIELD_SIZE];
		const char *kind, *text;
		int r, f;

		field_printf(path, "sortExpressions[%zu]", i);
		if (!YAJL_IS_OBJECT(e) || e->u.object.len != 1)
			return bad(why, path, "must be an object with exactly one of the SearchSortExpression members");
		if ((r = only_members(e, kinds, path, why)))
			return r;
		kind = e->u.object.keys[0];
		x = e->u.object.values[0];
		field_printf(field, "%s.%s", path, kind);
		if (!YAJL_IS_OBJECT(x))
			return bad(why, field, "must be an object");
		if (strcmp(kind, "parameterSort") == 0)
			return bad(why, field, "is not simulated");
		if (strcmp(kind, "userJobsFirst") == 0) {
			if ((r = only_members(x, user_members, field, why)) ||
				(r = required_string(x, "userIdentityId", field, &text, why)))
				return r;
			k->user_first = true;
			k->user = sim_world_find_user(w, text);
			continue;
		}
		if ((r = only_members(x, field_members, field, why)) ||
			(r = required_string(x, "name", field, &text, why)))
			return r;
		for (f = 0; f < FIELD_COUNT && strcmp(text, field_names[f]) != 0; f++)
			;
		if (f == FIELD_COUNT)
			return bad(why, field, "name must be CREATED_AT, STARTED_AT, ENDED_AT, UPDATED_AT or PRIORITY");
		k->field = (enum job_field)f;
		if ((r = required_string(x, "sortOrder", field, &text, why)))
			return r;
		if (strcmp(text, "ASCENDING") != 0 && strcmp(text, "DESCENDING") != 0)
			return bad(why, field, "sortOrder must be ASCENDING or DESCENDING");
		k->descending = text[0] == 'D';
	}
	return 0;
}

static int parse_integer(yajl_val body, const char *key, bool required, long long min, long long max, long long *out,
	struct sim_invalid *why)
{
	yajl_val v = member(body, key);

	if (!v)
		return required ? bad(why, key, "is required") : 0;
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min || YAJL_GET_INTEGER(v) > max)
		return bad(why, key, "must be an integer from %lld to %lld", min, max);
	*out = YAJL_GET_INTEGER(v);
	return 0;
}

static int parse_queue_ids(yajl_val body, struct search *s, struct sim_invalid *why)
{
	yajl_val v = member(body, "queueIds");

	if (!v)
		return bad(why, "queueIds", "is required");
	if (!YAJL_IS_ARRAY(v) || v->u.array.len < 1 || v->u.array.len > MAX_QUEUE_IDS)
		return bad(why, "queueIds", "must be a list of 1 to %d queue ids", MAX_QUEUE_IDS);
	for (size_t i = 0; i < v->u.array.len; i++) {
		const char *id = YAJL_GET_STRING(v->u.array.values[i]);

		if (!id || strncmp(id, "queue-", 6) != 0 || strlen(id) != 6 + SIM_HEX_ID_LEN ||
			strspn(id + 6, "0123456789abcdef") != SIM_HEX_ID_LEN)
			return bad(why, "queueIds", "[%zu] must match queue-[0-9a-f]{32}", i);
		s->queue_ids[s->n_queue_ids++] = id;
	}
	return 0;
}

/* Validates the body into s (its strings point into tree). Returns 0 or SIM_AGG_INVALID. */
static int parse_search(const struct sim_state *st, yajl_val tree, struct search *s, struct sim_invalid *why)
{
	static const char *const members[] = {
		"queueIds", "itemOffset", "pageSize", "filterExpressions", "sortExpressions", NULL};
	long long cap = st->config->search_offset_cap;
	yajl_val filters, sorts;
	size_t root;
	int r;

	if (!YAJL_IS_OBJECT(tree))
		return sim_invalid_set(why, "CANNOT_PARSE", NULL, "the request body must be a JSON object");
	s->page_size = MAX_PAGE_SIZE;
	if ((r = only_members(tree, members, "", why)) || (r = parse_queue_ids(tree, s, why)) ||
		(r = parse_integer(tree, "itemOffset", true, 0, MAX_ITEM_OFFSET, &s->item_offset, why)) ||
		(r = parse_integer(tree, "pageSize", false, 1, MAX_PAGE_SIZE, &s->page_size, why)))
		return r;
	/* the service's result window: offsets stop there (10,000; lower with --search-offset-cap) */
	if (s->item_offset > cap)
		return bad(why, "itemOffset",
			"must be at most %lld: sort by CREATED_AT and filter on it to read further", cap);
	filters = member(tree, "filterExpressions");
	if (filters) {
		s->have_filter = true;
		if ((r = parse_group(filters, "filterExpressions", 0, s, &root, why)))
			return r;
	}
	sorts = member(tree, "sortExpressions");
	return sorts ? parse_sort(sorts, st->world, s, why) : 0;
}

static int64_t date_of(const struct sim_live_job *jb, enum job_field f)
{
	switch (f) {
	case FIELD_CREATED_AT:
		return jb->created_ms;
	case FIELD_STARTED_AT:
		return jb->started_ms;
	case FIELD_ENDED_AT:
		return jb->ended_ms;
	case FIELD_UPDATED_AT:
		return jb->updated_ms;
	default:
		return jb->priority;
	}
}

static bool node_matches(const struct search *s, size_t i, const struct sim_live_job *jb, const char *name)
{
	const struct node *n = &s->nodes[i];
	int64_t v;

	switch (n->kind) {
	case NODE_STATUS: {
		bool in = n->statuses & 1u << jb->status;

		return n->op == OP_EQUAL || n->op == OP_ANY_EQUALS ? in : !in;
	}
	case NODE_DATE:
		v = date_of(jb, n->field);
		if (v < 0)
			return false; /* a job without that date matches no comparison with it */
		return n->op == OP_EQUAL       ? v == n->ms
		       : n->op == OP_NOT_EQUAL ? v != n->ms
		       : n->op == OP_GTE       ? v >= n->ms
		       : n->op == OP_GT        ? v > n->ms
		       : n->op == OP_LTE       ? v <= n->ms
					       : v < n->ms;
	case NODE_TERM:
		return n->fuzzy ? strcasestr(name, n->term) != NULL : strstr(name, n->term) != NULL;
	case NODE_GROUP:
		for (size_t c = 0; c < n->n_children; c++) {
			if (node_matches(s, n->children[c], jb, name) != n->and)
				return !n->and;
		}
		return n->and;
	}
	return false;
}

static int compare_jobs(const void *a, const void *b, void *ctx)
{
	const struct sim_live_job *x = a, *y = b;
	const struct search *s = ctx;

	for (size_t i = 0; i < s->n_sorts; i++) {
		const struct sort_key *k = &s->sorts[i];
		int64_t u, v;

		if (k->user_first) {
			bool fx = (long)x->user == k->user, fy = (long)y->user == k->user;

			if (fx != fy)
				return fx ? -1 : 1;
			continue;
		}
		/* absent dates (-1) come first in ascending order */
		u = date_of(x, k->field);
		v = date_of(y, k->field);
		if (u != v)
			return (u < v) != k->descending ? -1 : 1;
	}
	return sim_live_job_compare(a, b);
}

/* Appends the jobs of the list that match to *out. Returns 0 or -ENOMEM. */
static int collect_matching(
	const struct search *s, const struct sim_live_job *jobs, size_t count, struct sim_live_job **out, size_t *n)
{
	char name[SIM_JOB_NAME_SIZE] = "";
	struct sim_live_job *grown = realloc(*out, (*n + count + 1) * sizeof(**out));

	if (!grown)
		return -ENOMEM;
	*out = grown;
	for (size_t k = 0; k < count; k++) {
		if (s->have_term)
			sim_live_job_name(&jobs[k], name);
		if (!s->have_filter || node_matches(s, 0, &jobs[k], name))
			(*out)[(*n)++] = jobs[k];
	}
	return 0;
}

/* The jobs of the requested queues that match (the live stream's and the usage records'), sorted. Returns 0 or
 * -ENOMEM. */
static int collect(const struct sim_state *st, size_t farm, uint64_t step, const struct search *s,
	struct sim_live_job **out, size_t *n)
{
	const struct sim_farm *f = &st->world->farms[farm];
	bool seen[MAX_QUEUE_IDS] = {false};

	*n = 0;
	*out = NULL;
	for (size_t i = 0; i < s->n_queue_ids; i++) {
		long q = sim_farm_find_queue(f, s->queue_ids[i]);
		struct sim_live_job *jobs = NULL, *usage = NULL;
		size_t count = 0, n_usage = 0;
		int r;

		/* an id the farm does not have selects nothing; one given twice counts once */
		for (size_t k = 0; k < i && q >= 0; k++)
			seen[i] = seen[i] || strcmp(s->queue_ids[k], s->queue_ids[i]) == 0;
		if (q < 0 || seen[i])
			continue;
		r = sim_queue_jobs(st, farm, (size_t)q, step, &jobs, &count);
		if (r == 0)
			r = sim_queue_usage_jobs(st, farm, (size_t)q, &usage, &n_usage);
		if (r == 0)
			r = collect_matching(s, jobs, count, out, n);
		if (r == 0)
			r = collect_matching(s, usage, n_usage, out, n);
		free(jobs);
		free(usage);
		if (r < 0)
			return r;
	}
	qsort_r(*out, *n, sizeof(**out), compare_jobs, (void *)s);
	return 0;
}

void sim_search_jobs(struct sim_state *st, size_t farm, const char *body, size_t body_len, struct sim_response *r)
{
	struct search *s = calloc(1, sizeof(*s));
	struct sim_live_job *jobs = NULL;
	struct sim_invalid why;
	size_t n = 0, window, start, end;
	char err[256];
	yajl_val tree;
	uint64_t step;
	struct sim_json j;

	if (!s) {
		sim_response_internal_failure(r, "out of memory");
		return;
	}
	tree = sim_json_parse(body, body_len, MAX_BODY_DEPTH, err, sizeof(err));
	if (!tree) {
		sim_api_validation_error(st, r, "CANNOT_PARSE", NULL, err);
		goto out;
	}
	if (parse_search(st, tree, s, &why)) {
		sim_api_validation_error(st, r, why.reason, why.field, why.message);
		goto out;
	}
	if (st->config->page_size_cap && s->page_size > st->config->page_size_cap)
		s->page_size = st->config->page_size_cap;
	step = sim_activity_step(st);
	if (collect(st, farm, step, s, &jobs, &n) < 0) {
		sim_response_internal_failure(r, "out of memory");
		goto out;
	}
	/* totalResults and the offsets stop at the result window */
	window = n < st->config->search_offset_cap ? n : st->config->search_offset_cap;
	start = (size_t)s->item_offset;
	if (start > 0 && start < window && s->page_size >= 2 &&
		sim_live_hash(st->world->seed, farm, step, start) % DUPLICATE_EVERY == 0)
		start--; /* the previous page's last job again */
	start = start < window ? start : window;
	end = start + (size_t)s->page_size < window ? start + (size_t)s->page_size : window;
	if (!sim_response_json_begin(&j, r))
		goto out;
	sim_json_map_open(&j);
	sim_json_string(&j, "jobs");
	sim_json_array_open(&j);
	for (size_t i = start; i < end; i++)
		sim_live_job_json(&j, st, farm, &jobs[i]);
	sim_json_array_close(&j);
	sim_json_kv_int(&j, "totalResults", (long long)window);
	if (end < window)
		sim_json_kv_int(&j, "nextItemOffset", (long long)end);
	sim_json_map_close(&j);
	sim_response_json_finish(&j, r, 200);
out:
	yajl_tree_free(tree);
	free(jobs);
	free(s);
}
