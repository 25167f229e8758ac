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

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used; /* bytes handed out, all chunks */
	size_t max;
	size_t held;   /* what its chunks take, counted against the budget */
	size_t budget; /* the budget's size (0: none) */
	bool hit_cap, hit_budget;
};

/*
 * One budget for the whole process (every decoder, every thread): what the
 * sessions' records take, counted by what it costs (a chunk or an array with
 * its overhead), against one size. Taking fails past it; what is taken is
 * given back when the session is freed.
 */
bool arena_budget_take(size_t n, size_t budget);
void arena_budget_give(size_t n);
size_t arena_budget_used(void);

/* max: bytes handed out to this session; budget: the shared budget's size (0: none). */
void arena_init(struct arena *a, size_t max, size_t budget);
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
