/*
 * out.h - a session's JSON is built in a buffer and written in one go
 * (private to report/). Per field, a stdio call costs more than the bytes
 * it writes; here a field is a memcpy. The buffer is flushed when full, so a
 * session of any size fits.
 */
#ifndef SMTPSCOPE_REPORT_OUT_H
#define SMTPSCOPE_REPORT_OUT_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define OUT_SIZE 65536

struct out {
	FILE *f;
	size_t len;
	char buf[OUT_SIZE];
};

static inline void
out_flush(struct out *o)
{
	fwrite(o->buf, 1, o->len, o->f);
	o->len = 0;
}

static inline void
out_mem(struct out *o, const void *p, size_t n)
{
	if (n > OUT_SIZE - o->len) {
		out_flush(o);
		if (n > OUT_SIZE) {
			fwrite(p, 1, n, o->f);
			return;
		}
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static inline void
out_chr(struct out *o, char c)
{
	if (o->len == OUT_SIZE)
		out_flush(o);
	o->buf[o->len++] = c;
}

static inline void
out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/* A string literal: its length is known when compiling. */
#define out_lit(o, lit) out_mem((o), "" lit, sizeof(lit) - 1)

/* out.c */
void out_u64(struct out *o, uint64_t v);
void out_seconds(struct out *o, uint64_t us);
void out_json(struct out *o, const char *s);

#endif
