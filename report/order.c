/*
 * order.c - sessions written in the order they began (issue: a saved capture
 * is read in the order of its sessions, not of their ends).
 *
 * Each flow gets the next id when its first packet is seen (reassembly/flow.c,
 * shard/ for --threads), and every flow ends as a session, so the ids are
 * 1, 2, 3, ... in the order the sessions began. A session that ends before an
 * earlier one is rendered into memory and held in a min-heap by id until the
 * earlier ones have been written. What is held is capped (ORDER_MAX_BYTES,
 * ORDER_MAX_HELD): past it the earliest held session is written anyway and the
 * ones it overtakes are written as they end, counted as out of order (a
 * session open for the whole capture would otherwise hold everything back).
 * A live capture is not ordered: sessions are shown as they end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_private.h"

#define ORDER_MAX_BYTES (8u << 20)
#define ORDER_MAX_HELD 65536

struct held {
	uint64_t id;
	char *text;
	size_t len;
};

struct rpt_order {
	uint64_t next_id; /* the session whose turn it is */
	struct held *heap;
	size_t n, cap, bytes;
	uint64_t out_of_order;
};

struct rpt_order *
rpt_order_new(void)
{
	struct rpt_order *o = calloc(1, sizeof(*o));

	if (o)
		o->next_id = 1;
	return o;
}

static void
swap(struct held *a, struct held *b)
{
	struct held t = *a;

	*a = *b;
	*b = t;
}

static bool
push(struct rpt_order *o, uint64_t id, char *text, size_t len)
{
	size_t i = o->n;

	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		struct held *h = realloc(o->heap, cap * sizeof(*h));

		if (!h)
			return false;
		o->heap = h;
		o->cap = cap;
	}
	o->heap[o->n++] = (struct held){id, text, len};
	for (; i > 0 && o->heap[(i - 1) / 2].id > o->heap[i].id; i = (i - 1) / 2)
		swap(&o->heap[(i - 1) / 2], &o->heap[i]);
	o->bytes += len;
	return true;
}

/* Write the held session with the lowest id and drop it. */
static void
pop_write(struct rpt_order *o, FILE *out)
{
	struct held top = o->heap[0];
	size_t i = 0;

	o->heap[0] = o->heap[--o->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < o->n && o->heap[l].id < o->heap[m].id)
			m = l;
		if (r < o->n && o->heap[r].id < o->heap[m].id)
			m = r;
		if (m == i)
			break;
		swap(&o->heap[i], &o->heap[m]);
		i = m;
	}
	fwrite(top.text, 1, top.len, out);
	free(top.text);
	o->bytes -= top.len;
	if (top.id >= o->next_id)
		o->next_id = top.id + 1;
}

/* Write what is due: the next ids in a row, then the earliest while over the caps. */
static void
drain(struct rpt_order *o, FILE *out)
{
	while (o->n && o->heap[0].id <= o->next_id)
		pop_write(o, out);
	while (o->n && (o->bytes > ORDER_MAX_BYTES || o->n > ORDER_MAX_HELD))
		pop_write(o, out); /* the ones it passes by are late: counted when they come */
}

bool
rpt_order_due(const struct rpt_order *o, uint64_t id)
{
	return id <= o->next_id;
}

void
rpt_order_add(struct rpt_order *o, FILE *out, uint64_t id, char *text, size_t len)
{
	if (id < o->next_id) { /* overtaken when the buffer was full: late, written now */
		o->out_of_order++;
		fwrite(text, 1, len, out);
		free(text);
		return;
	}
	if (!push(o, id, text, len)) { /* no memory to hold it: written now, counted */
		o->out_of_order++;
		fwrite(text, 1, len, out);
		free(text);
		return;
	}
	drain(o, out);
}

void
rpt_order_written(struct rpt_order *o, uint64_t id, FILE *out)
{
	if (id < o->next_id)
		o->out_of_order++;
	else
		o->next_id = id + 1;
	drain(o, out);
}

void
rpt_order_flush(struct rpt_order *o, FILE *out)
{
	while (o->n)
		pop_write(o, out);
}

uint64_t
rpt_order_late(const struct rpt_order *o)
{
	return o ? o->out_of_order : 0;
}

void
rpt_order_free(struct rpt_order *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		free(o->heap[i].text);
	free(o->heap);
	free(o);
}
