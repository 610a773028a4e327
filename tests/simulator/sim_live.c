/* sim_live: the farm's workers, queue-fleet associations, limits and license endpoints by step */
#include "sim_activity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_time.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
/* How far back a worker's arrival is looked for: more than one whole cycle of any fleet (sim_inv.c) */
#define SCAN_STEPS 256
/* A SUSPENDED fleet still lists the workers it stopped. */
#define SUSPENDED_STOPPED_WORKERS 3
/* The first six of sim_instance_types are the CPU ones (sim_data.c): a fleet runs two of them. */
#define CPU_INSTANCE_TYPES 6
#define ACCOUNT "123456789012"
#define HOUR_MS (3600 * SIM_MS_PER_SECOND)

const char *const sim_worker_status_names[SIM_WORKER_STATUS_COUNT] = {
	[SIM_WORKER_CREATED] = "CREATED",
	[SIM_WORKER_STARTED] = "STARTED",
	[SIM_WORKER_STOPPING] = "STOPPING",
	[SIM_WORKER_STOPPED] = "STOPPED",
	[SIM_WORKER_NOT_RESPONDING] = "NOT_RESPONDING",
	[SIM_WORKER_NOT_COMPATIBLE] = "NOT_COMPATIBLE",
	[SIM_WORKER_RUNNING] = "RUNNING",
	[SIM_WORKER_IDLE] = "IDLE",
};

const char *const sim_task_status_names[SIM_TASK_STATUS_COUNT] = {
	[SIM_TASK_PENDING] = "PENDING",
	[SIM_TASK_READY] = "READY",
	[SIM_TASK_ASSIGNED] = "ASSIGNED",
	[SIM_TASK_STARTING] = "STARTING",
	[SIM_TASK_SCHEDULED] = "SCHEDULED",
	[SIM_TASK_INTERRUPTING] = "INTERRUPTING",
	[SIM_TASK_RUNNING] = "RUNNING",
	[SIM_TASK_SUSPENDED] = "SUSPENDED",
	[SIM_TASK_CANCELED] = "CANCELED",
	[SIM_TASK_FAILED] = "FAILED",
	[SIM_TASK_SUCCEEDED] = "SUCCEEDED",
	[SIM_TASK_NOT_COMPATIBLE] = "NOT_COMPATIBLE",
};

int sim_task_status_parse(const char *s)
{
	for (int i = 0; i < SIM_TASK_STATUS_COUNT; i++) {
		if (strcmp(s, sim_task_status_names[i]) == 0)
			return i;
	}
	return -1;
}

uint64_t sim_live_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
	struct sim_rng r = {.state = seed};
	uint64_t h = sim_rng_next(&r);

	/* one round per input, so that (a, b) and (b, a) differ */
	r.state = h ^ a;
	h = sim_rng_next(&r);
	r.state = h ^ b;
	h = sim_rng_next(&r);
	r.state = h ^ c;
	return sim_rng_next(&r);
}

static int64_t step_ms(const struct sim_state *st)
{
	return (int64_t)st->config->activity_step_s * SIM_MS_PER_SECOND;
}

static void timestamp_json(struct sim_json *j, const char *key, int64_t ms)
{
	char text[SIM_RFC3339_SIZE];

	sim_rfc3339_format(ms, text);
	sim_json_kv_string(j, key, text);
}

/* ---- workers ---- */

/* How many workers the fleet lists at step. */
static int fleet_size(const struct sim_state *st, const struct sim_fleet *fl, uint64_t step)
{
	struct sim_fleet_now now;

	if (!fl->scaling)
		return strcmp(fl->status, "SUSPENDED") == 0 ? SUSPENDED_STOPPED_WORKERS : 0;
	if (st->config->workers_per_fleet)
		return (int)st->config->workers_per_fleet;
	/* the inventory's workerCount at the same step, so ListFleets and ListWorkers agree on one clock */
	sim_fleet_at(fl, step, &now);
	return now.workers;
}

