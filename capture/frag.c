/*
 * frag.c - IPv4 and IPv6 fragment reassembly (RFC 791 3.2, RFC 8200 4.5).
 *
 * Datagrams in progress sit on a list, oldest first, keyed by addresses,
 * protocol and id. Each holds its pieces sorted and never overlapping: an
 * IPv4 fragment overlapping what is already held only adds the bytes not yet
 * covered (first data wins, as in the TCP layer); in IPv6 overlaps are
 * forbidden (RFC 5722, RFC 8200 4.5): the whole datagram is given up, as
 * the receiving host would, but an exact duplicate is only ignored.
 * Everything is capped:
 * datagrams in progress, pieces per datagram (so finding a fragment's place
 * is bounded work), memory held counted by what it takes (a piece's header
 * and the allocator's overhead, not its payload alone), datagram size, and
 * time (capture time); a datagram given up is counted, never silently lost.
 */
#include "frag.h"

#include <stdlib.h>
#include <string.h>

#define FRAG_MAX_SIZE 65535u
#define FRAG_TIMEOUT_US (30 * 1000000ull) /* as Linux's ipfrag_time */
/*
 * A 64 KiB datagram over a 576-byte path is 119 pieces; more than this is an
 * attack (65,000 one-byte fragments), not a path.
 */
#define FRAG_MAX_PIECES 128

struct frag_piece {
	struct frag_piece *next;
	uint32_t off, len;
	uint8_t data[];
};

struct frag_dgram {
	struct frag_dgram *next;
	struct cap_addr src, dst;
	uint8_t proto;
	uint32_t id;
	uint64_t first_ts;
	uint32_t total; /* payload length, known once the last fragment came */
	uint32_t held;  /* bytes in pieces */
	uint32_t npieces;
	size_t cost;    /* memory it takes, counted in the table's bytes */
	struct frag_piece *pieces;
};

#define DGRAM_COST (sizeof(struct frag_dgram) + CAP_ALLOC_OVERHEAD)
#define PIECE_COST(len) (sizeof(struct frag_piece) + (len) + CAP_ALLOC_OVERHEAD)

size_t
frag_dgram_cost(void)
{
	return DGRAM_COST;
}

size_t
frag_piece_cost(size_t len)
{
	return PIECE_COST(len);
}

static void
dgram_free(struct frag_table *t, struct frag_dgram *g)
{
	while (g->pieces) {
		struct frag_piece *p = g->pieces;

		g->pieces = p->next;
		free(p);
	}
	t->bytes -= g->cost;
	cap_budget_give(g->cost);
	t->count--;
	free(g);
}

/* Unlink and free the datagram after prev (or the head when prev is NULL). */
static void
drop_after(struct frag_table *t, struct frag_dgram *prev, bool counted)
{
	struct frag_dgram *g = prev ? prev->next : t->head;

	if (prev)
		prev->next = g->next;
	else
		t->head = g->next;
	if (t->tail == g)
		t->tail = prev;
	if (counted)
		t->dropped++;
	dgram_free(t, g);
}

void
frag_expire(struct frag_table *t, uint64_t now)
{
	if (now > t->now)
		t->now = now;
	while (t->head && t->now - t->head->first_ts > FRAG_TIMEOUT_US)
		drop_after(t, NULL, true);
}

static bool
same(const struct frag_dgram *g, const struct ip_datagram *d)
{
	size_t n = d->src.family == 4 ? 4 : 16;

	/* IPv4 keys on the protocol too (RFC 791); IPv6 on addresses and id (RFC 8200 4.5) */
	return g->id == d->id && g->src.family == d->src.family &&
	       (d->src.family == 6 || g->proto == d->proto) && memcmp(g->src.bytes, d->src.bytes, n) == 0 &&
	       memcmp(g->dst.bytes, d->dst.bytes, n) == 0;
}

static struct frag_dgram *
find_or_add(struct frag_table *t, const struct ip_datagram *d, uint64_t ts, struct frag_dgram **prev)
{
	struct frag_dgram *g, *p = NULL;

	for (g = t->head; g; p = g, g = g->next) {
		if (same(g, d)) {
			*prev = p;
			return g;
		}
	}
	if (!cap_budget_take(DGRAM_COST)) /* before the oldest goes: not both lost */
		return NULL;
	while (t->count >= (t->max_dgrams ? t->max_dgrams : FRAG_DEFAULT_DGRAMS))
		drop_after(t, NULL, true); /* the oldest goes */
	g = calloc(1, sizeof(*g));
	if (!g) {
		cap_budget_give(DGRAM_COST);
		return NULL;
	}
	g->src = d->src;
	g->dst = d->dst;
	g->proto = d->proto;
	g->id = d->id;
	g->first_ts = ts;
	g->cost = DGRAM_COST;
	t->bytes += g->cost;
	if (t->tail)
		t->tail->next = g;
	else
		t->head = g;
	*prev = t->tail;
	t->tail = g;
	t->count++;
	return g;
}

