/* sim_token: opaque, tamper-evident pagination tokens (base64 of a MAC'd binary record) */
#pragma once

#include <stdint.h>

/*
 * A token is the standard base64 (with '+', '/' and '=' padding) of 34 bytes: the magic
 * fb ff bf (so every token starts with "+/+/"), a version, the kind, a reserved byte, the offset
 * (big-endian), the 16 bytes it is bound to (aggregation id or farm id) and the first 8 bytes of
 * an HMAC-SHA256 over all that. 34 bytes make 48 characters ending in "==".
 */
#define SIM_TOKEN_LEN 48
#define SIM_TOKEN_BINDING_LEN 16

enum sim_token_kind {
	SIM_TOKEN_AGGREGATION = 1,
	SIM_TOKEN_QUEUES = 2,
	SIM_TOKEN_FLEETS = 3,
	SIM_TOKEN_BUDGETS = 4,
	SIM_TOKEN_WORKERS = 5,
	SIM_TOKEN_ASSOCIATIONS = 6,
	SIM_TOKEN_LIMITS = 7,
	SIM_TOKEN_LICENSE_ENDPOINTS = 8,
};

struct sim_token_key {
	uint8_t key[32];
};

/* Derives the MAC key from the seed. Returns 0 or -EIO. */
int sim_token_key_init(struct sim_token_key *k, uint64_t seed);

/* Writes the token (NUL-terminated) for the rows from offset on. Returns 0 or -EIO. */
int sim_token_encode(const struct sim_token_key *k, enum sim_token_kind kind,
	const uint8_t binding[SIM_TOKEN_BINDING_LEN], uint32_t offset, char out[SIM_TOKEN_LEN + 1]);

/*
 * Checks a token received for kind and binding and yields its offset. Returns 0, or -EINVAL for
 * anything else: wrong length or alphabet, non-canonical base64, other kind or binding, bad MAC.
 */
int sim_token_decode(const struct sim_token_key *k, const char *token, enum sim_token_kind kind,
	const uint8_t binding[SIM_TOKEN_BINDING_LEN], uint32_t *offset);
