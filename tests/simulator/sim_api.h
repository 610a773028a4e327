/* sim_api: the Deadline Cloud operations, the error and fault answers, and the /__sim/ control paths */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sim_state.h"

/* An answer, independent of the HTTP library. */
struct sim_response {
	unsigned status;
	char *body; /* malloc'd, or NULL for none */
	size_t body_len;
	const char *content_type; /* static */
	char error_type[128]; /* x-amzn-ErrorType, or "" */
	int retry_after; /* Retry-After seconds, or -1 */
	const char *allow; /* Allow header (405), or NULL */
	int special; /* SIM_SPECIAL_*: how the answer is sent */
	double stall_seconds; /* SIM_SPECIAL_STALL */
};

enum {
	SIM_SPECIAL_NONE,
	SIM_SPECIAL_RESET, /* the status, headers and the body, with a longer Content-Length; then closed */
	SIM_SPECIAL_STALL, /* the same, then nothing for stall_seconds, then closed */
	SIM_SPECIAL_CLOSE, /* closed without an answer */
};

void sim_response_deinit(struct sim_response *r);

/* Starts a JSON body; false (r answered with a 500) when out of memory. */
bool sim_response_json_begin(struct sim_json *j, struct sim_response *r);
/* Takes the generator's text as r's body with status, then frees the generator (a 500 on failure). */
void sim_response_json_finish(struct sim_json *j, struct sim_response *r, unsigned status);
/* A 500 for a failure of the simulator itself (what is logged). */
void sim_response_internal_failure(struct sim_response *r, const char *what);

#define SIM_QUERY_MAX 32

/* A query string, split and percent-decoded ('+' as space, as AWS services read it). */
struct sim_query {
	struct {
		char *key;
		char *value;
	} params[SIM_QUERY_MAX];
	size_t n;
};

/* raw: the query as sent, without '?' (NULL for none). Returns 0, -EINVAL (bad encoding, too many), -ENOMEM. */
int sim_query_parse(const char *raw, struct sim_query *q);
void sim_query_deinit(struct sim_query *q);
/* The first value of key, or NULL. */
const char *sim_query_get(const struct sim_query *q, const char *key);

/* Decodes %XX (and '+' as space when plus_is_space); NUL bytes are refused. Returns a malloc'd string or NULL. */
char *sim_percent_decode(const char *s, size_t len, bool plus_is_space);

/* The details an AWS error may carry. Any member may be NULL / -1. */
struct sim_error_detail {
	const char *reason; /* ValidationException.reason */
	const char *field; /* one fieldList entry */
	const char *resource_id; /* ResourceNotFoundException */
	const char *resource_type;
	int retry_after;
};

/*
 * Fills r with an AWS JSON error: x-amzn-ErrorType (sometimes with the ":<url>" suffix), a body
 * with "message", the detail members and, every other time, "__type".
 */
