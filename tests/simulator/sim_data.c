/* sim_data: the simulator's synthetic farms, queues, fleets, jobs, users and sessions (immutable once built) */
#include "sim_data.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define DAY_SECONDS INT64_C(86400)
#define HISTORY_SECONDS (100 * DAY_SECONDS)
#define JOB_SPREAD_SECONDS (3 * DAY_SECONDS)
#define JOB_NAME_MAX_BYTES 1024 /* 128 characters of up to 4 bytes, with room to spare */

static const size_t farm_queues[SIM_FARMS] = {25, 12, 3};
/* the default fleets; --fleets changes the first farm's */
const size_t sim_default_fleets[SIM_FARMS] = {6, 3, 1};

const char *const sim_usage_type_names[SIM_USAGE_COUNT] = {
	[SIM_USAGE_COMPUTE] = "COMPUTE",
	[SIM_USAGE_LICENSE] = "LICENSE",
	[SIM_USAGE_PERSISTENT_VOLUME] = "PERSISTENT_VOLUME",
	[SIM_USAGE_GPU_BURST] = "GPU_BURST",
};

/* The first CPU_INSTANCE_TYPES serve COMPUTE sessions, the rest GPU_BURST ones. */
#define CPU_INSTANCE_TYPES 6
const char *const sim_instance_types[] = {
	"c5.2xlarge",
	"c6i.4xlarge",
	"m5.8xlarge",
	"m6i.2xlarge",
	"r6i.4xlarge",
	"c7i.8xlarge",
	"g5.xlarge",
	"g6e.2xlarge",
};
const size_t sim_n_instance_types = sizeof(sim_instance_types) / sizeof(sim_instance_types[0]);
static const double instance_rates[] = {0.34, 0.68, 1.536, 0.384, 1.008, 1.428, 1.006, 2.242}; /* USD/hour */

const char *const sim_license_products[] = {"arnold", "cinema4d", "houdini", "maya", "nuke", "redshift", "vray"};
const size_t sim_n_license_products = sizeof(sim_license_products) / sizeof(sim_license_products[0]);
static const double license_rates[] = {0.09, 0.2, 0.25, 0.09, 0.55, 0.13, 0.13};

#define VOLUME_RATE 0.0137

/*
 * The studio's naming convention: a queue per production and department ("Harbor - Lighting"), jobs named
 * show_shot_department_version ("harbor_sh0393_lgt_v012"). The first five department codes are the convention's
 * (anim, comp, fx, lgt, lookdev); "layout" and "cfx" are departments a show regex finds but a department regex
 * that lists those five does not.
 */
