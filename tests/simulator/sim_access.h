/* sim_access: who may call what: the keys each account accepts, the farms' accounts, operations denied by IAM */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_data.h"

#define SIM_ACCOUNT_ID_LEN 12
/* The account of the default credentials (--access-key-id) and, unless --farm-accounts says otherwise, of every farm */
#define SIM_HOME_ACCOUNT "123456789012"
#define SIM_HOME_PRINCIPAL "arn:aws:iam::" SIM_HOME_ACCOUNT ":user/simulator"
/* The default slot and one per account (the farms' and the identity store's, and a spare) */
#define SIM_KEY_SLOTS (SIM_FARMS + 3)
#define SIM_PRINCIPAL_MAX 256

/* Credentials as accepted now; "previous" ones (after a rotation) get ExpiredTokenException. */
struct sim_credentials {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[2048]; /* "" when none is required */
};

/*
 * The keys one account accepts. Slot 0 holds the default credentials, of the home account: a farm whose account
 * has no slot of its own accepts them, as when the caller's account owns every farm. Once an account has a slot,
 * its farms accept only that slot's keys (those of the role assumed in it).
 */
struct sim_key_slot {
	bool used;
	char account[SIM_ACCOUNT_ID_LEN + 1];
	char principal[SIM_PRINCIPAL_MAX]; /* the caller's ARN in AccessDeniedException messages */
	struct sim_credentials current, previous;
	bool have_previous;
	double expires; /* UTC seconds after which the current keys are expired; 0: never */
};

struct sim_keyring {
	struct sim_key_slot slots[SIM_KEY_SLOTS];
};

/* The slot and set that an access key id belongs to (sim_keyring_secret). */
struct sim_key_match {
	int slot; /* -1: no slot has the key; SIM_KEY_UNSEEN: no key was looked up (no usable signature) */
	bool previous;
};
#define SIM_KEY_UNSEEN (-2)

/* Under the state's lock (sim_state.access). */
struct sim_access {
	struct sim_keyring keys;
	char farm_account[SIM_FARMS][SIM_ACCOUNT_ID_LEN + 1];
	char identity_account[SIM_ACCOUNT_ID_LEN + 1];
	uint64_t denied_everywhere; /* bits of enum sim_op: denied on every farm (and the identity store) */
	uint64_t denied[SIM_FARMS]; /* ... on this farm */
	uint64_t access_denied; /* answers of AccessDeniedException from the checks below */
};

/* What a request is for, in sim_access_authorize(): a farm index, or one of these. */
#define SIM_ACCESS_IDENTITY_STORE (-1)
#define SIM_ACCESS_ACCOUNT (-2) /* account-wide operations (no farm in the path) */

struct sim_state;
struct sim_response;
struct sim_query;

/*
 * Parses "ListBudgets,GetBudget" (operation names as /__sim/stats spells them) into bits of enum sim_op.
 * Returns 0 or -EINVAL (an unknown name, copied into bad).
 */
int sim_access_parse_operations(const char *list, uint64_t *mask, char *bad, size_t badlen);
/* Parses "111111111111,222222222222": farm i's account (the last one for the farms after it). Returns 0 or -EINVAL. */
int sim_access_parse_accounts(const char *list, char out[SIM_FARMS][SIM_ACCOUNT_ID_LEN + 1]);
/* Whether s is 12 decimal digits. */
bool sim_account_id_valid(const char *s);

/*
 * Sets up a: the default slot with these credentials (token may be NULL), the farms' and identity store's accounts
 * (NULL: the home account), the operations denied everywhere. Returns 0 or -EINVAL (a credential too long).
 */
int sim_access_init(struct sim_access *a, const char *key_id, const char *secret, const char *token,
	const char farm_accounts[SIM_FARMS][SIM_ACCOUNT_ID_LEN + 1], const char *identity_account, uint64_t denied);

/* The secret of key_id in k (current keys first, then rotated-out ones), with where it was found; NULL if none. */
const char *sim_keyring_secret(const struct sim_keyring *k, const char *key_id, struct sim_key_match *m);

/*
 * After the signature check (e: its result, 0 when valid): whether the request may go on as far as its keys
 * are concerned (known, current, with their session token, not expired at now). Otherwise r holds the 403
 * (UnrecognizedClientException, InvalidSignatureException with why, ExpiredTokenException).
 */
bool sim_access_check_keys(struct sim_state *st, const struct sim_keyring *k, const struct sim_key_match *m, int e,
	const char *why, const char *token, double now, struct sim_response *r);

/*
 * Whether the caller of slot (-1 when signatures are not checked) may call op on target (a farm index,
 * SIM_ACCESS_IDENTITY_STORE or SIM_ACCESS_ACCOUNT): the farm's account must be the caller's (no resource-based
 * policy lets another account in) and op must not be denied there. Otherwise r holds the 403
 * AccessDeniedException whose message names the caller, the IAM action and the resource, as IAM words it.
 */
bool sim_access_authorize(struct sim_state *st, int slot, int target, int op, struct sim_response *r);

/* GET /__sim/credentials (each slot, secrets left out) and POST (new keys for the default slot or an account). */
void sim_access_credentials_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r);
/* GET /__sim/deny (what is denied where) and POST (replace the operations denied on a farm or everywhere). */
void sim_access_deny_control(
	struct sim_state *st, const char *method, const char *body, size_t body_len, struct sim_response *r);