void sim_api_error(struct sim_state *st, struct sim_response *r, unsigned status, const char *name,
	const struct sim_error_detail *detail, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* An injected fault's answer. */
void sim_api_fault(struct sim_state *st, enum sim_fault f, struct sim_response *r);

/* The operations; farm is a valid farm index. */
void sim_api_start(struct sim_state *st, size_t farm, const char *body, size_t body_len, enum sim_agg_status forced,
	struct sim_response *r);

/* Targeted faults. The modes that answer in place of the operation (taken before it is served): */
unsigned sim_api_targeted_pre_modes(enum sim_op op);
/* ...and those that change a 200 answer of the operation (taken after): */
unsigned sim_api_targeted_post_modes(enum sim_op op);
/*
 * Answers a fault taken before the operation; returns false when the operation is still to be
 * served (failed, timeout: *forced is set; expire: the aggregation is expired now).
 */
bool sim_api_targeted_answer(struct sim_state *st, const struct sim_targeted *tf, enum sim_op op, size_t farm,
	const struct sim_query *q, enum sim_agg_status *forced, struct sim_response *r);
/* Changes the 200 answer r of op as tf says. */
void sim_api_targeted_transform(
	struct sim_state *st, const struct sim_targeted *tf, enum sim_op op, struct sim_response *r);
/* Answers a Get or List that carries a nextToken made by a fault (repeat_token, endless_pages); false otherwise. */
bool sim_api_fault_token(struct sim_state *st, enum sim_op op, const struct sim_query *q, struct sim_response *r);
void sim_api_get(struct sim_state *st, size_t farm, const struct sim_query *q, struct sim_response *r);

/* A 400 ValidationException with reason and one fieldList entry (field may be NULL). */
void sim_api_validation_error(
	struct sim_state *st, struct sim_response *r, const char *reason, const char *field, const char *message);
/* maxResults: absent = 100, else 1..100, then capped by --page-size-cap. Returns false (r answered) when invalid. */
bool sim_api_page_size(struct sim_state *st, const struct sim_query *q, struct sim_response *r, size_t *out);
/* nextToken: absent or "" = 0, else a token of kind for binding below limit. Returns 0 or -EINVAL (nothing answered).
 */
int sim_api_page_offset(struct sim_state *st, const struct sim_query *q, enum sim_token_kind kind,
	const uint8_t *binding, size_t limit, size_t *out);
/* The 400 for a bad nextToken. */
void sim_api_invalid_token(struct sim_state *st, struct sim_response *r);
/* Writes "nextToken" for the items from next on, unless next >= total. Returns false when no token could be made. */
bool sim_api_next_token_json(struct sim_state *st, struct sim_json *j, enum sim_token_kind kind, const uint8_t *binding,
	size_t next, size_t total);

/* The inventory (sim_inventory.c): ListQueues, ListFleets, ListBudgets (op says which), GetFarm, GetBudget. */
void sim_api_list(struct sim_state *st, size_t farm, enum sim_op op, const struct sim_query *q, struct sim_response *r);
void sim_api_get_farm(struct sim_state *st, size_t farm, struct sim_response *r);
/* budget_id: the path segment, percent-decoded. */
void sim_api_get_budget(struct sim_state *st, size_t farm, const char *budget_id, struct sim_response *r);
/* GET /__sim/inventory (everything the inventory operations serve now) and POST (pin the clock). */
void sim_inventory_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r);

/* The identity store (sim_identity.c). DescribeUser: target and content_type as sent (NULL when absent). */
void sim_identity_serve(struct sim_state *st, const char *target, const char *content_type, const char *body,
	size_t body_len, struct sim_response *r);
/* Whether s matches the identity store's ResourceId (and Deadline Cloud's principalId): ([0-9a-f]{10}-|)UUID. */
bool sim_resource_id_valid(const char *s);
/* Rewrites an error answered by the Deadline Cloud code (the signature checks) in the JSON 1.1 shape. */
void sim_identity_reshape_error(struct sim_response *r);
/* GET /__sim/identity (the store, its users, DescribeUser calls per user) and POST (throttling). */
void sim_identity_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r);

/* Live sessions (sim_spend.c). GET /__sim/sessions: a farm's records, history and live, in session order. */
void sim_spend_sessions(struct sim_state *st, const struct sim_query *q, struct sim_response *r);
/* GET /__sim/spend (the schedule, live sessions per farm) and POST (a burst). */
void sim_spend_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r);
/* Under lock: the farm's live sessions that have started (the schedule caught up). */
size_t sim_spend_count(struct sim_state *st, size_t farm);

/*
 * A /__sim/ control path (path without the query). Returns true when path is one (r filled,
 * 405 for a wrong method), false for an unknown path.
 */
bool sim_control(struct sim_state *st, const char *method, const char *path, const struct sim_query *q,
	const char *body, size_t body_len, struct sim_response *r);

/* A control path's error: status and {"message": …}. */
void sim_control_error(struct sim_response *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The x-amzn-RequestId of the next response (deterministic per seed and order). */
void sim_api_request_id(struct sim_state *st, char out[37]);
