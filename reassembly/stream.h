/*
 * stream.h - one direction of a TCP connection (private to reassembly/).
 *
 * Sequence numbers become 64-bit offsets at this edge: offset 0 is the first
 * byte of data after the SYN (or the first byte seen, mid-stream), and a
 * reference point kept near the delivery point lets the 32-bit numbers wrap.
 */
#ifndef SMTPSCOPE_REASSEMBLY_STREAM_H
#define SMTPSCOPE_REASSEMBLY_STREAM_H

#include "reassembly.h"

struct rsm_seg {
	struct rsm_seg *next;
	uint64_t off;
	uint32_t len;     /* bytes in data[] */
	uint32_t missing; /* bytes after them that the snap length cut off */
	uint8_t data[];
};

/*
 * What a queued segment takes: its header, its bytes and what malloc adds.
 * The out-of-order caps count this, not the payload alone: a million one-byte
 * segments take 40 MB, not 1.
 */
#define RSM_SEG_COST(len) (sizeof(struct rsm_seg) + (len) + CAP_ALLOC_OVERHEAD)

#define RSM_RECENT 256 /* delivered bytes kept per direction to check retransmissions */

struct rsm_half {
	bool based;      /* offset 0 is known */
	bool fin;
	bool acked_valid;
	bool syn_seen;   /* this side's SYN: the window-scale option is known */
	uint32_t ref_seq; /* a sequence number and its offset, to unwrap */
	uint64_t ref_off;
	uint64_t next;    /* next offset to deliver */
	uint64_t fin_off;
	uint64_t acked;   /* highest offset the peer acknowledged */
	uint64_t recent_lo; /* the ring holds delivered bytes from here to next only */
	uint8_t *recent;     /* the last RSM_RECENT bytes delivered, a ring by offset */
	struct rsm_seg *ooo; /* out-of-order queue, sorted by offset */
	struct rsm_seg *ooo_tail;
	uint32_t ooo_n;
	/* what this side advertised, for the RST and FIN check (in padding: no bigger flows) */
	uint16_t window; /* the last window field it sent (unscaled) */
	uint8_t wscale;  /* 1 + the shift its SYN offered; 0: none */
	bool window_seen;
	uint64_t ooo_bytes; /* memory the queue takes (RSM_SEG_COST) */
};

/* Where a half delivers: the caller's callback and the flow it speaks of. */
struct rsm_sink {
	rsm_event_fn *fn;
	void *arg;
	struct rsm_conn *conn;
	enum rsm_dir dir;
	uint64_t ts;
	const struct rsm_config *cfg;
	struct rsm_stats *stats;
};

void stream_base(struct rsm_half *h, uint32_t seq);
int64_t stream_offset(const struct rsm_half *h, uint32_t seq);
void stream_data(struct rsm_half *h, const struct rsm_sink *k, int64_t off, const uint8_t *data,
		 uint32_t len, uint32_t missing);
void stream_ack(struct rsm_half *h, const struct rsm_sink *k, int64_t ack_off);
void stream_fin(struct rsm_half *h, int64_t fin_off);
bool stream_done(const struct rsm_half *h);
/* Done, or the peer acknowledged the FIN: the missing bytes before it will not come. */
bool stream_finished(const struct rsm_half *h);
/* Give up the first hole: a gap, then what is queued after it. */
void stream_skip_hole(struct rsm_half *h, const struct rsm_sink *k);
/* Deliver everything queued, with gaps for the holes; free the queue. */
void stream_flush(struct rsm_half *h, const struct rsm_sink *k);

#endif
