/* job_queues: the queue of each job of a farm, as SearchJobs listed it, kept (a job never changes queue) (pure) */
#include "deadline/job_queues.h"

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

struct job_queues {
	struct id_map jobs; /* job id -> index in queue_ids, or QUEUE_MISSING */
	struct id_map queues; /* queue id -> index in queue_ids */
	char (*queue_ids)[QUEUE_ID_LEN + 1];
	size_t n_queue_ids, cap_queue_ids;
	bool searched;
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

int job_queues_new(struct job_queues **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void job_queues_free(struct job_queues *jq)
{
	if (!jq)
		return;
	free(jq->jobs.slots);
	free(jq->queues.slots);
	free(jq->queue_ids);
	free(jq);
}

enum job_queues_known job_queues_find(const struct job_queues *jq, const char *job_id, const char **queue_id)
{
	unsigned char id[ID_BYTES];
	const struct id_slot *s;

	if (!jq || !id_bytes(job_id, "job-", id))
		return JOB_QUEUES_MISSING;
	s = map_slot(&jq->jobs, id);
	if (!s || !s->value)
		return JOB_QUEUES_UNKNOWN;
	if (s->value == QUEUE_MISSING)
		return JOB_QUEUES_MISSING;
	if (queue_id)
		*queue_id = jq->queue_ids[s->value - 1];
	return JOB_QUEUES_FOUND;
}

/* The index + 1 of queue_id in jq->queue_ids, added when new (the farm's queues: a few thousand at most). */
static int queue_index(struct job_queues *jq, const char *queue_id, uint32_t *out)
{
	unsigned char id[ID_BYTES];
	struct id_slot *s;

	if (!id_bytes(queue_id, "queue-", id))
		return -EINVAL;
	s = map_slot(&jq->queues, id);
	if (s && s->value) {
		*out = s->value;
		return 0;
	}
	if (jq->n_queue_ids == jq->cap_queue_ids) {
		size_t cap = jq->cap_queue_ids ? 2 * jq->cap_queue_ids : 16;
		void *grown = realloc(jq->queue_ids, cap * sizeof(*jq->queue_ids));
		if (!grown)
			return -ENOMEM;
		jq->queue_ids = grown;
		jq->cap_queue_ids = cap;
	}
	s = map_put(&jq->queues, id);
	if (!s)
		return -ENOMEM;
	memcpy(jq->queue_ids[jq->n_queue_ids], queue_id, QUEUE_ID_LEN + 1);
	s->value = (uint32_t)++jq->n_queue_ids;
	*out = s->value;
	return 0;
}

/* Sets job_id's queue (index + 1, or QUEUE_MISSING: not found), unless it has one already. */
static int job_set(struct job_queues *jq, const char *job_id, uint32_t queue)
{
	unsigned char id[ID_BYTES];
	struct id_slot *s;

	if (!id_bytes(job_id, "job-", id))
		return -EINVAL;
	s = map_slot(&jq->jobs, id);
	if (!s || !s->value) {
		if (jq->jobs.n >= JOB_QUEUES_MAX)
			return JOB_QUEUES_FULL;
		s = map_put(&jq->jobs, id);
		if (!s)
			return -ENOMEM;
	}
	/* A job never changes queue: the first queue found stays, and a found job is never made missing. */
	if (s->value == QUEUE_MISSING)
		s->value = queue;
	return 0;
}

int job_queues_add(struct job_queues *jq, const char *job_id, const char *queue_id)
{
	uint32_t q;
	int r;

	if (!jq || model_id_valid(job_id ? job_id : "", "job-") < 0)
		return -EINVAL;
	r = queue_index(jq, queue_id, &q);
	return r < 0 ? r : job_set(jq, job_id, q);
}

int job_queues_add_missing(struct job_queues *jq, const char *job_id)
{
	if (!jq)
		return -EINVAL;
	return job_set(jq, job_id, QUEUE_MISSING);
}

bool job_queues_search_from(const struct job_queues *jq, int64_t *since)
{
	if (!jq || !jq->searched)
		return false;
	*since = jq->since;
	return true;
}

void job_queues_searched(struct job_queues *jq, int64_t began)
{
	if (!jq)
		return;
	jq->searched = true;
	jq->since = began - JOB_QUEUES_MARGIN_SECONDS;
}

size_t job_queues_size(const struct job_queues *jq)
{
	return jq ? jq->jobs.n : 0;
}