/* The step slot joined the fleet in its current stay, or -1 when it has been there since before the scan. */
static int64_t slot_since(const struct sim_state *st, const struct sim_fleet *fl, uint32_t slot, uint64_t step)
{
	for (uint64_t d = 1; d <= SCAN_STEPS && d <= step; d++) {
		if ((int)slot >= fleet_size(st, fl, step - d))
			return (int64_t)(step - d + 1);
	}
	return -1;
}

/* Fleets with workers that stop answering: the second fleet of farm 0 and the first of farm 1. */
static bool flaky_fleet(size_t farm, size_t fleet)
{
	return (farm == 0 && fleet == 1) || (farm == 1 && fleet == 0);
}

static enum sim_worker_status worker_status(
	const struct sim_state *st, size_t farm, size_t fleet, uint32_t slot, uint64_t step, int64_t since)
{
	const struct sim_fleet *fl = &st->world->farms[farm].fleets[fleet];

	if (!fl->scaling)
		return SIM_WORKER_STOPPED;
	/* the highest slots go first when the fleet shrinks at the next step */
	if ((int)slot >= fleet_size(st, fl, step + 1))
		return SIM_WORKER_STOPPING;
	if (since >= 0 && (uint64_t)since == step)
		return SIM_WORKER_CREATED;
	if (since >= 0 && (uint64_t)since + 1 == step)
		return SIM_WORKER_STARTED;
	/* a workstation of a customer-managed fleet without the software its queues need */
	if (fl->customer_managed && slot == 0)
		return SIM_WORKER_NOT_COMPATIBLE;
	if (flaky_fleet(farm, fleet) && slot % 4 == 1)
		return SIM_WORKER_NOT_RESPONDING;
	return sim_live_hash(st->world->seed, farm << 16 | fleet, slot, step / 2) % 10 < 7 ? SIM_WORKER_RUNNING
											   : SIM_WORKER_IDLE;
}

