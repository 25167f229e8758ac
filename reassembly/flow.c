/*
 * flow.c - the flow table: find or create a flow for each segment, decide
 * who is the client, follow the connection's life, end it.
 *
 * Flows live in a hash table that grows on demand up to max_flows, and on an
 * LRU list ordered by last packet, so that idle flows are found from the head
 * and the oldest is evicted when the table is full (counted, never silent).
 * A closed flow lingers a few seconds to absorb late ACKs and retransmitted
 * FINs, so they do not open phantom mid-stream sessions.
 */
#include "reassembly.h"

#include <stdlib.h>
#include <string.h>

#include "stream.h"

#define INITIAL_BUCKETS 1024
#define LINGER_US (10 * 1000000ull)
#define SWEEP_US 1000000ull

enum flow_state { FS_SYN_SENT, FS_OPEN, FS_CLOSED };

/* Endpoints in canonical order (lower address/port first), zero-padded for memcmp. */
struct rsm_key { /* 40 bytes, compared whole; SipHash reads the part its family uses */
	uint8_t family;
	uint8_t pad[3];
	uint16_t port[2];
	uint8_t addr[2][16];
};

struct rsm_flow {
	/* what a lookup touches, first: one cache line */
	struct rsm_flow *hnext;
	uint32_t hash;
	struct rsm_key key;
	struct rsm_conn conn;
	enum flow_state state;
	struct rsm_half half[2]; /* by enum rsm_dir */
	uint64_t closed_at;
	/* links by list: AGE for the active or the linger list, QUEUED for the flows holding
	 * out-of-order data */
	struct {
		struct rsm_flow *prev, *next;
	} link[2];
	bool in_qlist;
};

enum { AGE, QUEUED };

struct flow_list {
	struct rsm_flow *head, *tail;
	int by; /* which link of a flow this list uses */
};

struct rsm_table {
	struct rsm_config cfg;
	rsm_event_fn *fn;
	void *arg;
	struct rsm_flow **buckets;
	size_t nbuckets, count;
	struct flow_list active, linger;
	struct flow_list queued; /* flows holding out-of-order data, oldest first */
	uint64_t next_id, now, event;
	struct rsm_clock clock;
	struct rsm_stats stats;
	uint8_t server_port[65536 / 8];
};

void
rsm_default_config(struct rsm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_flows = 100000;
	cfg->max_ooo_segments = 1024;
	cfg->max_ooo_bytes = 1u << 20;
	cfg->max_ooo_total = 64u << 20;
	cfg->idle_timeout = 300;
}

static void
list_remove(struct flow_list *l, struct rsm_flow *f)
{
	struct rsm_flow *prev = f->link[l->by].prev, *next = f->link[l->by].next;

	if (prev)
		prev->link[l->by].next = next;
	else
		l->head = next;
	if (next)
		next->link[l->by].prev = prev;
	else
		l->tail = prev;
	f->link[l->by].prev = f->link[l->by].next = NULL;
}

static void
list_append(struct flow_list *l, struct rsm_flow *f)
{
	f->link[l->by].next = NULL;
	f->link[l->by].prev = l->tail;
	if (l->tail)
		l->tail->link[l->by].next = f;
	else
		l->head = f;
	l->tail = f;
}

/*
 * Keyed (siphash.c): a fixed hash let one /64 of IPv6 sources fill one
 * bucket. An IPv4 key is hashed as its 16 meaningful bytes, not 40: this
 * runs for every packet.
 */
static uint64_t
key_hash(const struct rsm_hash_key *key, const struct rsm_key *k)
{
	uint8_t v4[16];

	if (k->family != 4)
		return rsm_siphash(key, k, sizeof(*k));
	memcpy(v4, k, 8); /* family, pad, ports */
	memcpy(v4 + 8, k->addr[0], 4);
	memcpy(v4 + 12, k->addr[1], 4);
	return rsm_siphash(key, v4, sizeof(v4));
}

static int
endpoint_cmp(const struct cap_addr *a, uint16_t ap, const struct cap_addr *b, uint16_t bp)
{
	int c = memcmp(a->bytes, b->bytes, 16);

	return c ? c : (int)ap - (int)bp;
}

/*
 * Canonical key; *src_first tells whether the segment's source is endpoint 0.
 * Inline: it runs per packet, and with two callers the compiler stopped
 * inlining it (1.7 M more instructions on bench's mix-100).
 */
