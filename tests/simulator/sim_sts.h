/* sim_sts: STS GetCallerIdentity (Query protocol, XML answers), so that a client learns whose keys it signs with */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "sim_state.h"

struct sim_response;

/* Whether a POST / is for STS (a form, no X-Amz-Target) rather than the identity store; both as sent, or NULL. */
bool sim_sts_request(const char *target, const char *content_type);

/*
 * Answers the form body (signature already checked; slot: whose keys signed it, -1 unchecked): GetCallerIdentity
 * with that slot's account and principal (as XML, as STS answers it); any other Action or Version is 400
 * InvalidAction, a form that cannot be decoded 400 MalformedQueryString.
 */
void sim_sts_serve(struct sim_state *st, int slot, const char *body, size_t body_len, struct sim_response *r);

/* Rewrites an error of the signature checks (Deadline Cloud's JSON) as STS's XML: SignatureDoesNotMatch, … */
void sim_sts_reshape_error(struct sim_state *st, struct sim_response *r);
