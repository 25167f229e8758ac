/*
 * ring.h - a single-producer, single-consumer queue of variable-size records
 * in one fixed buffer (private to shard/).
 *
 * The producer reserves and commits records, then publishes a batch (one
 * atomic store); the consumer takes them in order and releases each, telling
 * the producer every few records. A side that finds the ring full (producer)
 * or empty (consumer) spins briefly, then sleeps on a condition variable. A
 * sleeping consumer is woken when an eighth of the ring is waiting for it (or
 * when the producer says so): waking costs the producer a system call, and
 * the producer is the one that must not wait.
 */
#ifndef SMTPSCOPE_RING_H
#define SMTPSCOPE_RING_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *buf;
	size_t size; /* a power of two */
	pthread_mutex_t lock;
	pthread_cond_t moved;
	/* written by the producer */
	alignas(64) atomic_size_t head; /* bytes published */
	size_t p_head;                  /* bytes committed */
	size_t p_tail;                  /* the consumer's tail, as last read */
	atomic_int p_waiting;
	/* written by the consumer */
	alignas(64) atomic_size_t tail; /* bytes released */
	size_t c_head;                  /* the producer's head, as last read */
	size_t c_tail;                  /* where the next record starts */
	size_t c_next;                  /* the end of the record being read */
	unsigned c_unreleased;          /* records released but not yet told */
	atomic_int c_waiting;
};

/* size: bytes, rounded up to a power of two; records must fit in size / 2. */
int ring_init(struct ring *r, size_t size);
void ring_destroy(struct ring *r);
size_t ring_max_record(const struct ring *r);

/* Producer: room for len bytes (waits for it); commit makes them the next record. */
void *ring_reserve(struct ring *r, size_t len);
void ring_commit(struct ring *r, size_t len);
/* Producer: let the consumer see everything committed; wake it now if urgent. */
void ring_publish(struct ring *r, bool urgent);

/* Consumer: the next record (waits for one) and its length; release when done with it. */
const void *ring_next(struct ring *r, size_t *len);
void ring_release(struct ring *r);

#endif