static inline void
make_key(struct rsm_key *k, const struct cap_segment *s, bool *src_first)
{
	memset(k, 0, sizeof(*k));
	k->family = s->src.family;
	*src_first = endpoint_cmp(&s->src, s->sport, &s->dst, s->dport) <= 0;
	const struct cap_addr *a = *src_first ? &s->src : &s->dst, *b = *src_first ? &s->dst : &s->src;

	memcpy(k->addr[0], a->bytes, 16);
	memcpy(k->addr[1], b->bytes, 16);
	k->port[0] = *src_first ? s->sport : s->dport;
	k->port[1] = *src_first ? s->dport : s->sport;
}

uint64_t
rsm_flow_hash(const struct rsm_hash_key *key, const struct cap_segment *s)
{
	struct rsm_key k;
	bool src_first;

	make_key(&k, s, &src_first);
	return key_hash(key, &k);
}

static struct rsm_flow *
find(struct rsm_table *t, const struct rsm_key *k, uint32_t hash)
{
	for (struct rsm_flow *f = t->buckets[hash & (t->nbuckets - 1)]; f; f = f->hnext)
		if (f->hash == hash && memcmp(&f->key, k, sizeof(*k)) == 0)
			return f;
	return NULL;
}

static void
bucket_unlink(struct rsm_table *t, struct rsm_flow *f)
{
	struct rsm_flow **pp = &t->buckets[f->hash & (t->nbuckets - 1)];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
}