const char *const sim_productions[] = {"Aurora", "Basalt", "Cinder", "Drift", "Ember", "Fjord", "Glacier", "Harbor"};
const size_t sim_n_productions = sizeof(sim_productions) / sizeof(sim_productions[0]);
static const char *const shows[] = {"aurora", "basalt", "cinder", "drift", "ember", "fjord", "glacier", "harbor"};
const char *const sim_departments[] = {"Lighting", "Comp", "FX", "Animation", "Lookdev", "Layout", "Crowd"};
const size_t sim_n_departments = sizeof(sim_departments) / sizeof(sim_departments[0]);
static const char *const department_codes[] = {"lgt", "comp", "fx", "anim", "lookdev", "layout", "cfx"};
/* Every OFF_CONVENTION_EVERY-th queue (index 9 mod 10) is named outside the convention. */
#define OFF_CONVENTION_EVERY 10
static const char *const fleet_names[] = {"Spot CPU", "On-demand CPU", "Workstations (CMF)", "Render “farm” 2"};
/* Every HOSTILE_RESOURCE_EVERY-th queue and the second fleet of a farm: quotes, backslashes, a newline, UTF-8 */
#define HOSTILE_RESOURCE_EVERY 5
static const char *const hostile_resource_names[] = {
	"%s %02zu \"Hero\" C:\\shots\\",
	"%s %02zu two\nlines",
	"%s %02zu Übergang 🎬 渲染",
	"%s %02zu\t} {\"a\":\"b\"}",
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Every JOB_HOSTILE_EVERY-th job gets one of these names; %zu is the job's index. */
#define JOB_HOSTILE_EVERY 9
static const char *const hostile_names[] = {
	"Final \"hero\" render \\ comp #%zu",
	"two\nlines #%zu",
	"tab\tseparated\tname #%zu",
	"Szene 3 – Übergang 🎬 渲染 #%zu",
	NULL, /* 128 ASCII characters */
	"ctl \x01\x02\x1f"
	" bell\a del\x7f #%zu",
	"job\"} 1\nfake_metric{a=\"b #%zu",
	"  padded #%zu  ",
	"#%zu C:\\render\\shot_010\\",
	"%%s%%n%%x {{.}} ${HOME} #%zu",
	"\r\ncrlf #%zu",
	"sep\u2028line\u2029para #%zu",
	NULL, /* 128 characters of three bytes each */
	"\\u0000 literal, \\\" escaped-looking #%zu",
};

int sim_derive_hex(uint64_t seed, const char *label, char out[SIM_HEX_ID_LEN + 1], uint8_t raw[SIM_HEX_ID_LEN / 2])
{
	static const char hex[] = "0123456789abcdef";
	char input[256];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	int n = snprintf(input, sizeof(input), "deadline-cloud-simulator/%" PRIu64 "/%s", seed, label);

	if (n < 0 || (size_t)n >= sizeof(input))
		return -EINVAL;
	if (!EVP_Digest(input, (size_t)n, digest, &digest_len, EVP_sha256(), NULL) || digest_len < SIM_HEX_ID_LEN / 2)
		return -EIO;
	for (size_t i = 0; i < SIM_HEX_ID_LEN / 2; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 0xf];
		if (raw)
			raw[i] = digest[i];
	}
	out[SIM_HEX_ID_LEN] = '\0';
	return 0;
}

int sim_derive_id(uint64_t seed, char *out, size_t outlen, const char *prefix, uint8_t *raw, const char *fmt, ...)
{
	char label[128], hex[SIM_HEX_ID_LEN + 1];
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(label, sizeof(label), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(label))
		return -EINVAL;
	r = sim_derive_hex(seed, label, hex, raw);
	if (r < 0)
		return r;
	n = snprintf(out, outlen, "%s%s", prefix, hex);
	if (n < 0 || (size_t)n >= outlen)
		return -EINVAL;
	return 0;
}

static uint64_t splitmix(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed, const char *stream)
{
	/* FNV-1a of the stream name keeps the streams independent: a new one never shifts another */
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (const char *p = stream; *p; p++) {
		h ^= (unsigned char)*p;
		h *= UINT64_C(0x100000001b3);
	}
	r->state = seed ^ h;
	(void)splitmix(&r->state);
}

uint64_t sim_rng_next(struct sim_rng *r)
{
	return splitmix(&r->state);
}

double sim_rng_unit(struct sim_rng *r)
{
	return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
	/* rejection keeps it uniform; the loop almost never runs twice */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;

	do {
		v = sim_rng_next(r);
	} while (v >= limit);
	return v % n;
}

char *sim_dup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* Exactly 128 characters: "#<index> " then filler (each filler character is fill_len bytes). */
static char *long_name(size_t index, const char *fill, size_t fill_len)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "#%zu ", index);
	size_t chars, len;
	char *s;

	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	chars = (size_t)n;
	s = malloc(JOB_NAME_MAX_BYTES);
	if (!s)
		return NULL;
	memcpy(s, head, chars);
	len = chars;
	for (; chars < 128; chars++) {
		memcpy(s + len, fill, fill_len);
		len += fill_len;
	}
	s[len] = '\0';
	return s;
}

/*
 * Most jobs follow the convention, with the show of their queue's production and, mostly, its department; some use
 * another department; some are named freely (OFF-convention forms a show regex may still half match).
 */
