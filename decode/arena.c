/*
 * arena.c - bump allocation in chunks; see arena.h.
 */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE 2048


struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

void
arena_init(struct arena *a, size_t max)
{
	memset(a, 0, sizeof(*a));
	a->max = max;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);

	if (need < n || need > a->max - a->used || a->used > a->max) {
		a->hit_cap = true;
		return NULL;
	}
	if (!c || c->size - c->used < need) {
		size_t size = need > CHUNK_SIZE ? need : CHUNK_SIZE;
		size_t cost = sizeof(*c) + size + CAP_ALLOC_OVERHEAD;

		if (!cap_budget_take(cost)) {
			a->hit_budget = true;
			return NULL;
		}
		c = malloc(sizeof(*c) + size);
		if (!c) {
			cap_budget_give(cost);
			a->hit_cap = true;
			return NULL;
		}
		a->held += cost;
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;

	c->used += need;
	a->used += need;
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_wiredup(struct arena *a, const char *s, size_t n)
{
	size_t extra = 0;

	if (!memchr(s, '\0', n) && !memchr(s, 0xc0, n)) /* nearly always: vectorised scans */
		return arena_strndup(a, s, n);
	for (size_t i = 0; i < n; i++)
		extra += s[i] == '\0' || (unsigned char)s[i] == 0xc0;
	char *p = arena_alloc(a, n + extra + 1), *w = p;

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c == 0xc0) {
			*w++ = (char)0xc0;
			*w++ = (char)(c ? 0x81 : 0x80);
		} else {
			*w++ = (char)c;
		}
	}
	*w = '\0';
	return p;
}

void
arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
	cap_budget_give(a->held);
	a->used = a->held = 0;
}