/* Double the buckets while the table is fuller than one flow per bucket. */
static void
maybe_grow(struct rsm_table *t)
{
	size_t n = t->nbuckets * 2;
	struct rsm_flow **b;

	if (t->count < t->nbuckets || n > (size_t)t->cfg.max_flows * 2)
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return; /* keep the longer chains; still correct */
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (struct rsm_flow *f = t->buckets[i], *nx; f; f = nx) {
			nx = f->hnext;
			f->hnext = b[f->hash & (n - 1)];
			b[f->hash & (n - 1)] = f;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static void
sink_init(struct rsm_sink *k, struct rsm_table *t, struct rsm_flow *f, enum rsm_dir dir)
{
	*k = (struct rsm_sink){
		.fn = t->fn, .arg = t->arg, .conn = &f->conn, .dir = dir, .ts = t->now,
		.cfg = &t->cfg, .stats = &t->stats,
	};
}

static void
qlist_remove(struct rsm_table *t, struct rsm_flow *f)
{
	if (!f->in_qlist)
		return;
	list_remove(&t->queued, f);
	f->in_qlist = false;
}

static bool
holds_data(const struct rsm_flow *f)
{
	return f->half[0].ooo || f->half[1].ooo;
}

/* Keep the list of flows holding out-of-order data in step with this one. */
static void
qlist_update(struct rsm_table *t, struct rsm_flow *f)
{
	if (holds_data(f) == f->in_qlist)
		return;
	if (f->in_qlist) {
		qlist_remove(t, f);
		return;
	}
	list_append(&t->queued, f);
	f->in_qlist = true;
}

static void
free_queues(struct rsm_table *t, struct rsm_flow *f)
{
	qlist_remove(t, f);
	for (int d = 0; d < 2; d++) {
		free(f->half[d].recent);
		f->half[d].recent = NULL;
		while (f->half[d].ooo) {
			struct rsm_seg *s = f->half[d].ooo;

			f->half[d].ooo = s->next;
			t->stats.queued -= RSM_SEG_COST(s->len);
			cap_budget_give(RSM_SEG_COST(s->len));
			free(s);
		}
		f->half[d].ooo_tail = NULL;
		f->half[d].ooo_n = 0;
		f->half[d].ooo_bytes = 0;
	}
}

/* Deliver what is left, tell the caller how it ended, and let the flow linger. */
static void
end_flow(struct rsm_table *t, struct rsm_flow *f, enum rsm_end why)
{
	struct rsm_sink k;

	if (f->state == FS_CLOSED)
		return;
	if (f->state == FS_SYN_SENT && (why == RSM_END_TIMEOUT || why == RSM_END_UNFINISHED))
		why = RSM_END_NO_ANSWER;
	/* A FIN was seen but the input ended before the other side's: still a close. */
	if (why == RSM_END_UNFINISHED && (f->half[0].fin || f->half[1].fin))
		why = RSM_END_CLOSED;
	for (int d = 0; d < 2; d++) {
		sink_init(&k, t, f, (enum rsm_dir)d);
		stream_flush(&f->half[d], &k);
	}
	free_queues(t, f);
	struct rsm_event ev = {.type = RSM_EV_CLOSE, .conn = &f->conn, .ts = t->now, .end = why};

	t->fn(t->arg, &ev);
	f->conn.user = NULL;
	f->state = FS_CLOSED;
	f->closed_at = t->now;
	list_remove(&t->active, f);
	list_append(&t->linger, f);
}

static void
destroy(struct rsm_table *t, struct rsm_flow *f)
{
	bucket_unlink(t, f);
	list_remove(f->state == FS_CLOSED ? &t->linger : &t->active, f);
	free_queues(t, f);
	free(f);
	t->count--;
	t->stats.active = t->count;
}

static void
make_room(struct rsm_table *t)
{
	if (t->count < t->cfg.max_flows)
		return;
	if (t->linger.head) {
		destroy(t, t->linger.head);
		return;
	}
	t->stats.evicted++;
	struct rsm_flow *old = t->active.head;

	end_flow(t, old, RSM_END_EVICTED);
	destroy(t, old);
}

static bool
is_server_port(const struct rsm_table *t, uint16_t port)
{
	return t->server_port[port >> 3] & (1u << (port & 7));
}

/* Which side of a first segment is the client: the SYN tells, else the port. */
static bool
src_is_client(const struct rsm_table *t, const struct cap_segment *s)
{
	if (s->flags & CAP_TH_SYN)
		return !(s->flags & CAP_TH_ACK);
	bool d = is_server_port(t, s->dport), sp = is_server_port(t, s->sport);

	if (d != sp)
		return d;
	return s->dport <= s->sport;
}

static struct rsm_flow *
create(struct rsm_table *t, const struct rsm_key *k, uint32_t hash, const struct cap_segment *s)
{
	struct rsm_flow *f;

	make_room(t);
	/* cache-line aligned, so that a lookup costs one line per flow it passes */
	f = aligned_alloc(64, (sizeof(*f) + 63) & ~(size_t)63);
	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->hash = hash;
	f->state = FS_SYN_SENT;
	bool c = src_is_client(t, s);

	f->conn.id = ++t->next_id;
	f->conn.client = c ? s->src : s->dst;
	f->conn.server = c ? s->dst : s->src;
	f->conn.client_port = c ? s->sport : s->dport;
	f->conn.server_port = c ? s->dport : s->sport;
	f->conn.ts_first = f->conn.ts_last = t->now;
	f->conn.first_event = t->event;
	f->conn.midstream = !(s->flags & CAP_TH_SYN);
	if (f->conn.midstream)
		f->state = FS_OPEN;
	f->hnext = t->buckets[hash & (t->nbuckets - 1)];
	t->buckets[hash & (t->nbuckets - 1)] = f;
	list_append(&t->active, f);
	t->count++;
	t->stats.flows++;
	t->stats.active = t->count;
	maybe_grow(t);
	struct rsm_event ev = {.type = RSM_EV_OPEN, .conn = &f->conn, .ts = t->now};

	t->fn(t->arg, &ev);
	return f;
}

static void
on_syn(struct rsm_flow *f, enum rsm_dir dir, const struct cap_segment *s)
{
	if (!(s->flags & CAP_TH_ACK)) {
		if (dir == RSM_C2S && !f->half[RSM_C2S].based)
			stream_base(&f->half[RSM_C2S], s->seq + 1);
		return;
	}
	if (dir != RSM_S2C)
		return;
	f->conn.synack_seen = true;
	f->state = FS_OPEN;
	if (!f->half[RSM_S2C].based)
		stream_base(&f->half[RSM_S2C], s->seq + 1);
	if (!f->half[RSM_C2S].based)
		stream_base(&f->half[RSM_C2S], s->ack);
}

/*
 * The receive window the peer of dir last advertised, in bytes. Scaled only
 * when both SYNs offered the option (RFC 7323 2.2); without the handshake
 * the shift is unknown, so the widest (14) is assumed: a real RST or FIN is
 * never taken for a forged one, at the price of a weaker check.
 */
static uint64_t
peer_window(const struct rsm_flow *f, enum rsm_dir dir)
{
	const struct rsm_half *me = &f->half[dir], *peer = &f->half[!dir];
	unsigned shift = 14;

	if (me->syn_seen && peer->syn_seen)
		shift = me->wscale && peer->wscale ? peer->wscale - 1u : 0;
	return (uint64_t)peer->window << shift;
}

/*
 * RFC 5961 3.2, seen from the wire: a RST (or FIN) of dir counts only when
 * its sequence number is the next one expected, or within the window the
 * peer advertised past it. Expected is what the peer acknowledged or what
 * was delivered, whichever is lower (the capture may have missed either);
 * the window runs from the higher. Nothing to check against (the sender's
 * sequence or the peer's window never seen): accepted.
 */
static bool
in_window(const struct rsm_flow *f, enum rsm_dir dir, int64_t off)
{
	const struct rsm_half *h = &f->half[dir];
	uint64_t lo = h->next, hi = h->next, win;

	if (!h->based || !f->half[!dir].window_seen)
		return true;
	win = peer_window(f, dir);
	if (h->fin && h->next >= h->fin_off)
		hi++; /* the FIN takes a sequence number: a RST after it comes one later */
	if (h->acked_valid) {
		lo = h->acked < lo ? h->acked : lo;
		/*
		 * An ACK past what was seen stands for data the capture lost, but a
		 * forged one must not open the window wide: it moves the edge by one
		 * window at most.
		 */
		if (h->acked > hi)
			hi = h->acked - hi > win ? hi + win : h->acked;
	}
	return off >= 0 && (uint64_t)off >= lo && (uint64_t)off <= hi + win;
}

/* A RST from the server before any SYN-ACK: the answer to the SYN. */
static bool
rst_answers_syn(const struct rsm_flow *f, enum rsm_dir dir)
{
	return f->state == FS_SYN_SENT && dir == RSM_S2C && !f->conn.synack_seen;
}

/* The side that closed first (RST or FIN), kept for the session's end. */
static void
note_closer(struct rsm_flow *f, enum rsm_dir dir)
{
	if (!f->conn.first_closer)
		f->conn.first_closer = (uint8_t)(1 + dir);
}

/*
 * A RST counts when it is in the window; a SYN answered by a RST is a
 * refusal when the RST acknowledges that SYN (RFC 793 3.4, SYN-SENT: only
 * the ACK field makes it acceptable).
 */
static bool
rst_acceptable(const struct rsm_flow *f, enum rsm_dir dir, const struct cap_segment *s)
{
	const struct rsm_half *c = &f->half[RSM_C2S];

	if (rst_answers_syn(f, dir))
		return (s->flags & CAP_TH_ACK) && (!c->based || stream_offset(c, s->ack) == 0);
	return in_window(f, dir, stream_offset(&f->half[dir], s->seq));
}

static void
on_rst(struct rsm_table *t, struct rsm_flow *f, enum rsm_dir dir)
{
	bool refused = rst_answers_syn(f, dir);

	note_closer(f, dir);
	end_flow(t, f, refused ? RSM_END_REFUSED : RSM_END_RESET);
}

static void
on_payload(struct rsm_table *t, struct rsm_flow *f, enum rsm_dir dir, const struct cap_segment *s)
{
	struct rsm_half *h = &f->half[dir];
	uint32_t seq = s->seq + ((s->flags & CAP_TH_SYN) ? 1 : 0);
	struct rsm_sink k;

	if (!h->based)
		stream_base(h, seq);
	f->state = FS_OPEN;
	sink_init(&k, t, f, dir);
	stream_data(h, &k, stream_offset(h, seq), s->payload, s->len, s->missing);
}

/* Both directions have ended with a FIN (the bytes before it delivered, or acknowledged). */
static void
maybe_close(struct rsm_table *t, struct rsm_flow *f)
{
	if (f->state != FS_CLOSED && stream_finished(&f->half[0]) && stream_finished(&f->half[1]))
		end_flow(t, f, RSM_END_CLOSED);
}

static void
on_segment(struct rsm_table *t, struct rsm_flow *f, enum rsm_dir dir, const struct cap_segment *s)
{
	struct rsm_half *h = &f->half[dir], *peer = &f->half[!dir];
	struct rsm_sink k;

	/* Out of the window: ignored whole, its ACK too (a forged ACK would widen the window). */
	if ((s->flags & CAP_TH_RST) && !rst_acceptable(f, dir, s)) {
		t->stats.ignored_resets++;
		return;
	}
	if (s->flags & CAP_TH_SYN) {
		h->syn_seen = true;
		h->wscale = s->wscale;
		on_syn(f, dir, s);
	}
	if (!(s->flags & CAP_TH_RST)) { /* a RST's window says nothing */
		h->window = s->window;
		h->window_seen = true;
	}
	/*
	 * The ACK first: it says what the sender had received before it sent
	 * this segment, so a hole it reveals in the other direction comes before
	 * this segment's data (a reply lost before the next command).
	 */
	if ((s->flags & CAP_TH_ACK) && peer->based) {
		sink_init(&k, t, f, (enum rsm_dir)!dir);
		stream_ack(peer, &k, stream_offset(peer, s->ack));
	}
	if (s->flags & CAP_TH_RST) { /* after its ACK, which still tells what arrived */
		on_rst(t, f, dir);
		return;
	}
	if (s->len + s->missing > 0)
		on_payload(t, f, dir, s);
	if (s->flags & CAP_TH_FIN) {
		uint32_t seq = s->seq + ((s->flags & CAP_TH_SYN) ? 1 : 0);

		if (!h->based)
			stream_base(h, seq);
		int64_t fin_off = stream_offset(h, seq) + s->len + s->missing;

		if (!in_window(f, dir, fin_off)) {
			t->stats.ignored_fins++;
		} else {
			note_closer(f, dir);
			stream_fin(h, fin_off);
		}
	}
	maybe_close(t, f);
}

/*
 * Past the total cap on held out-of-order data, the flows that started
 * holding first give up their holes (gaps, counted) until the total fits.
 */
static void
shed_queues(struct rsm_table *t)
{
	struct rsm_sink k;

	while (t->stats.queued > t->cfg.max_ooo_total && t->queued.head) {
		struct rsm_flow *f = t->queued.head;

		t->stats.ooo_overflows++;
		for (int d = 0; d < 2; d++) {
			sink_init(&k, t, f, (enum rsm_dir)d);
			while (f->half[d].ooo)
				stream_skip_hole(&f->half[d], &k);
		}
		qlist_remove(t, f);
		maybe_close(t, f); /* the hole was all that kept it open */
	}
}

bool
rsm_clock_step(struct rsm_clock *c, uint64_t ts_us)
{
	if (ts_us > c->now)
		c->now = ts_us;
	if (c->now - c->last_sweep < SWEEP_US)
		return false;
	c->last_sweep = c->now;
	return true;
}

static void
sweep(struct rsm_table *t)
{
	uint64_t idle = (uint64_t)t->cfg.idle_timeout * 1000000u;

	while (t->linger.head && t->now - t->linger.head->closed_at > LINGER_US)
		destroy(t, t->linger.head);
	while (t->active.head && t->now - t->active.head->conn.ts_last > idle) {
		struct rsm_flow *f = t->active.head;

		t->stats.timed_out++;
		end_flow(t, f, RSM_END_TIMEOUT);
		destroy(t, f);
	}
}

/*
 * An ICMP unreachable quoting a segment of a flow: recorded on the flow, and
 * when the flow is a connection attempt still waiting for its SYN-ACK, the
 * answer to that attempt.
 */
static void
on_unreachable(struct rsm_table *t, struct rsm_flow *f, const struct cap_segment *s)
{
	f->conn.icmp_type = s->icmp_type;
	f->conn.icmp_code = s->icmp_code;
	f->conn.icmp_from = s->reporter;
	if (f->state == FS_SYN_SENT)
		end_flow(t, f, RSM_END_UNREACHABLE);
}

/*
 * A client SYN on a known port pair starts a new connection when the old one
 * is over, or when its sequence number is not the one the old handshake used
 * (a retransmitted SYN repeats it).
 */
static bool
reused(struct rsm_flow *f, const struct cap_segment *s)
{
	const struct rsm_half *c = &f->half[RSM_C2S];

	if (f->state == FS_CLOSED)
		return true;
	if (s->sport != f->conn.client_port || !c->based)
		return false;
	return stream_offset(c, s->seq + 1) != 0;
}

void
rsm_tick(struct rsm_table *t, uint64_t now_us)
{
	bool due = rsm_clock_step(&t->clock, now_us);

	t->now = t->clock.now;
	t->event++;
	if (due)
		sweep(t);
}

void
rsm_advance(struct rsm_table *t, uint64_t now_us, bool due)
{
	t->now = now_us;
	if (due)
		sweep(t);
}

void
rsm_feed(struct rsm_table *t, const struct cap_segment *s)
{
	bool due = rsm_clock_step(&t->clock, s->ts_us);

	t->now = t->clock.now;
	if (due)
		sweep(t);
	rsm_feed_at(t, s, t->now, t->event + 1);
}

void
rsm_feed_at(struct rsm_table *t, const struct cap_segment *s, uint64_t now_us, uint64_t event)
{
	struct rsm_key k;
	bool src_first;

	t->now = now_us;
	t->event = event;
	make_key(&k, s, &src_first);
	uint32_t hash = (uint32_t)key_hash(&t->cfg.hash_key, &k);
	struct rsm_flow *f = find(t, &k, hash);

	if (s->icmp_type) {
		if (f && f->state != FS_CLOSED)
			on_unreachable(t, f, s);
		else
			t->stats.ignored++;
		return;
	}
	bool syn = (s->flags & (CAP_TH_SYN | CAP_TH_ACK)) == CAP_TH_SYN;

	if (f && f->state == FS_CLOSED && !syn) { /* a late packet of a finished connection */
		t->stats.ignored++;
		return;
	}
	if (f && syn && reused(f, s)) { /* the port pair now carries a new connection */
		end_flow(t, f, RSM_END_UNFINISHED);
		destroy(t, f);
		f = NULL;
	}
	if (!f) {
		if (!(s->flags & CAP_TH_SYN) && s->len + s->missing == 0) {
			t->stats.ignored++;
			return;
		}
		f = create(t, &k, hash, s);
		if (!f) {
			t->stats.ignored++;
			return;
		}
	}
	enum rsm_dir dir = (s->sport == f->conn.client_port &&
			    memcmp(s->src.bytes, f->conn.client.bytes, 16) == 0)
				   ? RSM_C2S
				   : RSM_S2C;

	f->conn.packets[dir]++;
	f->conn.ts_last = t->now;
	f->conn.last_event = event;
	if (s->window == 0 && (s->flags & (CAP_TH_ACK | CAP_TH_SYN | CAP_TH_RST)) == CAP_TH_ACK)
		f->conn.zero_window[dir]++; /* the sender of this segment cannot take more */
	list_remove(&t->active, f);
	list_append(&t->active, f);
	on_segment(t, f, dir, s);
	if (f->state != FS_CLOSED)
		qlist_update(t, f);
	if (t->stats.queued > t->cfg.max_ooo_total)
		shed_queues(t);
}

static int
by_id(const void *a, const void *b)
{
	const struct rsm_flow *x = *(const struct rsm_flow *const *)a;
	const struct rsm_flow *y = *(const struct rsm_flow *const *)b;

	return x->conn.id < y->conn.id ? -1 : x->conn.id > y->conn.id;
}

void
rsm_flush(struct rsm_table *t)
{
	size_t n = 0;
	struct rsm_flow **all;

	for (struct rsm_flow *f = t->active.head; f; f = f->link[AGE].next)
		n++;
	all = malloc((n ? n : 1) * sizeof(*all));
	if (!all) { /* still end every flow, in table order */
		while (t->active.head)
			end_flow(t, t->active.head, RSM_END_UNFINISHED);
		return;
	}
	n = 0;
	for (struct rsm_flow *f = t->active.head; f; f = f->link[AGE].next)
		all[n++] = f;
	qsort(all, n, sizeof(*all), by_id);
	for (size_t i = 0; i < n; i++)
		end_flow(t, all[i], RSM_END_UNFINISHED);
	free(all);
}

struct rsm_table *
rsm_new(const struct rsm_config *cfg, rsm_event_fn *fn, void *arg)
{
	struct rsm_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (t->cfg.max_flows == 0)
		t->cfg.max_flows = 1;
	if (rsm_hash_key_ensure(&t->cfg.hash_key) < 0) {
		free(t);
		return NULL;
	}
	t->fn = fn;
	t->arg = arg;
	t->active.by = t->linger.by = AGE;
	t->queued.by = QUEUED;
	t->nbuckets = INITIAL_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < cfg->n_server_ports; i++)
		t->server_port[cfg->server_ports[i] >> 3] |= 1u << (cfg->server_ports[i] & 7);
	t->cfg.server_ports = NULL; /* copied into the bitmap; the caller's array is not kept */
	t->cfg.n_server_ports = 0;
	return t;
}

const struct rsm_stats *
rsm_stats(const struct rsm_table *t)
{
	return &t->stats;
}

void
rsm_free(struct rsm_table *t)
{
	if (!t)
		return;
	while (t->active.head)
		destroy(t, t->active.head);
	while (t->linger.head)
		destroy(t, t->linger.head);
	free(t->buckets);
	free(t);
}
