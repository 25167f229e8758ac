/*
 * shard.c - N workers, each with its own flow table and decoder, fed by the
 * reading thread; their sessions merged back into single-thread order.
 *
 * The order one thread writes sessions in is the order of the events that
 * end them: a segment (FIN, RST, eviction), a sweep for idle flows (several
 * flows, oldest activity first), the end of input (by first packet). Every
 * session a worker hands back carries that as a key: (event, phase, sub),
 * sub being the flow's last event in a sweep, its first event at the end,
 * and the worker's running count otherwise (one segment goes to one worker).
 * An opening is handed back too, so that the reader can number sessions by
 * first packet. Workers publish what they have at each sync (every tick),
 * with the last event they finished; the reader writes out, sorted by key,
 * everything up to the event all workers have finished. The id comes back
 * to the worker through its flow_ctx: a session that ends after that is
 * written by the worker, and the reader only copies the bytes.
 */
#include "shard.h"

#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"

#define RING_BYTES (1u << 20)
#define PUBLISH_EVERY 64 /* records per ring before the consumer is told */
#define SYNC_EVERY 256 /* segments between syncs, besides the ticks */
#define END_BATCH 1024	 /* sessions a worker ends at the end of input before handing them back */

enum in_type { IN_SEG, IN_SWEEP, IN_SYNC, IN_END };

/* What the reader sends a worker; a segment's payload follows it. */
struct in_rec {
	uint32_t type;
	uint64_t event, now;
	struct cap_segment seg;
};

enum phase { PH_SWEEP, PH_SEG };
enum out_type { OUT_OPEN, OUT_CLOSE };

/*
 * What a worker keeps per session (as the session's user pointer): the
 * session, the id the reader gives it once it has put the opening in order
 * (0 until then), and the session as written, when the worker could write
 * it itself (the id known by the time it ended).
 */
struct flow_ctx {
	struct smtp_session *s;
	_Atomic uint64_t id;
	char *text;
	size_t len;
};

/* What a worker hands back: a session opened or ended, and where in the event order. */
struct out_rec {
	uint64_t event, sub, seq;
	uint8_t phase, type;
	uint16_t worker;
	struct flow_ctx *fc;
};

struct outbox {
	struct out_rec *v;
	size_t n, cap;
};

/* Sessions written out, going back to the worker that allocated them to be freed there. */
struct freelist {
	struct flow_ctx **v;
	size_t n, cap;
};

struct worker {
	struct shard *sh;
	unsigned index;
	pthread_t thread;
	bool started;
	struct ring ring;
	unsigned unpublished; /* reader side: records committed since the last publish */
	/* the worker's own */
	struct rsm_table *rsm;
	struct smtp_decoder *dec;
	uint64_t event, seq;
	enum phase phase;
	bool at_end;
	unsigned end_batch;
	struct outbox local;
	FILE *mem; /* a memory stream the worker writes sessions to */
	char *mem_buf;
	size_t mem_size;
	/* shared, under lock */
	pthread_mutex_t lock;
	struct outbox shared;
	uint64_t progress; /* every event up to this one is done */
	uint64_t end_mark; /* at the end of input: the first event of the last flow ended */
	struct rsm_stats rs;
	struct smtp_stats ds;
	struct freelist written;
	/* the reader's: handed back, not yet written; written, not yet given back */
	struct outbox pending;
	struct freelist pending_free;
};

/*
 * Flows are spread by hash over SLOTS slots, each owned by a worker. Worker 0
 * is the reading thread itself: it also reads, parses and writes, so it owns
 * fewer slots (reader_slots()); with enough threads, none.
 */
#define SLOTS 64

/*
 * Slots for the reader. Reading, parsing, copying into the rings and putting
 * the output in order keep it busy; workers write most sessions themselves.
 * With one other thread it keeps 12 of 64 (perf per thread and the time each
 * side waited, mix-1000: fewer left the reader waiting for room, more left
 * the worker waiting for data); with more threads, none.
 */