static bool
add_piece(struct frag_table *t, struct frag_dgram *g, struct frag_piece **at, uint32_t off,
	  const uint8_t *data, uint32_t len)
{
	struct frag_piece *p;

	if (!len)
		return true;
	if (g->npieces >= FRAG_MAX_PIECES ||
	    t->bytes + PIECE_COST(len) > (t->max_bytes ? t->max_bytes : FRAG_DEFAULT_BYTES) ||
	    !(p = cap_budget_malloc(sizeof(*p) + len, PIECE_COST(len))))
		return false;
	p->off = off;
	p->len = len;
	memcpy(p->data, data, len);
	p->next = *at;
	*at = p;
	g->held += len;
	g->npieces++;
	g->cost += PIECE_COST(len);
	t->bytes += PIECE_COST(len);
	return true;
}

/* Add [off, off+len), keeping only the bytes no held piece covers yet. */
static bool
insert(struct frag_table *t, struct frag_dgram *g, uint32_t off, const uint8_t *data, uint32_t len)
{
	struct frag_piece **pp = &g->pieces;
	uint32_t end = off + len;

	while (off < end) {
		while (*pp && (*pp)->off + (*pp)->len <= off)
			pp = &(*pp)->next;
		uint32_t stop = *pp && (*pp)->off < end ? (*pp)->off : end;

		if (stop > off && !add_piece(t, g, pp, off, data, stop - off))
			return false;
		if (stop > off)
			pp = &(*pp)->next;
		if (!*pp || (*pp)->off >= end)
			break;
		uint32_t skip_to = (*pp)->off + (*pp)->len; /* covered: first data wins */

		if (skip_to >= end)
			break;
		data += skip_to - off;
		off = skip_to;
	}
	return true;
}

/* IPv6: 1 if [off, off+len) overlaps a held piece, 0 if not, -1 if it repeats one exactly. */
static int
ipv6_overlap(const struct frag_dgram *g, uint32_t off, const uint8_t *data, uint32_t len)
{
	for (const struct frag_piece *p = g->pieces; p && p->off < off + len; p = p->next) {
		if (p->off + p->len <= off)
			continue;
		return p->off == off && p->len == len && memcmp(p->data, data, len) == 0 ? -1 : 1;
	}
	return 0;
}

/* The pieces cover [0, total) without a hole and nothing past it. */
static bool
contiguous(const struct frag_dgram *g)
{
	uint32_t at = 0;

	for (const struct frag_piece *p = g->pieces; p; p = p->next) {
		if (p->off != at)
			return false;
		at += p->len;
	}
	return at == g->total;
}

static int
assemble(struct frag_table *t, struct frag_dgram *g, const struct ip_datagram *d,
	 struct ip_datagram *whole)
{
	if (t->out_cap < g->total) {
		uint8_t *b = realloc(t->out, FRAG_MAX_SIZE);

		if (!b)
			return -1;
		t->out = b;
		t->out_cap = FRAG_MAX_SIZE;
	}
	for (struct frag_piece *p = g->pieces; p; p = p->next)
		memcpy(t->out + p->off, p->data, p->len);
	*whole = *d;
	whole->proto = g->proto;
	whole->payload = t->out;
	whole->len = g->total;
	whole->missing = 0;
	whole->fragment = whole->more = false;
	whole->frag_off = 0;
	return 1;
}

int
frag_add(struct frag_table *t, const struct ip_datagram *d, uint64_t ts, struct ip_datagram *whole)
{
	struct frag_dgram *prev, *g;
	uint64_t end = (uint64_t)d->frag_off + d->len;

	frag_expire(t, ts);
	g = find_or_add(t, d, t->now, &prev);
	if (!g) {
		t->dropped++;
		return -1;
	}
	/* A fragment cut by the snap length, or past the largest datagram: give up. */
	if (d->missing || end > FRAG_MAX_SIZE || (g->total && end > g->total) ||
	    (!d->more && end < g->held)) {
		drop_after(t, prev, true);
		return -1;
	}
	if (d->src.family == 6 && d->len) {
		int o = ipv6_overlap(g, d->frag_off, d->payload, (uint32_t)d->len);

		if (o < 0)
			return 0; /* a duplicate: nothing new */
		if (o > 0) {
			drop_after(t, prev, true);
			return -1;
		}
	}
	if (d->frag_off == 0)
		g->proto = d->proto; /* for IPv6 the first fragment's next header is the one */
	if (!d->more)
		g->total = (uint32_t)end;
	if (!insert(t, g, d->frag_off, d->payload, (uint32_t)d->len)) {
		drop_after(t, prev, true);
		return -1;
	}
	if (!g->total || g->held < g->total)
		return 0;
	if (!contiguous(g)) { /* bytes held past the end, or a hole: inconsistent fragments */
		drop_after(t, prev, true);
		return -1;
	}
	int rc = assemble(t, g, d, whole);

	drop_after(t, prev, rc < 0);
	t->reassembled += rc > 0;
	return rc;
}

void
frag_give_up(struct frag_table *t)
{
	while (t->head)
		drop_after(t, NULL, true);
}

void
frag_free(struct frag_table *t)
{
	while (t->head)
		drop_after(t, NULL, false);
	free(t->out);
	memset(t, 0, sizeof(*t));
}