static char *conventional_job_name(struct sim_rng *rng, const struct sim_queue *q)
{
	/* four draws whatever the form, in this order, so a form never shifts the draws of the jobs after it */
	size_t show = (size_t)sim_rng_below(rng, sim_n_productions);
	unsigned shot = (unsigned)sim_rng_below(rng, 10000);
	unsigned kind = (unsigned)sim_rng_below(rng, 100);
	unsigned version = 1 + (unsigned)sim_rng_below(rng, 40);
	size_t dept = kind % sim_n_departments;

	if (q->production >= 0)
		show = (size_t)q->production;
	if (kind < 70 && q->department >= 0)
		dept = (size_t)q->department;
	if (kind < 85)
		return sim_dup_printf("%s_sh%04u_%s_v%03u", shows[show], shot, department_codes[dept], version);
	switch (kind % 3) {
	case 0:
		return sim_dup_printf("Turntable %s sh%04u", sim_productions[show], shot);
	case 1:
		return sim_dup_printf("%s-sh%04u-%s-v%03u", shows[show], shot, department_codes[dept], version);
	default:
		return sim_dup_printf("plate_ingest_%04u", shot);
	}
}

static char *job_name(struct sim_rng *rng, const struct sim_queue *q, size_t index)
{
	if (index % JOB_HOSTILE_EVERY == 4) {
		size_t h = (index / JOB_HOSTILE_EVERY) % N_OF(hostile_names);

		if (h == 4)
			return long_name(index, "x", 1);
		if (h == 12)
			return long_name(index, "長", strlen("長"));
			/* the format is one of ours, chosen from a fixed table */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		return sim_dup_printf(hostile_names[h], index);
#pragma GCC diagnostic pop
	}
	return conventional_job_name(rng, q);
}

/* A queue's name: hostile (index 2 mod 5), outside the convention (9 mod 10), or "Production - Department". */
static char *queue_name(struct sim_queue *q, size_t f, size_t i)
{
	q->production = -1;
	q->department = -1;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* a fixed table of formats */
	if (i % HOSTILE_RESOURCE_EVERY == 2)
		return sim_dup_printf(
			hostile_resource_names[i / HOSTILE_RESOURCE_EVERY % N_OF(hostile_resource_names)], "Queue", i);
#pragma GCC diagnostic pop
	if (i % OFF_CONVENTION_EVERY == 9) {
		/* near misses: no production at all, or an en dash where the convention has " - " */
		if (i / OFF_CONVENTION_EVERY % 2 == 0)
			return sim_dup_printf("Scratch queue %02zu", i);
		return sim_dup_printf("%s – %s", sim_productions[(f + i) % sim_n_productions],
			sim_departments[i % sim_n_departments]);
	}
	q->production = (int)((f * 3 + i / sim_n_departments) % sim_n_productions);
	q->department = (int)(i % sim_n_departments);
	return sim_dup_printf("%s - %s", sim_productions[q->production], sim_departments[q->department]);
}

static int build_farms(struct sim_world *w, size_t first_farm_queues, size_t first_farm_fleets)
{
	int r;

	for (size_t f = 0; f < SIM_FARMS; f++) {
		struct sim_farm *farm = &w->farms[f];

		r = sim_derive_id(w->seed, farm->id, sizeof(farm->id), "farm-", farm->raw_id, "farm/%zu", f);
		if (r < 0)
			return r;
		size_t n_queues = f == 0 && first_farm_queues ? first_farm_queues : farm_queues[f];
		size_t n_fleets = f == 0 && first_farm_fleets ? first_farm_fleets : sim_default_fleets[f];

		farm->queues = calloc(n_queues, sizeof(*farm->queues));
		farm->fleets = calloc(n_fleets, sizeof(*farm->fleets));
		if (!farm->queues || !farm->fleets)
			return -ENOMEM;
		farm->n_queues = n_queues;
		farm->n_fleets = n_fleets;
		for (size_t i = 0; i < farm->n_queues; i++) {
			struct sim_queue *q = &farm->queues[i];

			r = sim_derive_id(w->seed, q->id, sizeof(q->id), "queue-", NULL, "queue/%zu/%zu", f, i);
			if (r < 0)
				return r;
			q->display_name = queue_name(q, f, i);
			if (!q->display_name)
				return -ENOMEM;
			/* statuses: sim_inv.c, once the budgets are known */
			q->created_at = w->epoch - 200 * DAY_SECONDS + (int64_t)(f * 100 + i) * 3600;
		}
		for (size_t i = 0; i < farm->n_fleets; i++) {
			struct sim_fleet *fl = &farm->fleets[i];

			r = sim_derive_id(w->seed, fl->id, sizeof(fl->id), "fleet-", NULL, "fleet/%zu/%zu", f, i);
			if (r < 0)
				return r;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
			if (i == 1)
				fl->display_name = sim_dup_printf(
					hostile_resource_names[f % N_OF(hostile_resource_names)], "Fleet", i);
			else
				fl->display_name =
					sim_dup_printf("Fleet %02zu – %s", i, fleet_names[i % N_OF(fleet_names)]);
#pragma GCC diagnostic pop
			if (!fl->display_name)
				return -ENOMEM;
			fl->customer_managed = i % N_OF(fleet_names) == 2;
			/* status and sizes: sim_inv.c */
			fl->created_at = w->epoch - 190 * DAY_SECONDS + (int64_t)(f * 100 + i) * 3600;
		}
	}
	return 0;
}