static unsigned
reader_slots(unsigned n)
{
	return n == 1 ? SLOTS : n == 2 ? 12 : 0;
}

struct shard {
	struct shard_config cfg;
	unsigned n;
	uint8_t slot[SLOTS];
	struct worker *w;
	struct rsm_clock clock;
	uint64_t event, next_id, end_event;
	unsigned since_sync; /* segments since the last sync */
	struct outbox batch;
	bool finished;
};

/* A worker that cannot grow its outbox cannot hand sessions back: not silently. */
static void
outbox_push(struct outbox *b, const struct out_rec *r)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct out_rec *v = realloc(b->v, cap * sizeof(*v));

		if (!v) {
			fputs("smtpscope: out of memory (--threads)\n", stderr);
			exit(1);
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *r;
}

static void
flow_ctx_free(struct flow_ctx *fc)
{
	smtp_session_free(fc->s);
	if (fc->text)
		cap_budget_give(fc->len);
	free(fc->text);
	free(fc);
}

static void
freelist_push(struct freelist *l, struct flow_ctx *fc)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct flow_ctx **v = realloc(l->v, cap * sizeof(*v));

		if (!v) { /* freed here instead: slower, not wrong */
			flow_ctx_free(fc);
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = fc;
}

static void
freelist_free(struct freelist *l)
{
	for (size_t i = 0; i < l->n; i++)
		flow_ctx_free(l->v[i]);
	l->n = 0;
}

static void
outbox_move(struct outbox *to, struct outbox *from)
{
	for (size_t i = 0; i < from->n; i++)
		outbox_push(to, &from->v[i]);
	from->n = 0;
}

/* --- the worker's side --- */

static void end_handback(struct worker *w, uint64_t mark);

static void
keep(void *arg, const struct smtp_session *s)
{
	(void)arg; /* kept (keep_sessions): handed back by on_stream() */
	(void)s;
}

/* A session that ended, written here if its id is known already: the reader then only copies it. */
static void
render(struct worker *w, struct flow_ctx *fc)
{
	const struct shard_config *c = &w->sh->cfg;
	uint64_t id = atomic_load_explicit(&fc->id, memory_order_acquire);
	off_t len;

	if (!id || !c->render || !c->written || !w->mem || fseeko(w->mem, 0, SEEK_SET) != 0)
		return;
	fc->s->id = id;
	c->render(c->render_arg, w->mem, fc->s);
	/*
	 * The text waits for its turn beside the session's records: it draws on
	 * the same budget (capture.h). Refused, the reader writes it when its
	 * turn comes, from the records.
	 */
	if (fflush(w->mem) != 0 || ferror(w->mem) || (len = ftello(w->mem)) < 0 ||
	    !cap_budget_try((size_t)len))
		return;
	if (!(fc->text = malloc((size_t)len ? (size_t)len : 1))) {
		cap_budget_give((size_t)len);
		return; /* written by the reader instead */
	}
	memcpy(fc->text, w->mem_buf, (size_t)len);
	fc->len = (size_t)len;
}

/* The decoder's callback, wrapped: a session's flow_ctx is its user pointer. */
static void
on_stream(void *arg, const struct rsm_event *ev)
{
	struct worker *w = arg;
	struct smtp_session *s = ev->conn->user;
	struct out_rec r = {.event = w->event, .phase = (uint8_t)w->phase, .worker = (uint16_t)w->index};
	struct flow_ctx *fc;

	smtp_on_stream(w->dec, ev);
	if (ev->type == RSM_EV_OPEN && (s = ev->conn->user)) {
		if (!(fc = calloc(1, sizeof(*fc)))) { /* the session cannot be followed */
			smtp_session_free(s);
			ev->conn->user = NULL;
			return;
		}
		fc->s = s;
		s->user = fc;
		r.type = OUT_OPEN;
	} else if (ev->type == RSM_EV_CLOSE && s) {
		fc = s->user;
		render(w, fc);
		r.type = OUT_CLOSE;
	} else {
		return;
	}
	r.fc = fc;
	r.seq = w->seq++;
	r.sub = w->at_end ? ev->conn->first_event
		: w->phase == PH_SWEEP ? ev->conn->last_event : r.seq;
	outbox_push(&w->local, &r);
	if (w->at_end && ++w->end_batch == END_BATCH) {
		w->end_batch = 0;
		end_handback(w, r.sub);
	}
}