int sim_fleet_workers(
	const struct sim_state *st, size_t farm, size_t fleet, uint64_t step, struct sim_worker **out, size_t *n)
{
	const struct sim_fleet *fl = &st->world->farms[farm].fleets[fleet];
	int size = fleet_size(st, fl, step);
	int64_t epoch_ms = st->world->epoch * SIM_MS_PER_SECOND;

	*n = 0;
	*out = calloc(size > 0 ? (size_t)size : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (uint32_t slot = 0; slot < (uint32_t)size; slot++) {
		struct sim_worker *wk = &(*out)[slot];
		int64_t since = fl->scaling ? slot_since(st, fl, slot, step) : -1;
		/* a slot filled again later is another worker */
		uint64_t h1 = sim_live_hash(st->world->seed, farm << 16 | fleet, slot, (uint64_t)(since + 1));
		uint64_t h2 = sim_live_hash(h1, farm, fleet, slot);

		snprintf(wk->id, sizeof(wk->id), "worker-%016llx%016llx", (unsigned long long)h1,
			(unsigned long long)h2);
		wk->slot = slot;
		wk->status = worker_status(st, farm, fleet, slot, step, since);
		if (!fl->scaling)
			wk->created_ms = epoch_ms - 72 * HOUR_MS - (int64_t)slot * 60 * SIM_MS_PER_SECOND;
		else if (since >= 0)
			wk->created_ms = epoch_ms + since * step_ms(st) + (int64_t)(slot * 997) % step_ms(st);
		else
			wk->created_ms = epoch_ms - HOUR_MS * (1 + slot % 24) - (int64_t)slot * SIM_MS_PER_SECOND;
		(*n)++;
	}
	return 0;
}

static void host_properties_json(
	struct sim_json *j, const struct sim_state *st, size_t farm, size_t fleet, const struct sim_worker *wk)
{
	const struct sim_fleet *fl = &st->world->farms[farm].fleets[fleet];
	unsigned a = (unsigned)farm + 1, b = (unsigned)(fleet * 4 + wk->slot / 256), c = wk->slot % 256;
	char ip[32], text[160];

	snprintf(ip, sizeof(ip), "10.%u.%u.%u", a, b, c);
	sim_json_string(j, "hostProperties");
	sim_json_map_open(j);
	sim_json_string(j, "ipAddresses");
	sim_json_map_open(j);
	sim_json_string(j, "ipV4Addresses");
	sim_json_array_open(j);
	sim_json_string(j, ip);
	sim_json_array_close(j);
	if (fl->customer_managed) {
		snprintf(text, sizeof(text), "FD00:0:0:0:0:%X:%X:%X", a, b, c);
		sim_json_string(j, "ipV6Addresses");
		sim_json_array_open(j);
		sim_json_string(j, text);
		sim_json_array_close(j);
	}
	sim_json_map_close(j);
	if (fl->customer_managed) {
		snprintf(text, sizeof(text), "ws-%zu%zu-%03u.studio.example", farm, fleet, wk->slot);
		sim_json_kv_string(j, "hostName", text);
	} else {
		snprintf(text, sizeof(text), "ip-10-%u-%u-%u", a, b, c);
		sim_json_kv_string(j, "hostName", text);
		snprintf(text, sizeof(text), "arn:aws:ec2:%.32s:" ACCOUNT ":instance/i-%.17s", st->config->region,
			wk->id + 7);
		sim_json_kv_string(j, "ec2InstanceArn", text);
		sim_json_kv_string(
			j, "ec2InstanceType", sim_instance_types[(fleet + 3 * (wk->slot % 2)) % CPU_INSTANCE_TYPES]);
	}
	sim_json_map_close(j);
}

void sim_worker_json(
	struct sim_json *j, const struct sim_state *st, size_t farm, size_t fleet, const struct sim_worker *wk)
{
	const struct sim_farm *f = &st->world->farms[farm];

	sim_json_map_open(j);
	sim_json_kv_string(j, "farmId", f->id);
	sim_json_kv_string(j, "fleetId", f->fleets[fleet].id);
	sim_json_kv_string(j, "workerId", wk->id);
	/* a worker only just created has not reported its host yet */
	if (wk->status != SIM_WORKER_CREATED)
		host_properties_json(j, st, farm, fleet, wk);
	sim_json_kv_string(j, "status", sim_worker_status_names[wk->status]);
	timestamp_json(j, "createdAt", wk->created_ms);
	sim_json_kv_string(j, "createdBy", "arn:aws:sts::" ACCOUNT ":assumed-role/DeadlineFleetRole/worker");
	sim_json_map_close(j);
}

/* ---- queue-fleet associations ---- */

bool sim_queue_stalled(const struct sim_world *w, size_t farm, size_t queue)
{
	/* farm 0's first queue has no association at all; two queues that could schedule have none ACTIVE */
	if (farm == 0 && queue == 0)
		return true;
	if (farm >= SIM_FARMS || queue >= w->farms[farm].n_queues ||
		strcmp(w->farms[farm].queues[queue].status, "SCHEDULING") != 0)
		return false;
	return (farm == 0 && queue == 4) || (farm == 1 && queue == 2);
}

static const char *const cycling_statuses[] = {"ACTIVE", "STOP_SCHEDULING_AND_COMPLETE_TASKS", "STOPPED"};
#define CYCLE_STEPS 6

/* The status of the queue's second association (the first is ACTIVE unless the queue is stalled). */
static const char *second_status(size_t farm, size_t q, uint64_t step, bool *cycling)
{
	*cycling = farm == 1 && q == 1;
	if (*cycling)
		return cycling_statuses[step / CYCLE_STEPS % N_OF(cycling_statuses)];
	if (q % 6 == 5)
		return "STOP_SCHEDULING_AND_COMPLETE_TASKS";
	if (q % 7 == 6)
		return "STOPPED";
	return "ACTIVE";
}

int sim_farm_associations(
	const struct sim_state *st, size_t farm, uint64_t step, struct sim_association **out, size_t *n)
{
	const struct sim_world *w = st->world;
	const struct sim_farm *f = &w->farms[farm];
	int64_t epoch_ms = w->epoch * SIM_MS_PER_SECOND;

	*n = 0;
	*out = calloc(2 * f->n_queues + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t q = 0; q < f->n_queues && f->n_fleets; q++) {
		bool stalled = sim_queue_stalled(w, farm, q), cycling = false;
		int64_t created = f->queues[q].created_at * SIM_MS_PER_SECOND;
		struct sim_association *a;

		if (farm == 0 && q == 0)
			continue;
		a = &(*out)[(*n)++];
		*a = (struct sim_association){(uint32_t)q, (uint32_t)(q % f->n_fleets), stalled ? "STOPPED" : "ACTIVE",
			created + HOUR_MS, stalled ? epoch_ms - 2 * HOUR_MS : -1};
		if (f->n_fleets < 2)
			continue;
		a = &(*out)[(*n)++];
		*a = (struct sim_association){(uint32_t)q, (uint32_t)((q + 1) % f->n_fleets),
			stalled ? "STOP_SCHEDULING_AND_CANCEL_TASKS" : second_status(farm, q, step, &cycling),
			created + 2 * HOUR_MS, -1};
		if (cycling && step >= CYCLE_STEPS)
			a->updated_ms = epoch_ms + (int64_t)(step - step % CYCLE_STEPS) * step_ms(st);
		else if (strcmp(a->status, "ACTIVE") != 0)
			a->updated_ms = epoch_ms - HOUR_MS * (int64_t)(1 + q % 5);
	}
	return 0;
}

void sim_association_json(struct sim_json *j, const struct sim_state *st, size_t farm, const struct sim_association *a)
{
	const struct sim_farm *f = &st->world->farms[farm];

	sim_json_map_open(j);
	sim_json_kv_string(j, "queueId", f->queues[a->queue].id);
	sim_json_kv_string(j, "fleetId", f->fleets[a->fleet].id);
	sim_json_kv_string(j, "status", a->status);
	timestamp_json(j, "createdAt", a->created_ms);
	sim_json_kv_string(j, "createdBy", st->world->users[0].id);
	if (a->updated_ms >= 0) {
		timestamp_json(j, "updatedAt", a->updated_ms);
		sim_json_kv_string(j, "updatedBy", st->world->users[1 % st->world->n_users].id);
	}
	sim_json_map_close(j);
}

/* ---- limits ---- */

/* A limit of a farm: current = base + step % cycle (cycle 0: base, always). */
struct limit_def {
	size_t farm;
	const char *name, *amount;
	long long max, base, cycle;
};

/* clang-format off */
static const struct limit_def limit_defs[] = {
	{0, "Maya \"batch\" licenses", "amount.limit.maya", 10, 10, 0},        /* always at its maximum */
	{0, "Nuke \\\\comp\nseats", "amount.limit.nuke", 5, 0, 5},              /* 0..4: below */
	{0, "Houdini engine – 渲染 🎬", "amount.limit.houdini", -1, 3, 7},       /* unlimited */
	{0, "GPU slots {\"a\":\"b\"}", "amount.limit.gpu", 8, 0, 9},            /* 0..8: at its maximum one step in 9 */
	{1, "Disabled \"zero\" seats", "amount.limit.disabled", 0, 0, 0},       /* 0 of 0: at its maximum */
	{1, "Arnold", "amount.limit.arnold", 20, 7, 5},                         /* 7..11 */
};
/* clang-format on */

int sim_farm_limits(const struct sim_state *st, size_t farm, uint64_t step, struct sim_limit *out)
{
	const struct sim_farm *f = &st->world->farms[farm];
	int n = 0;

	for (size_t i = 0; i < N_OF(limit_defs) && n < SIM_LIMITS_MAX; i++) {
		const struct limit_def *d = &limit_defs[i];
		struct sim_limit *l = &out[n];

		if (d->farm != farm)
			continue;
		if (sim_derive_id(st->world->seed, l->id, sizeof(l->id), "limit-", NULL, "limit/%zu/%zu", farm, i) < 0)
			return -EIO;
		l->name = d->name;
		l->amount_requirement = d->amount;
		l->max_count = d->max;
		l->current_count = d->base + (d->cycle ? (long long)(step % (uint64_t)d->cycle) : 0);
		l->created_ms = (f->created_at + 86400 * (int64_t)(1 + i)) * SIM_MS_PER_SECOND;
		l->updated_ms = d->cycle ? -1 : l->created_ms + HOUR_MS;
		n++;
	}
	return n;
}

void sim_limit_json(struct sim_json *j, const struct sim_state *st, size_t farm, const struct sim_limit *l)
{
	sim_json_map_open(j);
	sim_json_kv_string(j, "farmId", st->world->farms[farm].id);
	sim_json_kv_string(j, "limitId", l->id);
	sim_json_kv_int(j, "currentCount", l->current_count);
	timestamp_json(j, "createdAt", l->created_ms);
	sim_json_kv_string(j, "createdBy", st->world->users[0].id);
	if (l->updated_ms >= 0) {
		timestamp_json(j, "updatedAt", l->updated_ms);
		sim_json_kv_string(j, "updatedBy", st->world->users[0].id);
	}
	sim_json_kv_string(j, "displayName", l->name);
	sim_json_kv_string(j, "amountRequirementName", l->amount_requirement);
	sim_json_kv_int(j, "maxCount", l->max_count);
	sim_json_map_close(j);
}

/* ---- license endpoints ---- */

#define FLIP_STEPS 20

static const struct {
	const char *status, *message;
} license_endpoint_defs[] = {
	{"READY", "The license endpoint is ready (simulated)"},
	{"NOT_READY", "The license endpoint's security group blocks the license ports (simulated)"},
	{"CREATE_IN_PROGRESS", "Creating the VPC endpoints (simulated)"},
	{"DELETE_IN_PROGRESS", "Deleting the VPC endpoints (simulated)"},
	{NULL, NULL}, /* READY and NOT_READY in turn, FLIP_STEPS steps each */
};

int sim_license_endpoints(const struct sim_state *st, uint64_t step, struct sim_license_endpoint *out)
{
	const char *region = st->config->region;
	char hex[SIM_HEX_ID_LEN + 1];
	int n = 0;

	for (size_t i = 0; i < N_OF(license_endpoint_defs) && n < SIM_LICENSE_ENDPOINTS_MAX; i++, n++) {
		struct sim_license_endpoint *le = &out[n];
		bool ready = step / FLIP_STEPS % 2 == 0;

		if (sim_derive_id(st->world->seed, le->id, sizeof(le->id), "le-", NULL, "license-endpoint/%.64s/%zu",
			    region, i) < 0 ||
			sim_derive_id(st->world->seed, hex, sizeof(hex), "", NULL, "vpc/%.64s/%zu", region, i) < 0)
			return -EIO;
		snprintf(le->vpc_id, sizeof(le->vpc_id), "vpc-%.17s", hex);
		le->status = license_endpoint_defs[i].status;
		le->status_message = license_endpoint_defs[i].message;
		if (!le->status) {
			le->status = ready ? "READY" : "NOT_READY";
			le->status_message = ready ? "The license endpoint is ready (simulated)"
						   : "The license servers do not answer (simulated)";
		}
	}
	return n;
}

void sim_license_endpoint_json(struct sim_json *j, const struct sim_license_endpoint *le)
{
	sim_json_map_open(j);
	sim_json_kv_string(j, "licenseEndpointId", le->id);
	sim_json_kv_string(j, "status", le->status);
	sim_json_kv_string(j, "statusMessage", le->status_message);
	sim_json_kv_string(j, "vpcId", le->vpc_id);
	sim_json_map_close(j);
}
