/* ascii: character classes of plain ASCII, whatever the locale (ctype.h's depend on it and take an int) */
#pragma once

#include <stdbool.h>

/* '0' to '9'. */
static inline bool ascii_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* 'a' to 'z'. */
static inline bool ascii_is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

/* 'A' to 'Z'. */
static inline bool ascii_is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* A letter. */
static inline bool ascii_is_alpha(char c)
{
	return ascii_is_lower(c) || ascii_is_upper(c);
}

/* A letter or a digit. */
static inline bool ascii_is_alnum(char c)
{
	return ascii_is_digit(c) || ascii_is_alpha(c);
}

/* White space of a line or a header value: space, tab, CR, LF. */
static inline bool ascii_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A hexadecimal digit, either case. */
static inline bool ascii_is_hex(char c)
{
	return ascii_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A lowercase hexadecimal digit (the ids AWS writes). */
static inline bool ascii_is_lower_hex(char c)
{
	return ascii_is_digit(c) || (c >= 'a' && c <= 'f');
}

/* The value of a hexadecimal digit, either case; -1 for another character. */
static inline int ascii_hex_value(char c)
{
	if (ascii_is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* c with 'A' to 'Z' lowered; anything else as it is. */
static inline char ascii_to_lower(char c)
{
	return ascii_is_upper(c) ? (char)(c - 'A' + 'a') : c;
}
