/*
 * frag.h - IP fragment reassembly (private to capture/).
 */
#ifndef SMTPSCOPE_CAPTURE_FRAG_H
#define SMTPSCOPE_CAPTURE_FRAG_H

#include "frame.h"

struct frag_dgram;

struct frag_table {
	struct frag_dgram *head, *tail; /* oldest first */
	unsigned count;
	size_t bytes;	/* memory held: datagrams and pieces with their overhead */
	uint8_t *out; /* the last datagram put back together */
	size_t out_cap;
	uint64_t reassembled, dropped;
	uint64_t now; /* the latest capture time seen: timestamps may go backwards */
	uint32_t max_dgrams; /* datagrams in progress (0: FRAG_DEFAULT_DGRAMS) */
	uint64_t max_bytes;  /* bytes held in all (0: FRAG_DEFAULT_BYTES) */
};

#define FRAG_DEFAULT_DGRAMS 256
#define FRAG_DEFAULT_BYTES (4u << 20)

/*
 * Add one fragment. 1: the datagram is whole, *whole describes it (its
 * payload valid until the next call); 0: held; -1: given up (counted).
 */
int frag_add(struct frag_table *t, const struct ip_datagram *d, uint64_t ts,
	     struct ip_datagram *whole);
void frag_expire(struct frag_table *t, uint64_t now);
/* What a datagram in progress, and a piece of len bytes, count against max_bytes. */
size_t frag_dgram_cost(void);
size_t frag_piece_cost(size_t len);
/* The input ended: every datagram still incomplete is given up (counted). */
void frag_give_up(struct frag_table *t);
void frag_free(struct frag_table *t);

#endif
