/*
 * rd.h - the one way packet bytes are read (capture/ and tls/hello.c).
 *
 * Every read is checked against what is left. A short read returns 0 and sets
 * short_read, so a parser reads a whole header and checks once (tcpdump's
 * GET_* macros, libcbor's claim_bytes). Lengths are compared, never pointers.
 */
#ifndef SMTPSCOPE_CAPTURE_RD_H
#define SMTPSCOPE_CAPTURE_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t *p;
	size_t left;
	bool short_read;
};

static inline void
rd_init(struct rd *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->left = n;
	r->short_read = false;
}

/* Take n bytes; NULL (and short_read) when fewer are left. */
static inline const uint8_t *
rd_span(struct rd *r, size_t n)
{
	const uint8_t *s = r->p;

	if (n > r->left) {
		r->short_read = true;
		r->p += r->left;
		r->left = 0;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return s;
}

static inline bool
rd_skip(struct rd *r, size_t n)
{
	return rd_span(r, n) != NULL;
}

static inline uint8_t
rd_u8(struct rd *r)
{
	const uint8_t *s = rd_span(r, 1);

	return s ? s[0] : 0;
}

static inline uint16_t
rd_be16(struct rd *r)
{
	const uint8_t *s = rd_span(r, 2);

	return s ? (uint16_t)(s[0] << 8 | s[1]) : 0;
}

static inline uint32_t
rd_be32(struct rd *r)
{
	const uint8_t *s = rd_span(r, 4);

	return s ? (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3] : 0;
}

/* Look at the next byte without taking it; 0 when nothing is left. */
static inline uint8_t
rd_peek_u8(const struct rd *r)
{
	return r->left ? r->p[0] : 0;
}

/* A sub-reader over the next n bytes (a length-prefixed vector); empty and short if fewer. */
static inline struct rd
rd_sub(struct rd *r, size_t n)
{
	struct rd sub = {NULL, 0, false};

	sub.p = rd_span(r, n);
	if (!sub.p)
		sub.short_read = true;
	else
		sub.left = n;
	return sub;
}

/* Narrow the window to n bytes (an IP total length, say); never widens it. */
static inline void
rd_limit(struct rd *r, size_t n)
{
	if (n < r->left)
		r->left = n;
}

#endif
