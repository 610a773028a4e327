/* queue_lookup: what a farm's refreshes know of its queues: each job's queue (SearchJobs), each queue's name (pure) */
#include "deadline/queue_lookup.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/model.h"

/* Ids are a prefix and 32 hex digits: kept as their 16 bytes, so a million jobs fit in about 40 MB. */
#define ID_BYTES 16
#define QUEUE_ID_LEN (6 + 2 * ID_BYTES) /* "queue-" and the digits */
/* The queue index of a job searched for and not found. */
#define QUEUE_MISSING UINT32_MAX

/*
 * Open addressing, linear probing (the keys are random), power-of-two capacity, at most 3/4 full: 20 bytes a slot.
 * value: 0 for an empty slot, else the queue's index + 1, or QUEUE_MISSING.
 */
struct id_slot {
	unsigned char id[ID_BYTES];
	uint32_t value;
};

struct id_map {
	struct id_slot *slots;
	size_t cap, n;
};

/* A queue seen in a search or a listing. */
struct queue_entry {
	char id[QUEUE_ID_LEN + 1];
	char *name; /* NULL: never listed */
	bool listed; /* by the last listing */
};

struct queue_lookup {
	struct id_map jobs; /* job id -> index + 1 in queues, or QUEUE_MISSING */
	struct id_map queue_map; /* queue id -> index + 1 in queues */
	struct queue_entry *queues;
	size_t n_queues, cap_queues;
	bool searched, named;
	int64_t since;
};

/* The 16 bytes of prefix + 32 lowercase hex digits; false for anything else. */
static bool id_bytes(const char *id, const char *prefix, unsigned char out[ID_BYTES])
{
	const char *hex;

	if (!id || model_id_valid(id, prefix) < 0)
		return false;
	hex = id + strlen(prefix);
	for (size_t i = 0; i < ID_BYTES; i++) {
		int hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
		int lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* Both halves mixed: the service's ids look random, but nothing promises it (and linear probing needs it). */
static size_t id_hash(const unsigned char id[ID_BYTES])
{
	uint64_t a, b, h;

	memcpy(&a, id, sizeof(a));
	memcpy(&b, id + 8, sizeof(b));
	h = a ^ (b * UINT64_C(0x9e3779b97f4a7c15));
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return (size_t)h;
}

static struct id_slot *map_slot(const struct id_map *m, const unsigned char id[ID_BYTES])
{
	if (!m->cap)
		return NULL;
	for (size_t i = id_hash(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slots[i].value || memcmp(m->slots[i].id, id, ID_BYTES) == 0)
			return &m->slots[i];
	}
}

static int map_grow(struct id_map *m)
{
	size_t cap = m->cap ? 2 * m->cap : 64;
	struct id_map grown = {.slots = calloc(cap, sizeof(struct id_slot)), .cap = cap};

	if (!grown.slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i].value)
			*map_slot(&grown, m->slots[i].id) = m->slots[i];
	}
	grown.n = m->n;
	free(m->slots);
	*m = grown;
	return 0;
}

/* The slot of id, added (with value QUEUE_MISSING) when new; NULL without memory. */
static struct id_slot *map_put(struct id_map *m, const unsigned char id[ID_BYTES])
{
	struct id_slot *s;

	if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) < 0)
		return NULL;
	s = map_slot(m, id);
	if (!s->value) {
		memcpy(s->id, id, ID_BYTES);
		s->value = QUEUE_MISSING;
		m->n++;
	}
	return s;
}