/*
 * Hand back what was opened and ended since the last sync; take back what the
 * reader has written, to free it on the thread whose heap it came from.
 */
static void
hand_back(struct worker *w, uint64_t progress, uint64_t end_mark)
{
	struct freelist done;

	pthread_mutex_lock(&w->lock);
	outbox_move(&w->shared, &w->local);
	w->progress = progress;
	w->end_mark = end_mark;
	w->rs = *rsm_stats(w->rsm);
	w->ds = *smtp_stats(w->dec);
	done = w->written;
	w->written = (struct freelist){0};
	pthread_mutex_unlock(&w->lock);
	freelist_free(&done);
	free(done.v);
}

/* Only this worker writes its progress and end mark: it may read them without the lock. */
static void
publish(struct worker *w, uint64_t progress)
{
	hand_back(w, progress, w->end_mark);
}

/* One record, on whichever thread runs the worker; false after the end. */
static bool
handle(struct worker *w, const struct in_rec *r, const uint8_t *payload)
{
	struct cap_segment seg;

	w->event = r->event;
	switch (r->type) {
	case IN_SEG:
		seg = r->seg;
		seg.payload = payload;
		w->phase = PH_SEG;
		rsm_feed_at(w->rsm, &seg, r->now, r->event);
		return true;
	case IN_SWEEP:
		w->phase = PH_SWEEP;
		rsm_advance(w->rsm, r->now, true);
		return true;
	case IN_SYNC:
		publish(w, r->event);
		return true;
	default: /* IN_END */
		publish(w, r->event - 1); /* everything before the end is done */
		w->phase = PH_SWEEP;
		w->at_end = true;
		rsm_advance(w->rsm, r->now, false);
		rsm_flush(w->rsm); /* hands back as it goes: end_handback() */
		publish(w, UINT64_MAX);
		return false;
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	bool more;

	do {
		size_t len;
		const struct in_rec *r = ring_next(&w->ring, &len);

		more = handle(w, r, (const uint8_t *)(r + 1));
		ring_release(&w->ring);
	} while (more);
	return NULL;
}

/* --- the reader's side --- */

/* To a worker thread through its ring (a copy), or to the reader's own share at once. */
static void
send_rec(struct worker *w, uint32_t type, uint64_t event, uint64_t now,
	 const struct cap_segment *seg)
{
	if (w->index == 0) {
		struct in_rec r = {.type = type, .event = event, .now = now};

		if (seg)
			r.seg = *seg;
		handle(w, &r, seg ? seg->payload : NULL);
		return;
	}
	size_t extra = seg ? seg->len : 0, max = ring_max_record(&w->ring) - sizeof(struct in_rec);
	struct in_rec *r = ring_reserve(&w->ring, sizeof(*r) + (extra > max ? max : extra));

	r->type = type;
	r->event = event;
	r->now = now;
	if (seg) {
		r->seg = *seg;
		if (extra > max) { /* cannot happen with 64 KiB datagrams; said as a cut if it did */
			r->seg.len = (uint32_t)max;
			r->seg.missing += (uint32_t)(extra - max);
			extra = max;
		}
		if (extra)
			memcpy(r + 1, seg->payload, extra);
	}
	ring_commit(&w->ring, sizeof(*r) + extra);
	if (++w->unpublished >= PUBLISH_EVERY) {
		ring_publish(&w->ring, false);
		w->unpublished = 0;
	}
}

static void
broadcast(struct shard *sh, uint32_t type)
{
	for (unsigned i = 0; i < sh->n; i++)
		send_rec(&sh->w[i], type, sh->event, sh->clock.now, NULL);
}

static void
publish_all(struct shard *sh)
{
	for (unsigned i = 1; i < sh->n; i++) {
		ring_publish(&sh->w[i].ring, true); /* a sync: the workers should not sleep on it */
		sh->w[i].unpublished = 0;
	}
}

/*
 * Both directions of a connection (and ICMP about it) go to the same worker:
 * the endpoints are hashed in a canonical order, keyed (siphash.c), so that
 * no sender can choose flows that all land on one worker. The slot depends on
 * the run's key; the output does not (the reader restores the order).
 */
static struct worker *
owner(struct shard *sh, const struct cap_segment *s)
{
	uint64_t h = rsm_flow_hash(&sh->cfg.rsm.hash_key, s);

	/* the high half: the workers' tables take the low half for their buckets */
	return &sh->w[sh->slot[(h >> 32) % SLOTS]];
}

static void drain(struct shard *sh);

/* Every worker reports what it has done so far; the reader writes what is final. */
static void
sync_all(struct shard *sh)
{
	sh->since_sync = 0;
	broadcast(sh, IN_SYNC);
	publish_all(sh);
	drain(sh);
}

void
shard_feed(struct shard *sh, const struct cap_segment *seg)
{
	sh->event++;
	if (rsm_clock_step(&sh->clock, seg->ts_us))
		broadcast(sh, IN_SWEEP);
	send_rec(owner(sh, seg), IN_SEG, sh->event, sh->clock.now, seg);
	/*
	 * A sync per tick (4,096 frames) held too many ended sessions under a SYN
	 * flood (254 MB against 215 MB), and left sessions' ids unknown to their
	 * workers for longer, so the reader wrote more of them itself.
	 */
	if (++sh->since_sync == SYNC_EVERY)
		sync_all(sh);
}

static int
by_key(const void *a, const void *b)
{
	const struct out_rec *x = a, *y = b;

	if (x->event != y->event)
		return x->event < y->event ? -1 : 1;
	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	if (x->sub != y->sub)
		return x->sub < y->sub ? -1 : 1;
	if (x->worker != y->worker)
		return x->worker < y->worker ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Write out, in single-thread order, everything every worker is done with. */
static void
drain(struct shard *sh)
{
	uint64_t safe = UINT64_MAX, end_safe = UINT64_MAX;

	for (unsigned i = 0; i < sh->n; i++) {
		struct worker *w = &sh->w[i];

		pthread_mutex_lock(&w->lock);
		outbox_move(&w->pending, &w->shared);
		if (w->progress < safe)
			safe = w->progress;
		if (w->progress != UINT64_MAX && w->end_mark < end_safe)
			end_safe = w->end_mark;
		pthread_mutex_unlock(&w->lock);
	}
	sh->batch.n = 0;
	for (unsigned i = 0; i < sh->n; i++) {
		struct outbox *p = &sh->w[i].pending;
		size_t k = 0;

		/*
		 * In event order per worker; at the end of input, flows end in order of
		 * first event on every worker: those up to the least any unfinished
		 * worker has reached are final.
		 */
		while (k < p->n && (p->v[k].event <= safe ||
				    (p->v[k].event == sh->end_event && p->v[k].sub <= end_safe)))
			outbox_push(&sh->batch, &p->v[k++]);
		if (k && k < p->n)
			memmove(p->v, p->v + k, (p->n - k) * sizeof(*p->v));
		p->n -= k;
	}
	if (sh->batch.n > 1)
		qsort(sh->batch.v, sh->batch.n, sizeof(*sh->batch.v), by_key);
	for (size_t i = 0; i < sh->batch.n; i++) {
		struct flow_ctx *fc = sh->batch.v[i].fc;

		if (sh->batch.v[i].type == OUT_OPEN) {
			atomic_store_explicit(&fc->id, ++sh->next_id, memory_order_release);
			continue;
		}
		if (fc->text) {
			sh->cfg.written(sh->cfg.arg, fc->s, fc->text, fc->len);
		} else {
			fc->s->id = atomic_load_explicit(&fc->id, memory_order_relaxed); /* ours */
			sh->cfg.done(sh->cfg.arg, fc->s);
		}
		freelist_push(&sh->w[sh->batch.v[i].worker].pending_free, fc);
	}
	for (unsigned i = 0; i < sh->n; i++) {
		struct worker *w = &sh->w[i];
		bool stopped;

		if (!w->pending_free.n)
			continue;
		pthread_mutex_lock(&w->lock);
		stopped = sh->finished || w->progress == UINT64_MAX; /* it frees nothing any more */
		for (size_t k = 0; !stopped && k < w->pending_free.n; k++)
			freelist_push(&w->written, w->pending_free.v[k]);
		pthread_mutex_unlock(&w->lock);
		if (stopped)
			freelist_free(&w->pending_free);
		w->pending_free.n = 0;
	}
}

void
shard_tick(struct shard *sh, uint64_t now_us)
{
	sh->event++;
	if (rsm_clock_step(&sh->clock, now_us))
		broadcast(sh, IN_SWEEP);
	sync_all(sh);
}

/* Is a worker other than skip still ending its flows? */
static bool
others_busy(struct shard *sh, unsigned skip)
{
	bool busy = false;

	for (unsigned i = 0; i < sh->n && !busy; i++) {
		if (i == skip || (i > 0 && !sh->w[i].started))
			continue;
		pthread_mutex_lock(&sh->w[i].lock);
		busy = sh->w[i].progress != UINT64_MAX;
		pthread_mutex_unlock(&sh->w[i].lock);
	}
	return busy;
}

static void
nap(void)
{
	struct timespec ts = {0, 100000}; /* 0.1 ms */

	nanosleep(&ts, NULL);
}

/*
 * At the end of input a worker hands back every END_BATCH sessions, with the
 * first event of the last flow it ended. The reader's own share (worker 0)
 * then writes what is final and waits for the others to catch up, so that the
 * sessions held at once stay a few batches, whatever the number of flows.
 */
static void
end_handback(struct worker *w, uint64_t mark)
{
	struct shard *sh = w->sh;

	hand_back(w, w->progress, mark);
	if (w->index != 0)
		return;
	drain(sh);
	while (w->pending.n > 2 * END_BATCH && others_busy(sh, 0)) {
		nap();
		drain(sh);
	}
}

void
shard_finish(struct shard *sh)
{
	if (sh->finished)
		return;
	sh->end_event = ++sh->event;
	for (unsigned i = 1; i < sh->n; i++) {
		if (sh->w[i].started) { /* all of them, unless shard_new() failed */
			send_rec(&sh->w[i], IN_END, sh->event, sh->clock.now, NULL);
			ring_publish(&sh->w[i].ring, true);
		}
	}
	if (sh->w[0].rsm) /* the reader's own share, while the others end theirs */
		send_rec(&sh->w[0], IN_END, sh->event, sh->clock.now, NULL);
	while (others_busy(sh, 0)) { /* write as they end flows: not all of them at once */
		drain(sh);
		nap();
	}
	for (unsigned i = 0; i < sh->n; i++)
		if (sh->w[i].started)
			pthread_join(sh->w[i].thread, NULL);
	sh->finished = true;
	drain(sh);
}

/* Both stats structs hold only uint64_t counters: added up member by member. */
static void
add_counters(void *to, const void *from, size_t size)
{
	uint64_t a, b;

	for (size_t off = 0; off + sizeof(a) <= size; off += sizeof(a)) {
		memcpy(&a, (char *)to + off, sizeof(a));
		memcpy(&b, (const char *)from + off, sizeof(b));
		a += b;
		memcpy((char *)to + off, &a, sizeof(a));
	}
}

_Static_assert(sizeof(struct rsm_stats) % sizeof(uint64_t) == 0, "rsm_stats: uint64_t only");
_Static_assert(sizeof(struct smtp_stats) % sizeof(uint64_t) == 0, "smtp_stats: uint64_t only");

void
shard_totals(struct shard *sh, struct rsm_stats *rs, struct smtp_stats *ds)
{
	memset(rs, 0, sizeof(*rs));
	memset(ds, 0, sizeof(*ds));
	for (unsigned i = 0; i < sh->n; i++) {
		pthread_mutex_lock(&sh->w[i].lock);
		add_counters(rs, &sh->w[i].rs, sizeof(*rs));
		add_counters(ds, &sh->w[i].ds, sizeof(*ds));
		pthread_mutex_unlock(&sh->w[i].lock);
	}
}

static int
worker_init(struct shard *sh, struct worker *w, unsigned index)
{
	struct rsm_config rc = sh->cfg.rsm;
	struct smtp_config sc = sh->cfg.smtp;
	unsigned slots = 0;

	for (unsigned i = 0; i < SLOTS; i++)
		slots += sh->slot[i] == index;
	/* the table-wide caps, shared out as the flows are */
	rc.max_flows = (uint32_t)((uint64_t)rc.max_flows * slots / SLOTS);
	rc.max_flows = rc.max_flows ? rc.max_flows : 1;
	rc.max_ooo_total = rc.max_ooo_total * slots / SLOTS;
	sc.sink = NULL;
	sc.keep_sessions = true;
	w->sh = sh;
	w->index = index;
	pthread_mutex_init(&w->lock, NULL);
	if (index > 0 && ring_init(&w->ring, RING_BYTES) < 0)
		return -1;
	if (sh->cfg.render && (w->mem = open_memstream(&w->mem_buf, &w->mem_size)))
		__fsetlocking(w->mem, FSETLOCKING_BYCALLER); /* this worker's own */
	w->dec = smtp_new(&sc, keep, NULL);
	w->rsm = w->dec ? rsm_new(&rc, on_stream, w) : NULL;
	return w->rsm ? 0 : -1;
}

struct shard *
shard_new(const struct shard_config *cfg)
{
	struct shard *sh = calloc(1, sizeof(*sh));
	sigset_t all, old;
	bool ok = true;

	if (!sh)
		return NULL;
	sh->cfg = *cfg;
	if (rsm_hash_key_ensure(&sh->cfg.rsm.hash_key) < 0) {
		free(sh);
		return NULL;
	}
	sh->n = cfg->workers < 1 ? 1 : cfg->workers > SHARD_MAX_WORKERS ? SHARD_MAX_WORKERS : cfg->workers;
	for (unsigned i = 0, k = reader_slots(sh->n); i < SLOTS; i++)
		sh->slot[i] = (uint8_t)(i < k ? 0 : 1 + (i - k) % (sh->n - 1));
	sh->w = calloc(sh->n, sizeof(*sh->w));
	if (!sh->w) {
		free(sh);
		return NULL;
	}
	for (unsigned i = 0; i < sh->n && ok; i++)
		ok = worker_init(sh, &sh->w[i], i) == 0;
	/* signals (Ctrl-C, SIGUSR1) are for the reading thread */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 1; i < sh->n && ok; i++)
		ok = (sh->w[i].started = pthread_create(&sh->w[i].thread, NULL, worker_main,
							 &sh->w[i]) == 0);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ok) {
		shard_free(sh);
		return NULL;
	}
	return sh;
}

void
shard_free(struct shard *sh)
{
	if (!sh)
		return;
	shard_finish(sh);
	for (unsigned i = 0; i < sh->n; i++) {
		struct worker *w = &sh->w[i];

		free(w->pending.v); /* empty after a finish */
		freelist_free(&w->written);
		free(w->written.v);
		free(w->pending_free.v);
		free(w->local.v);
		free(w->shared.v);
		rsm_free(w->rsm);
		smtp_free(w->dec);
		ring_destroy(&w->ring);
		if (w->mem)
			fclose(w->mem);
		free(w->mem_buf);
		if (w->sh)
			pthread_mutex_destroy(&w->lock);
	}
	free(sh->batch.v);
	free(sh->w);
	free(sh);
}