static int build_users_and_jobs(struct sim_world *w, int64_t **job_offsets)
{
	struct sim_rng rng;
	size_t total_queues = 0;
	int r;

	w->jobs = calloc(w->n_jobs, sizeof(*w->jobs));
	*job_offsets = calloc(w->n_jobs, sizeof(**job_offsets));
	if (!w->jobs || !*job_offsets)
		return -ENOMEM;
	for (size_t f = 0; f < SIM_FARMS; f++)
		total_queues += w->farms[f].n_queues;

	sim_rng_seed(&rng, w->seed, "jobs");
	for (size_t i = 0; i < w->n_jobs; i++) {
		struct sim_job *j = &w->jobs[i];
		size_t q = (size_t)sim_rng_below(&rng, total_queues);
		double u = sim_rng_unit(&rng);

		r = sim_derive_id(w->seed, j->id, sizeof(j->id), "job-", NULL, "job/%zu", i);
		if (r < 0)
			return r;
		for (j->farm = 0; q >= w->farms[j->farm].n_queues; j->farm++)
			q -= w->farms[j->farm].n_queues;
		j->queue = (uint32_t)q;
		/* a few users submit most jobs */
		j->user = (uint32_t)((double)w->n_users * pow(sim_rng_unit(&rng), 2.0));
		if (j->user >= w->n_users)
			j->user = (uint32_t)(w->n_users - 1);
		/* squared: recent days are busier, so short windows ("today") have data */
		(*job_offsets)[i] = (int64_t)(u * u * (double)(HISTORY_SECONDS - 1));
		j->name = job_name(&rng, &w->farms[j->farm].queues[j->queue], i);
		if (!j->name)
			return -ENOMEM;
	}
	return 0;
}

static double round_ms(double seconds)
{
	return floor(seconds * 1000.0) / 1000.0;
}

double sim_session_rate(const struct sim_session *s)
{
	if (s->instance_type != SIM_NONE)
		return instance_rates[s->instance_type];
	if (s->license_product != SIM_NONE)
		return license_rates[s->license_product];
	return VOLUME_RATE;
}