int queue_lookup_new(struct queue_lookup **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void queue_lookup_free(struct queue_lookup *ql)
{
	if (!ql)
		return;
	for (size_t i = 0; i < ql->n_queues; i++)
		free(ql->queues[i].name);
	free(ql->jobs.slots);
	free(ql->queue_map.slots);
	free(ql->queues);
	free(ql);
}

enum queue_lookup_known queue_lookup_job(const struct queue_lookup *ql, const char *job_id, const char **queue_id)
{
	unsigned char id[ID_BYTES];
	const struct id_slot *s;

	if (!ql || !id_bytes(job_id, "job-", id))
		return QUEUE_LOOKUP_MISSING;
	s = map_slot(&ql->jobs, id);
	if (!s || !s->value)
		return QUEUE_LOOKUP_UNKNOWN;
	if (s->value == QUEUE_MISSING)
		return QUEUE_LOOKUP_MISSING;
	if (queue_id)
		*queue_id = ql->queues[s->value - 1].id;
	return QUEUE_LOOKUP_FOUND;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The index + 1 of queue_id in ql->queues (0: never seen). */
static uint32_t queue_find(const struct queue_lookup *ql, const char *queue_id)
{
	unsigned char id[ID_BYTES];
	const struct id_slot *s;

	if (!id_bytes(queue_id, "queue-", id))
		return 0;
	s = map_slot(&ql->queue_map, id);
	return s ? s->value : 0;
}

/* The index + 1 of queue_id in ql->queues, added when new. Returns 0, QUEUE_LOOKUP_FULL, -EINVAL or -ENOMEM. */
static int queue_index(struct queue_lookup *ql, const char *queue_id, uint32_t *out)
{
	unsigned char id[ID_BYTES];
	struct id_slot *s;

	if (!id_bytes(queue_id, "queue-", id))
		return -EINVAL;
	*out = queue_find(ql, queue_id);
	if (*out)
		return 0;
	if (ql->n_queues >= QUEUE_LOOKUP_QUEUES_MAX)
		return QUEUE_LOOKUP_FULL;
	if (ql->n_queues == ql->cap_queues) {
		size_t cap = ql->cap_queues ? 2 * ql->cap_queues : 16;
		struct queue_entry *grown = realloc(ql->queues, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ql->queues = grown;
		ql->cap_queues = cap;
	}
	s = map_put(&ql->queue_map, id);
	if (!s)
		return -ENOMEM;
	memcpy(ql->queues[ql->n_queues].id, queue_id, QUEUE_ID_LEN + 1);
	ql->queues[ql->n_queues].name = NULL;
	ql->queues[ql->n_queues].listed = false;
	s->value = (uint32_t)++ql->n_queues;
	*out = s->value;
	return 0;
}

/* Sets job_id's queue (index + 1, or QUEUE_MISSING: not found), unless it has one already. */
static int job_set(struct queue_lookup *ql, const char *job_id, uint32_t queue)
{
	unsigned char id[ID_BYTES];
	struct id_slot *s;

	if (!id_bytes(job_id, "job-", id))
		return -EINVAL;
	s = map_slot(&ql->jobs, id);
	if (!s || !s->value) {
		if (ql->jobs.n >= QUEUE_LOOKUP_JOBS_MAX)
			return QUEUE_LOOKUP_FULL;
		s = map_put(&ql->jobs, id);
		if (!s)
			return -ENOMEM;
	}
	/* A job never changes queue: the first queue found stays, and a found job is never made missing. */
	if (s->value == QUEUE_MISSING)
		s->value = queue;
	return 0;
}

int queue_lookup_set_names(struct queue_lookup *ql, const struct inventory *inv)
{
	int ret = 0;

	if (!ql || !inv)
		return -EINVAL;
	for (size_t i = 0; i < ql->n_queues; i++)
		ql->queues[i].listed = false;
	for (size_t i = 0; i < inv->n_queues; i++) {
		const struct inventory_queue *q = &inv->queues[i];
		struct queue_entry *e;
		uint32_t k;
		char *name;
		int r = queue_index(ql, q->id, &k);

		if (r == -EINVAL || !q->name)
			continue; /* the inventory checked the ids: nothing to name */
		if (r != 0) {
			ret = ret < 0 ? ret : r;
			continue;
		}
		e = &ql->queues[k - 1];
		e->listed = true;
		/* The same name stays the same string: a refresh's derived values are computed once per name. */
		if (e->name && strcmp(e->name, q->name) == 0)
			continue;
		name = model_utf8_sanitize(q->name);
		if (!name) {
			ret = -ENOMEM;
			continue;
		}
		free(e->name);
		e->name = name;
	}
	ql->named = true;
	return ret;
}

bool queue_lookup_has_names(const struct queue_lookup *ql)
{
	return ql && ql->named;
}

const char *queue_lookup_name(const struct queue_lookup *ql, const char *queue_id)
{
	uint32_t k = ql ? queue_find(ql, queue_id) : 0;

	return k ? ql->queues[k - 1].name : NULL;
}

int queue_lookup_add_job(struct queue_lookup *ql, const char *job_id, const char *queue_id)
{
	uint32_t q;
	int r;

	if (!ql || model_id_valid(job_id ? job_id : "", "job-") < 0)
		return -EINVAL;
	r = queue_index(ql, queue_id, &q);
	return r != 0 ? r : job_set(ql, job_id, q);
}

int queue_lookup_add_missing(struct queue_lookup *ql, const char *job_id)
{
	if (!ql)
		return -EINVAL;
	return job_set(ql, job_id, QUEUE_MISSING);
}

bool queue_lookup_search_from(const struct queue_lookup *ql, int64_t *since)
{
	if (!ql || !ql->searched)
		return false;
	*since = ql->since;
	return true;
}

void queue_lookup_searched(struct queue_lookup *ql, int64_t began)
{
	if (!ql)
		return;
	ql->searched = true;
	ql->since = began - QUEUE_LOOKUP_MARGIN_SECONDS;
}

size_t queue_lookup_jobs(const struct queue_lookup *ql)
{
	return ql ? ql->jobs.n : 0;
}

int queue_lookup_listed(const struct queue_lookup *ql, const char ***ids)
{
	size_t n = 0;

	*ids = malloc((ql && ql->n_queues ? ql->n_queues : 1) * sizeof(**ids));
	if (!*ids)
		return -ENOMEM;
	for (size_t i = 0; ql && i < ql->n_queues; i++)
		if (ql->queues[i].listed)
			(*ids)[n++] = ql->queues[i].id;
	return (int)n;
}

/* The index of f in r's group_by, or -1. */
static int group_index(const struct report_config *r, enum group_field f)
{
	for (size_t k = 0; k < r->n_group_by; k++)
		if (r->group_by[k] == f)
			return (int)k;
	return -1;
}

static bool has_queue_rule(const struct report_config *r)
{
	for (size_t i = 0; i < r->n_labels; i++)
		if (r->labels[i].source == RELABEL_SOURCE_QUEUE_NAME)
			return true;
	return false;
}

bool queue_lookup_by_job(const struct report_config *r)
{
	return has_queue_rule(r) && group_index(r, GROUP_JOB_ID) >= 0 && group_index(r, GROUP_QUEUE_ID) < 0;
}

int queue_lookup_unknown(
	const struct queue_lookup *ql, const struct report_config *r, struct usage_table *t, const char ***ids)
{
	const struct usage_group *const *groups;
	size_t n_groups = usage_table_groups(t, &groups), n = 0;
	int k = group_index(r, GROUP_JOB_ID);
	const char *last = NULL;

	*ids = malloc((n_groups ? n_groups : 1) * sizeof(**ids));
	if (!*ids)
		return -ENOMEM;
	if (!queue_lookup_by_job(r) || k < 0)
		return 0;
	for (size_t i = 0; i < n_groups; i++) {
		const char *job = groups[i]->values[k];
		/* A job's groups are one table's interned string: the same pointer, and together when JOB_ID comes
		 * first. */
		if (job == last)
			continue;
		last = job;
		if (queue_lookup_job(ql, job, NULL) == QUEUE_LOOKUP_UNKNOWN)
			(*ids)[n++] = job;
	}
	/* Another group-by field first: a job's groups need not be together. */
	if (k > 0 && n > 1) {
		qsort(*ids, n, sizeof(**ids), compare_strings);
		size_t m = 1;
		for (size_t i = 1; i < n; i++)
			if (strcmp((*ids)[i], (*ids)[m - 1]) != 0)
				(*ids)[m++] = (*ids)[i];
		n = m;
	}
	return (int)n;
}

static const char *group_queue_name(void *ctx, const struct usage_group *g)
{
	const struct queue_lookup_groups *lg = ctx;
	const char *queue_id = NULL;

	if (lg->queue_k >= 0)
		queue_id = g->values[lg->queue_k];
	else if (lg->job_k < 0 || queue_lookup_job(lg->ql, g->values[lg->job_k], &queue_id) != QUEUE_LOOKUP_FOUND)
		return NULL;
	return queue_lookup_name(lg->ql, queue_id);
}

struct usage_queue_source queue_lookup_source(
	const struct queue_lookup *ql, const struct report_config *r, struct queue_lookup_groups *g)
{
	g->ql = ql;
	g->queue_k = group_index(r, GROUP_QUEUE_ID);
	g->job_k = group_index(r, GROUP_JOB_ID);
	return (struct usage_queue_source){.name_of = group_queue_name, .ctx = g};
}
