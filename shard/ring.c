/*
 * ring.c - the single-producer, single-consumer record queue of shard/.
 *
 * Positions are byte counts that only grow; the buffer offset is the count
 * modulo the size. A record is an 8-byte length and its bytes, padded to 8;
 * a record never wraps: when it would, a skip marker (length SKIP) fills the
 * rest of the buffer and the record starts at offset 0.
 */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

#define SKIP UINT64_MAX
#define SPINS 16 /* checks before sleeping: spinning longer took cores the reader needed */
#define RELEASE_EVERY 32 /* records the consumer takes before it tells the producer */

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static size_t
padded(size_t len)
{
	return (len + 7) & ~(size_t)7;
}

int
ring_init(struct ring *r, size_t size)
{
	size_t s = 4096;

	memset(r, 0, sizeof(*r));
	while (s < size)
		s <<= 1;
	r->buf = aligned_alloc(64, s);
	if (!r->buf)
		return -1;
	r->size = s;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->p_waiting, 0);
	atomic_init(&r->c_waiting, 0);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->moved, NULL);
	return 0;
}

void
ring_destroy(struct ring *r)
{
	if (!r->buf)
		return;
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->moved);
	free(r->buf);
	r->buf = NULL;
}

size_t
ring_max_record(const struct ring *r)
{
	return r->size / 2 - 8;
}

/*
 * Wait until *pos differs from seen. The waiting flag and the position are
 * sequentially consistent, as is the other side's "store the position, then
 * read the flag": one of the two sees the other, so no wake-up is lost.
 */
static size_t
wait_move(struct ring *r, atomic_size_t *pos, size_t seen, atomic_int *waiting)
{
	size_t now;

	for (int i = 0; i < SPINS; i++) {
		if ((now = atomic_load_explicit(pos, memory_order_acquire)) != seen)
			return now;
		cpu_relax();
	}
	pthread_mutex_lock(&r->lock);
	atomic_store(waiting, 1);
	while ((now = atomic_load(pos)) == seen)
		pthread_cond_wait(&r->moved, &r->lock);
	atomic_store(waiting, 0);
	pthread_mutex_unlock(&r->lock);
	return now;
}

static void
wake(struct ring *r, atomic_int *waiting)
{
	if (atomic_load(waiting)) {
		pthread_mutex_lock(&r->lock);
		pthread_cond_broadcast(&r->moved);
		pthread_mutex_unlock(&r->lock);
	}
}

/* Producer: wait until n more bytes fit after p_head. */
static void
wait_room(struct ring *r, size_t n)
{
	while (r->p_head + n - r->p_tail > r->size) {
		size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);

		if (t == r->p_tail) {
			ring_publish(r, true); /* the consumer may be waiting for what we hold */
			t = wait_move(r, &r->tail, t, &r->p_waiting);
		}
		r->p_tail = t;
	}
}

void *
ring_reserve(struct ring *r, size_t len)
{
	size_t need = 8 + padded(len), off = r->p_head & (r->size - 1);

	if (off + need > r->size) { /* would wrap: skip to the start */
		uint64_t skip = SKIP;

		wait_room(r, r->size - off);
		memcpy(r->buf + off, &skip, sizeof(skip));
		r->p_head += r->size - off;
		off = 0;
	}
	wait_room(r, need);
	return r->buf + off + 8;
}

void
ring_commit(struct ring *r, size_t len)
{
	uint64_t l = len;

	memcpy(r->buf + (r->p_head & (r->size - 1)), &l, sizeof(l));
	r->p_head += 8 + padded(len);
}

void
ring_publish(struct ring *r, bool urgent)
{
	if (atomic_load_explicit(&r->head, memory_order_relaxed) != r->p_head)
		atomic_store(&r->head, r->p_head);
	if (urgent || r->p_head - atomic_load_explicit(&r->tail, memory_order_relaxed) >= r->size / 8)
		wake(r, &r->c_waiting);
}

/* Consumer: tell the producer how far it got. */
static void
tell_tail(struct ring *r, size_t tail)
{
	r->c_unreleased = 0;
	atomic_store(&r->tail, tail);
	wake(r, &r->p_waiting);
}

const void *
ring_next(struct ring *r, size_t *len)
{
	for (;;) {
		size_t tail = r->c_tail;

		if (tail == r->c_head &&
		    (r->c_head = atomic_load_explicit(&r->head, memory_order_acquire)) == tail) {
			if (r->c_unreleased)
				tell_tail(r, tail); /* before sleeping: the producer may be waiting */
			r->c_head = wait_move(r, &r->head, tail, &r->c_waiting);
		}
		size_t off = tail & (r->size - 1);
		uint64_t l;

		memcpy(&l, r->buf + off, sizeof(l));
		if (l != SKIP) {
			*len = (size_t)l;
			r->c_next = tail + 8 + padded((size_t)l);
			return r->buf + off + 8;
		}
		r->c_tail = tail + r->size - off;
		tell_tail(r, r->c_tail);
	}
}

void
ring_release(struct ring *r)
{
	r->c_tail = r->c_next;
	if (++r->c_unreleased >= RELEASE_EVERY)
		tell_tail(r, r->c_tail);
}
