/*
 * body.h - a message body on its way through DATA or BDAT (private to decode/).
 *
 * For DATA it finds the lone "." that ends the message (RFC 5321 4.1.1.4),
 * removes dot-stuffing (4.5.2) and counts the message size; for BDAT chunks
 * it only counts. In both it reads the header section for Subject and
 * Message-ID, unfolding continuation lines, with a capped header buffer.
 */
#ifndef SMTPSCOPE_DECODE_BODY_H
#define SMTPSCOPE_DECODE_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "line.h"
#include "smtp.h"

struct body {
	uint8_t state;
	bool in_headers;
	bool ended;   /* DATA: the terminating line was seen */
	bool bare_lf; /* the terminator or a line ended in a bare LF */
	uint64_t size;
	struct linebuf line; /* current physical header line */
	struct linebuf hdr;  /* current logical header, unfolded */
	/* where the message's bytes go, when someone wants them (NULL: nowhere) */
	void (*emit)(void *handle, const uint8_t *p, size_t n);
	void *handle;
};

void body_init(struct body *b);
void body_start(struct body *b);
/*
 * Consume message bytes; dot_mode for DATA (stops right after the terminator,
 * so the return value may be less than n). Headers found go into m.
 */
size_t body_feed(struct body *b, struct arena *a, struct smtp_message *m, const uint8_t *p,
		 size_t n, bool dot_mode);
/* The message ended (terminator, BDAT LAST, or the stream): settle the last header. */
void body_finish(struct body *b, struct arena *a, struct smtp_message *m);
void body_free(struct body *b);

#endif