/* The usage type (u: its uniform draw), instance type or license product, runtime and cost of s, fleet known. */
static void draw_usage(struct sim_rng *rng, double u, bool gpu_burst, struct sim_session *s)
{
	s->instance_type = SIM_NONE;
	s->license_product = SIM_NONE;
	if (gpu_burst) {
		s->usage_type = SIM_USAGE_GPU_BURST;
		s->instance_type =
			(uint8_t)(CPU_INSTANCE_TYPES + sim_rng_below(rng, sim_n_instance_types - CPU_INSTANCE_TYPES));
		s->runtime = round_ms(60.0 + 7200.0 * sim_rng_unit(rng));
	} else if (u < 0.7) {
		s->usage_type = SIM_USAGE_COMPUTE;
		/* each fleet runs two instance types */
		s->instance_type = (uint8_t)((s->fleet + 3 * sim_rng_below(rng, 2)) % CPU_INSTANCE_TYPES);
		u = sim_rng_unit(rng);
		s->runtime = round_ms(30.0 + 14400.0 * u * u);
	} else if (u < 0.9) {
		s->usage_type = SIM_USAGE_LICENSE;
		s->license_product = (uint8_t)sim_rng_below(rng, sim_n_license_products);
		u = sim_rng_unit(rng);
		s->runtime = round_ms(30.0 + 14400.0 * u * u);
	} else {
		s->usage_type = SIM_USAGE_PERSISTENT_VOLUME;
		s->runtime = round_ms(3600.0 + 86400.0 * sim_rng_unit(rng));
	}
	s->cost = s->runtime / 3600.0 * sim_session_rate(s);
}

void sim_session_draw(const struct sim_world *w, struct sim_rng *rng, size_t job, struct sim_session *s)
{
	const struct sim_job *j = &w->jobs[job];
	double u = sim_rng_unit(rng);

	s->job = (uint32_t)job;
	s->queue = j->queue;
	s->user = j->user;
	s->fleet = (uint32_t)sim_rng_below(rng, w->farms[j->farm].n_fleets);
	draw_usage(rng, u, false, s);
}

void sim_session_set_cost(struct sim_session *s, double cost)
{
	s->usage_type = SIM_USAGE_COMPUTE;
	s->license_product = SIM_NONE;
	s->instance_type = (uint8_t)(s->fleet % CPU_INSTANCE_TYPES);
	/* whole milliseconds as every runtime, so the cost is runtime x rate like the others' */
	s->runtime = round_ms(cost * 3600.0 / instance_rates[s->instance_type]);
	s->cost = s->runtime / 3600.0 * instance_rates[s->instance_type];
}

static void make_session(
	struct sim_world *w, struct sim_rng *rng, const int64_t *job_offsets, bool gpu_burst, struct sim_session *s)
{
	size_t job = (size_t)sim_rng_below(rng, w->n_jobs);
	const struct sim_job *j = &w->jobs[job];
	const struct sim_farm *farm = &w->farms[j->farm];
	int64_t offset = job_offsets[job];
	int64_t spread = offset < JOB_SPREAD_SECONDS ? offset : JOB_SPREAD_SECONDS;
	double u = sim_rng_unit(rng);

	s->job = (uint32_t)job;
	s->queue = j->queue;
	s->user = j->user;
	s->fleet = (uint32_t)sim_rng_below(rng, farm->n_fleets);
	/* a job's sessions run within a few days after it was submitted, never after the epoch */
	offset -= (int64_t)sim_rng_below(rng, (uint64_t)spread + 1);
	s->start = w->epoch - 1 - offset;
	draw_usage(rng, u, gpu_burst, s);
}

