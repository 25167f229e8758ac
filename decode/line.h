/*
 * line.h - one line framer for both directions (private to decode/).
 *
 * A line ends at LF; a CR before it is dropped, a bare LF is tolerated and
 * flagged. Complete lines inside one chunk are handed out in place, without
 * a copy; only a line split across chunks is gathered in the buffer, which
 * never holds more than `max` bytes: the rest of an overlong line is counted
 * and dropped, and the line is flagged truncated.
 */
#ifndef SMTPSCOPE_DECODE_LINE_H
#define SMTPSCOPE_DECODE_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct linebuf {
	char *buf;
	size_t len, cap, max;
	bool truncated;
};

struct line {
	const char *p; /* borrowed: valid until the next call */
	size_t n;
	bool bare_lf;
	bool truncated;
};

void line_init(struct linebuf *lb, size_t max);
/*
 * Consume bytes up to and including the next LF. Returns the bytes consumed;
 * *done tells whether *out holds a complete line.
 */
size_t line_take(struct linebuf *lb, const uint8_t *p, size_t n, struct line *out, bool *done);
/* Bytes to drop to get past the next LF (a line cut by a gap); *done once past it. */
size_t line_skip(const uint8_t *p, size_t n, bool *done);
/* Append to the buffer within its cap; false when bytes had to be dropped. */
bool line_append(struct linebuf *lb, const char *p, size_t n);
void line_reset(struct linebuf *lb);
void line_free(struct linebuf *lb);

#endif
