/*
 * line.c - see line.h.
 */
#include "line.h"

#include <stdlib.h>
#include <string.h>

void
line_init(struct linebuf *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

bool
line_append(struct linebuf *lb, const char *p, size_t n)
{
	size_t room = lb->max - lb->len, take = n < room ? n : room;

	if (n == 0)
		return true; /* nothing to copy; the buffer may not exist yet */
	if (take > lb->cap - lb->len) {
		size_t cap = lb->cap ? lb->cap : 128;

		while (cap < lb->len + take)
			cap *= 2;
		if (cap > lb->max)
			cap = lb->max;
		char *b = realloc(lb->buf, cap);

		if (!b) {
			lb->truncated = true;
			return false;
		}
		lb->buf = b;
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, p, take);
	lb->len += take;
	if (take < n)
		lb->truncated = true;
	return take == n;
}

void
line_reset(struct linebuf *lb)
{
	lb->len = 0;
	lb->truncated = false;
}

size_t
line_take(struct linebuf *lb, const uint8_t *p, size_t n, struct line *out, bool *done)
{
	const uint8_t *lf = memchr(p, '\n', n);

	*done = false;
	if (!lf) {
		line_append(lb, (const char *)p, n);
		return n;
	}
	size_t used = (size_t)(lf - p) + 1, len = used - 1;
	/* The CR may sit in this chunk or at the end of the gathered part. */
	bool cr = len ? p[len - 1] == '\r' : (lb->len > 0 && lb->buf[lb->len - 1] == '\r');

	if (lb->len == 0 && !lb->truncated) {
		out->p = (const char *)p;
		out->truncated = false;
	} else {
		line_append(lb, (const char *)p, len);
		out->p = lb->buf;
		len = lb->len;
		out->truncated = lb->truncated;
	}
	out->bare_lf = !cr;
	if (len > 0 && out->p[len - 1] == '\r')
		len--;
	if (len > lb->max) {
		len = lb->max;
		out->truncated = true;
	}
	out->n = len;
	lb->len = 0;
	lb->truncated = false;
	*done = true;
	return used;
}

void
line_free(struct linebuf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof(*lb));
}

size_t
line_skip(const uint8_t *p, size_t n, bool *done)
{
	const uint8_t *lf = memchr(p, '\n', n);

	*done = lf != NULL;
	return lf ? (size_t)(lf - p) + 1 : n;
}
