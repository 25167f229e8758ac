/*
 * arena.h - per-session string memory (private to decode/).
 *
 * Every string a session keeps (arguments, reply texts, addresses) is copied
 * into chunks owned by the session and freed with it in one go. The total is
 * capped: past the cap a copy returns NULL and the caller records the anomaly.
 */
#ifndef SMTPSCOPE_DECODE_ARENA_H
#define SMTPSCOPE_DECODE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include "../capture/capture.h"

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used; /* bytes handed out, all chunks */
	size_t max;
	size_t held; /* what its chunks take, drawn from the process's budget (capture.h) */
	bool hit_cap, hit_budget;
};

/* max: bytes handed out to this session; the chunks draw on the process's budget too. */
void arena_init(struct arena *a, size_t max);
/* A NUL-terminated copy of s[0..n), or NULL past the cap. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/*
 * The same for text from the wire, which may hold NUL: a NUL is stored as
 * the two bytes C0 80 and a byte C0 as C0 81 (C0 starts no valid UTF-8, so
 * no valid text changes), and the copy stays a C string that loses nothing.
 * smtp.h says how the writers read it back.
 */
char *arena_wiredup(struct arena *a, const char *s, size_t n);
void *arena_alloc(struct arena *a, size_t n);
void arena_free(struct arena *a);

#endif
