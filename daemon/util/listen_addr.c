/* listen_addr: the one parser of listen addresses ("host:port", "[v6]:port", ":port") */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/ascii.h"
#include "util/listen_addr.h"

static int refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A host name or an IPv4 address: letters, digits, '-', '.', '_' (what getaddrinfo will be asked about). */
static bool name_valid(const char *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_alnum(h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
			return false;
	}
	return true;
}

/* The inside of the brackets: hex digits, ':' (at least one), '.' (an embedded IPv4), then "%zone". */
static bool v6_valid(const char *h, size_t n)
{
	bool colon = false, zone = false;

	for (size_t i = 0; i < n; i++) {
		if (zone) {
			if (!ascii_is_alnum(h[i]) && h[i] != '-' && h[i] != '_' && h[i] != '.')
				return false;
		} else if (h[i] == '%') {
			zone = true;
			if (i + 1 == n)
				return false;
		} else if (h[i] == ':') {
			colon = true;
		} else if (!ascii_is_hex(h[i]) && h[i] != '.') {
			return false;
		}
	}
	return colon;
}

int listen_addr_parse(const char *s, struct listen_addr *out, char *err, size_t errlen)
{
	const char *h, *p;
	size_t hlen, plen;
	unsigned long port = 0;
	bool ipv6 = false;

	if (!s || !*s)
		return refuse(err, errlen, "empty address");
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return refuse(err, errlen, "'[' without ']'");
		if (close[1] != ':')
			return refuse(err, errlen, "no ':port' after ']'");
		h = s + 1;
		hlen = (size_t)(close - h);
		if (hlen == 0 || !v6_valid(h, hlen))
			return refuse(err, errlen, "not an IPv6 address between the brackets");
		p = close + 2;
		ipv6 = true;
	} else {
		const char *colon = strchr(s, ':');

		if (!colon)
			return refuse(err, errlen, "no ':port'");
		/* A second ':' is a bare IPv6 address: which part is the port would be a guess. */
		if (strchr(colon + 1, ':'))
			return refuse(err, errlen, "an IPv6 address must be written in brackets, as in [::1]:9753");
		h = s;
		hlen = (size_t)(colon - s);
		if (!name_valid(h, hlen))
			return refuse(err, errlen, "the host may hold only letters, digits, '-', '.' and '_'");
		p = colon + 1;
	}
	if (hlen > LISTEN_ADDR_HOST_MAX)
		return refuse(err, errlen, "host longer than %d characters", LISTEN_ADDR_HOST_MAX);
	plen = strlen(p);
	if (plen == 0)
		return refuse(err, errlen, "no port after ':'");
	if (plen > 5)
		return refuse(err, errlen, "port longer than 5 digits");
	for (size_t i = 0; i < plen; i++) {
		if (!ascii_is_digit(p[i]))
			return refuse(err, errlen, "the port must be a decimal number");
		port = port * 10 + (unsigned long)(p[i] - '0');
	}
	if (port > 65535)
		return refuse(err, errlen, "port above 65535");
	if (out) {
		memcpy(out->host, h, hlen);
		out->host[hlen] = '\0';
		out->port = (uint16_t)port;
		out->ipv6 = ipv6;
	}
	return 0;
}