static int compare_sessions(const void *a, const void *b)
{
	const struct sim_session *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int build_sessions(struct sim_world *w, const struct sim_world_params *p, const int64_t *job_offsets)
{
	size_t n_extra = p->new_usage_type ? p->n_sessions / 20 + 1 : 0;
	size_t total = p->n_sessions + n_extra, filled[SIM_FARMS] = {0};
	struct sim_session *all;
	struct sim_rng rng, gpu_rng;

	if (total > UINT32_MAX)
		return -EINVAL;
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	sim_rng_seed(&rng, p->seed, "sessions");
	/* a stream of its own: --new-usage-type adds sessions without changing the others */
	sim_rng_seed(&gpu_rng, p->seed, "gpu-burst");
	for (size_t i = 0; i < total; i++) {
		bool extra = i >= p->n_sessions;

		make_session(w, extra ? &gpu_rng : &rng, job_offsets, extra, &all[i]);
		all[i].seq = (uint32_t)i;
		w->farms[w->jobs[all[i].job].farm].n_sessions++;
	}
	for (size_t f = 0; f < SIM_FARMS; f++) {
		w->farms[f].sessions =
			calloc(w->farms[f].n_sessions ? w->farms[f].n_sessions : 1, sizeof(struct sim_session));
		if (!w->farms[f].sessions) {
			free(all);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < total; i++) {
		size_t f = w->jobs[all[i].job].farm;

		w->farms[f].sessions[filled[f]++] = all[i];
	}
	free(all);
	for (size_t f = 0; f < SIM_FARMS; f++)
		qsort(w->farms[f].sessions, w->farms[f].n_sessions, sizeof(struct sim_session), compare_sessions);
	return 0;
}

int sim_world_new(struct sim_world **out, const struct sim_world_params *params)
{
	struct sim_world *w;
	int64_t *job_offsets = NULL;
	int r;

	*out = NULL;
	if (params->n_jobs == 0 || params->n_users == 0 || params->n_jobs > UINT32_MAX || params->n_users > UINT32_MAX)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->seed = params->seed;
	w->epoch = params->epoch;
	w->new_usage_type = params->new_usage_type;
	w->n_jobs = params->n_jobs;
	w->n_users = params->n_users;

	r = build_farms(w, params->first_farm_queues, params->first_farm_fleets);
	if (r < 0)
		goto out;
	r = build_users_and_jobs(w, &job_offsets);
	if (r < 0)
		goto out;
	r = build_sessions(w, params, job_offsets);
	if (r < 0)
		goto out;
	r = sim_inventory_build(w); /* the users, and budgets from the sessions' costs */
out:
	free(job_offsets);
	if (r < 0) {
		sim_world_free(w);
		return r;
	}
	*out = w;
	return 0;
}

void sim_world_free(struct sim_world *w)
{
	if (!w)
		return;
	for (size_t f = 0; f < SIM_FARMS; f++) {
		struct sim_farm *farm = &w->farms[f];

		for (size_t i = 0; farm->queues && i < farm->n_queues; i++)
			free(farm->queues[i].display_name);
		for (size_t i = 0; farm->fleets && i < farm->n_fleets; i++)
			free(farm->fleets[i].display_name);
		free(farm->queues);
		free(farm->fleets);
		free(farm->sessions);
	}
	for (size_t i = 0; w->jobs && i < w->n_jobs; i++)
		free(w->jobs[i].name);
	free(w->jobs);
	sim_inventory_free(w);
	free(w);
}

int sim_world_find_farm(const struct sim_world *w, const char *farm_id)
{
	for (int f = 0; f < SIM_FARMS; f++) {
		if (strcmp(w->farms[f].id, farm_id) == 0)
			return f;
	}
	return -1;
}

long sim_farm_find_queue(const struct sim_farm *f, const char *queue_id)
{
	for (size_t i = 0; i < f->n_queues; i++) {
		if (strcmp(f->queues[i].id, queue_id) == 0)
			return (long)i;
	}
	return -1;
}

long sim_farm_find_fleet(const struct sim_farm *f, const char *fleet_id)
{
	for (size_t i = 0; i < f->n_fleets; i++) {
		if (strcmp(f->fleets[i].id, fleet_id) == 0)
			return (long)i;
	}
	return -1;
}

/* The first of the n sessions (sorted by start) starting at or after t (UTC seconds). */
static size_t first_at(const struct sim_session *s, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s[mid].start < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void sim_session_cursor_init(struct sim_session_cursor *c, const struct sim_session *a, size_t na,
	const struct sim_session *b, size_t nb, int64_t first_second)
{
	c->a = a;
	c->na = na;
	c->b = b;
	c->nb = nb;
	c->ia = first_at(a, na, first_second);
	c->ib = first_at(b, nb, first_second);
}

const struct sim_session *sim_session_cursor_next(struct sim_session_cursor *c)
{
	const struct sim_session *x = c->ia < c->na ? &c->a[c->ia] : NULL;
	const struct sim_session *y = c->ib < c->nb ? &c->b[c->ib] : NULL;

	if (x && (!y || compare_sessions(x, y) <= 0)) {
		c->ia++;
		return x;
	}
	if (y)
		c->ib++;
	return y;
}
