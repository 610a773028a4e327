/* listen_addr: the one parser of listen addresses ("host:port", "[v6]:port", ":port"), web.listen and --listen */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest host name (RFC 1035) or bracketed IPv6 address, zone included, that is accepted. */
#define LISTEN_ADDR_HOST_MAX 253

struct listen_addr {
	char host[LISTEN_ADDR_HOST_MAX + 1]; /* without brackets; "" for ":port" (every IPv4 interface) */
	uint16_t port; /* 0: the system picks one */
	bool ipv6; /* written in brackets: an IPv6 address */
};

/*
 * Parses "host:port" (a host name or IPv4 address), "[v6addr]:port" (a zone after '%' allowed) or ":port"
 * (every IPv4 interface); port is 0 to 65535 in decimal. Pure: no name is looked up. out may be NULL.
 * Returns 0, or -EINVAL with the reason (without the address itself) in err.
 */
int listen_addr_parse(const char *s, struct listen_addr *out, char *err, size_t errlen);
