/*
 * body.c - see body.h.
 */
#include "body.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"

#define HEADER_MAX 998 /* RFC 5322 2.1.1 line limit */
/* One header unfolded: several lines of encoded words (a long Subject) fit. */
#define UNFOLDED_MAX 4096

enum { B_LINE_START, B_MID, B_DOT, B_DOT_CR };

void
body_init(struct body *b)
{
	memset(b, 0, sizeof(*b));
	line_init(&b->line, HEADER_MAX);
	line_init(&b->hdr, UNFOLDED_MAX);
}

void
body_start(struct body *b)
{
	b->state = B_LINE_START;
	b->in_headers = true;
	b->ended = false;
	b->bare_lf = false;
	b->size = 0;
	line_reset(&b->line);
	line_reset(&b->hdr);
}

static void
trim(const char **p, size_t *n)
{
	while (*n && (**p == ' ' || **p == '\t')) {
		(*p)++;
		(*n)--;
	}
	while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
		(*n)--;
}

/* Could it hold an encoded word ("=?")? Most headers do not: no copy then. */
static bool
has_word(const char *p, size_t n)
{
	const char *eq;

	while (n > 1 && (eq = memchr(p, '=', n - 1)) != NULL) {
		if (eq[1] == '?')
			return true;
		n -= (size_t)(eq - p) + 1;
		p = eq + 1;
	}
	return false;
}

/*
 * The value with its RFC 2047 words decoded (mime.h) in *slot and the wire
 * text in *raw_slot; the wire text alone in *slot when there was nothing to
 * decode. A decoded byte can take at most three in UTF-8 (iconv, U+FFFD);
 * past that cap the value stays raw.
 */
static void
keep_decoded(struct arena *a, const char **slot, const char **raw_slot, const char *p, size_t n)
{
	size_t cap = 3 * n + 16, len = MIME_NONE;
	char *out = has_word(p, n) ? malloc(cap) : NULL;

	if (out)
		len = mime_decode_words(p, n, out, cap);
	if (len != MIME_NONE) {
		*slot = arena_wiredup(a, out, len);
		*raw_slot = arena_wiredup(a, p, n);
	} else {
		*slot = arena_wiredup(a, p, n);
	}
	free(out);
}

#define NO_RAW SIZE_MAX

/* A complete logical header: keep the ones the report shows. */
static void
settle_header(struct body *b, struct arena *a, struct smtp_message *m)
{
	static const struct {
		const char *name;
		size_t off, raw_off; /* raw_off: where the wire text goes when words were decoded */
	} wanted[] = {
		{"subject", offsetof(struct smtp_message, subject),
		 offsetof(struct smtp_message, subject_raw)},
		{"from", offsetof(struct smtp_message, from), offsetof(struct smtp_message, from_raw)},
		{"message-id", offsetof(struct smtp_message, message_id), NO_RAW},
	};
	const char *h = b->hdr.buf, *colon;

	if (!b->hdr.len)
		return;
	colon = memchr(h, ':', b->hdr.len);
	for (size_t i = 0; colon && i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		const char **slot = (const char **)((char *)m + wanted[i].off);
		size_t nlen = (size_t)(colon - h), vlen = b->hdr.len - nlen - 1;
		const char *v = colon + 1;

		if (*slot || nlen != strlen(wanted[i].name) || strncasecmp(h, wanted[i].name, nlen))
			continue;
		trim(&v, &vlen);
		if (wanted[i].raw_off == NO_RAW)
			*slot = arena_wiredup(a, v, vlen);
		else
			keep_decoded(a, slot, (const char **)((char *)m + wanted[i].raw_off), v, vlen);
	}
	line_reset(&b->hdr);
}

/* One physical header line ended: unfold, or settle the previous header. */
static void
header_line(struct body *b, struct arena *a, struct smtp_message *m)
{
	size_t n = b->line.len;
	const char *p = b->line.buf;

	if (n && p[n - 1] == '\r')
		n--;
	if (n == 0) {
		settle_header(b, a, m);
		b->in_headers = false;
	} else if (p[0] == ' ' || p[0] == '\t') {
		line_append(&b->hdr, p, n);
	} else {
		settle_header(b, a, m);
		line_append(&b->hdr, p, n);
	}
	line_reset(&b->line);
}

/*
 * Past the headers only a line starting with "." needs a look (the end, or a
 * stuffed dot), so the run goes from dot to dot, not line to line: base64
 * attachments have none, text has fewer dots than lines. Stops at a "." that
 * starts a line; BDAT chunks (no dot_mode) are taken whole.
 */
static size_t
body_run(const uint8_t *p, size_t n, bool dot_mode)
{
	size_t at = 0;

	while (dot_mode) {
		const uint8_t *dot = memchr(p + at, '.', n - at);

		if (!dot)
			break;
		at = (size_t)(dot - p);
		if (at > 0 && p[at - 1] == '\n')
			return at;
		at++;
	}
	return n;
}

/* Bytes of a line in the middle; returns how many were taken. */
static size_t
take_mid(struct body *b, struct arena *a, struct smtp_message *m, const uint8_t *p, size_t n,
	 bool dot_mode)
{
	if (!b->in_headers) {
		size_t run = body_run(p, n, dot_mode);

		b->size += run;
		if (b->handle)
			b->emit(b->handle, p, run);
		if (p[run - 1] == '\n')
			b->state = B_LINE_START;
		return run;
	}
	const uint8_t *lf = memchr(p, '\n', n);
	size_t used = lf ? (size_t)(lf - p) + 1 : n;

	b->size += used;
	if (b->handle)
		b->emit(b->handle, p, used);
	line_append(&b->line, (const char *)p, lf ? used - 1 : used);
	if (lf)
		header_line(b, a, m);
	if (lf)
		b->state = B_LINE_START;
	return used;
}

size_t
body_feed(struct body *b, struct arena *a, struct smtp_message *m, const uint8_t *p, size_t n,
	  bool dot_mode)
{
	size_t i = 0;

	while (i < n && !b->ended) {
		switch (b->state) {
		case B_LINE_START:
			if (dot_mode && p[i] == '.') {
				b->state = B_DOT;
				i++;
			} else {
				b->state = B_MID;
			}
			break;
		case B_DOT:
			if (p[i] == '\r') {
				b->state = B_DOT_CR;
				i++;
			} else if (p[i] == '\n') { /* ".\n": tolerated, flagged */
				b->bare_lf = b->ended = true;
				i++;
			} else { /* a stuffed dot: dropped, the line goes on */
				b->state = B_MID;
			}
			break;
		case B_DOT_CR:
			if (p[i] == '\n') {
				b->ended = true;
				i++;
			} else { /* ".\r" then more: the CR is content */
				b->size++;
				if (b->handle)
					b->emit(b->handle, (const uint8_t *)"\r", 1);
				if (b->in_headers)
					line_append(&b->line, "\r", 1);
				b->state = B_MID;
			}
			break;
		default:
			i += take_mid(b, a, m, p + i, n - i, dot_mode);
			break;
		}
	}
	if (b->ended)
		body_finish(b, a, m);
	return i;
}

void
body_finish(struct body *b, struct arena *a, struct smtp_message *m)
{
	if (b->in_headers) {
		if (b->line.len)
			header_line(b, a, m);
		settle_header(b, a, m);
		b->in_headers = false;
	}
}

void
body_free(struct body *b)
{
	line_free(&b->line);
	line_free(&b->hdr);
}
