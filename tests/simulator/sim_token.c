/* sim_token: opaque, tamper-evident pagination tokens (base64 of a MAC'd binary record) */
#include "sim_token.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define TOKEN_VERSION 1
#define RAW_LEN 34
#define MAC_LEN 8
#define SIGNED_LEN (RAW_LEN - MAC_LEN)

static const uint8_t magic[3] = {0xfb, 0xff, 0xbf};

int sim_token_key_init(struct sim_token_key *k, uint64_t seed)
{
	char input[64];
	unsigned int len = 0;
	int n = snprintf(input, sizeof(input), "deadline-cloud-simulator/token-key/%llu", (unsigned long long)seed);

	if (n < 0 || (size_t)n >= sizeof(input))
		return -EINVAL;
	if (!EVP_Digest(input, (size_t)n, k->key, &len, EVP_sha256(), NULL) || len != sizeof(k->key))
		return -EIO;
	return 0;
}

static int mac(const struct sim_token_key *k, const uint8_t *data, uint8_t out[MAC_LEN])
{
	uint8_t full[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), k->key, (int)sizeof(k->key), data, SIGNED_LEN, full, &len) || len < MAC_LEN)
		return -EIO;
	memcpy(out, full, MAC_LEN);
	return 0;
}

static int build(const struct sim_token_key *k, enum sim_token_kind kind, const uint8_t *binding, uint32_t offset,
	uint8_t raw[RAW_LEN])
{
	memcpy(raw, magic, sizeof(magic));
	raw[3] = TOKEN_VERSION;
	raw[4] = (uint8_t)kind;
	raw[5] = 0;
	raw[6] = (uint8_t)(offset >> 24);
	raw[7] = (uint8_t)(offset >> 16);
	raw[8] = (uint8_t)(offset >> 8);
	raw[9] = (uint8_t)offset;
	memcpy(raw + 10, binding, SIM_TOKEN_BINDING_LEN);
	return mac(k, raw, raw + SIGNED_LEN);
}

int sim_token_encode(const struct sim_token_key *k, enum sim_token_kind kind,
	const uint8_t binding[SIM_TOKEN_BINDING_LEN], uint32_t offset, char out[SIM_TOKEN_LEN + 1])
{
	uint8_t raw[RAW_LEN];
	int r = build(k, kind, binding, offset, raw);

	if (r < 0)
		return r;
	if (EVP_EncodeBlock((unsigned char *)out, raw, RAW_LEN) != SIM_TOKEN_LEN)
		return -EIO;
	out[SIM_TOKEN_LEN] = '\0';
	return 0;
}

int sim_token_decode(const struct sim_token_key *k, const char *token, enum sim_token_kind kind,
	const uint8_t binding[SIM_TOKEN_BINDING_LEN], uint32_t *offset)
{
	unsigned char decoded[SIM_TOKEN_LEN];
	uint8_t expected[RAW_LEN];
	char again[SIM_TOKEN_LEN + 1];
	uint32_t off;

	if (strlen(token) != SIM_TOKEN_LEN)
		return -EINVAL;
	for (size_t i = 0; i < SIM_TOKEN_LEN; i++) {
		char c = token[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
			  c == '/' || (c == '=' && i >= SIM_TOKEN_LEN - 2);

		if (!ok)
			return -EINVAL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes: 48 characters always give 36 */
	if (EVP_DecodeBlock(decoded, (const unsigned char *)token, SIM_TOKEN_LEN) != 36)
		return -EINVAL;
	/* only the canonical spelling is accepted: re-encoding must give the same text */
	if (EVP_EncodeBlock((unsigned char *)again, decoded, RAW_LEN) != SIM_TOKEN_LEN ||
		memcmp(again, token, SIM_TOKEN_LEN))
		return -EINVAL;
	if (memcmp(decoded, magic, sizeof(magic)) != 0 || decoded[3] != TOKEN_VERSION || decoded[4] != (uint8_t)kind ||
		decoded[5] != 0)
		return -EINVAL;
	off = (uint32_t)decoded[6] << 24 | (uint32_t)decoded[7] << 16 | (uint32_t)decoded[8] << 8 | decoded[9];
	if (build(k, kind, binding, off, expected) < 0)
		return -EINVAL;
	if (CRYPTO_memcmp(expected, decoded, RAW_LEN) != 0)
		return -EINVAL;
	*offset = off;
	return 0;
}
