/*
 * stream.c - ordered delivery for one direction of a flow.
 *
 * In-order data is delivered straight from the packet (no copy). Data ahead
 * of the delivery point is copied into a sorted queue, capped in segments and
 * bytes; hitting a cap turns the hole into a gap event rather than growing.
 * A hole also becomes a gap when the peer acknowledges data beyond it (the
 * bytes reached the peer, the capture missed them; Suricata's CheckGap()).
 * Bytes already delivered are dropped as retransmissions: first data wins.
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

void
stream_base(struct rsm_half *h, uint32_t seq)
{
	h->based = true;
	h->ref_seq = seq;
	h->ref_off = 0;
	h->next = 0;
}

int64_t
stream_offset(const struct rsm_half *h, uint32_t seq)
{
	return (int64_t)h->ref_off + (int32_t)(seq - h->ref_seq);
}

/* Keep the reference near the delivery point so that wrap-around stays unambiguous. */
static void
move_ref(struct rsm_half *h)
{
	h->ref_seq += (uint32_t)(h->next - h->ref_off);
	h->ref_off = h->next;
}

static void
emit(const struct rsm_sink *k, enum rsm_ev type, const uint8_t *data, size_t len)
{
	struct rsm_event ev = {
		.type = type, .dir = k->dir, .conn = k->conn, .ts = k->ts, .data = data, .len = len,
	};

	if (len == 0)
		return;
	if (type == RSM_EV_DATA) {
		k->conn->bytes[k->dir] += len;
	} else {
		k->conn->gap_bytes[k->dir] += len;
		k->stats->gap_bytes += len;
	}
	k->fn(k->arg, &ev);
}

/* Remember the tail of what is delivered, to check later retransmissions against it. */
static void
remember(struct rsm_half *h, const uint8_t *data, uint32_t len)
{
	uint64_t off = h->next;

	if (!h->recent && !(h->recent = malloc(RSM_RECENT)))
		return;
	if (len > RSM_RECENT) {
		off += len - RSM_RECENT;
		data += len - RSM_RECENT;
		len = RSM_RECENT;
	}
	size_t at = (size_t)(off % RSM_RECENT), first = RSM_RECENT - at < len ? RSM_RECENT - at : len;

	memcpy(h->recent + at, data, first); /* the ring in at most two pieces */
	memcpy(h->recent, data + first, len - first);
}

/*
 * A retransmission covers [off, off+len) of bytes already delivered: compare
 * what is still in the ring. First data wins either way (Zeek, libnids); a
 * difference is counted, since it means two copies disagreed (an evasion
 * attempt, or a broken middlebox).
 */
static void
check_overlap(const struct rsm_half *h, const struct rsm_sink *k, uint64_t off,
	      const uint8_t *data, uint64_t len)
{
	uint64_t lo = h->next > RSM_RECENT ? h->next - RSM_RECENT : 0;

	if (lo < h->recent_lo) /* bytes before a gap are not in the ring */
		lo = h->recent_lo;
	if (!h->recent)
		return;
	for (uint64_t i = 0; i < len; i++) {
		if (off + i < lo || off + i >= h->next)
			continue;
		if (h->recent[(off + i) % RSM_RECENT] != data[i]) {
			k->conn->overlap_conflicts[k->dir]++;
			k->stats->overlap_conflicts++;
			return;
		}
	}
}

/* Deliver [off, off+len+missing) where off == h->next. */
static void
deliver(struct rsm_half *h, const struct rsm_sink *k, const uint8_t *data, uint32_t len,
	uint32_t missing)
{
	if (len)
		remember(h, data, len);
	h->next += (uint64_t)len + missing;
	if (missing) {
		h->recent_lo = h->next;
		k->conn->snap_cut[k->dir] += missing;
	}
	emit(k, RSM_EV_DATA, data, len);
	emit(k, RSM_EV_GAP, NULL, missing);
}

/* Deliver a piece that starts at or before h->next, trimming what was already delivered. */
static void
deliver_trimmed(struct rsm_half *h, const struct rsm_sink *k, uint64_t off, const uint8_t *data,
		uint32_t len, uint32_t missing)
{
	uint64_t end = off + len + missing, skip = h->next - off;

	check_overlap(h, k, off, data, skip < len ? skip : len);
	if (end <= h->next) {
		k->conn->retransmitted[k->dir] += len;
		return;
	}
	if (skip >= len) { /* only part of the cut-off tail is new */
		missing = (uint32_t)(end - h->next);
		len = 0;
	} else {
		k->conn->retransmitted[k->dir] += skip;
		data += skip;
		len -= (uint32_t)skip;
	}
	deliver(h, k, data, len, missing);
}

static void
drain(struct rsm_half *h, const struct rsm_sink *k)
{
	while (h->ooo && h->ooo->off <= h->next) {
		struct rsm_seg *s = h->ooo;

		h->ooo = s->next;
		if (!h->ooo)
			h->ooo_tail = NULL;
		h->ooo_n--;
		h->ooo_bytes -= RSM_SEG_COST(s->len);
		k->stats->queued -= RSM_SEG_COST(s->len);
		cap_budget_give(RSM_SEG_COST(s->len));
		deliver_trimmed(h, k, s->off, s->data, s->len, s->missing);
		free(s);
	}
	move_ref(h);
}

/* Give up on the first hole: report it as a gap and deliver what follows. */
void
stream_skip_hole(struct rsm_half *h, const struct rsm_sink *k)
{
	if (!h->ooo)
		return;
	if (h->ooo->off > h->next) {
		uint64_t gap = h->ooo->off - h->next;

		h->next = h->recent_lo = h->ooo->off;
		emit(k, RSM_EV_GAP, NULL, gap);
	}
	drain(h, k);
}

static void
enqueue(struct rsm_half *h, const struct rsm_sink *k, uint64_t off, const uint8_t *data,
	uint32_t len, uint32_t missing)
{
	struct rsm_seg **pp = &h->ooo, *s;

	if (h->ooo_tail && h->ooo_tail->off < off)
		pp = &h->ooo_tail->next; /* the usual case: data in order behind one hole */
	while (*pp && (*pp)->off < off)
		pp = &(*pp)->next;
	if (*pp && (*pp)->off == off && (*pp)->len + (*pp)->missing >= len + missing) {
		k->conn->retransmitted[k->dir] += len; /* the same segment again */
		return;
	}
	/* past the process's budget, or out of memory: treated as lost, it will surface as a gap */
	if (!(s = cap_budget_malloc(sizeof(*s) + len, RSM_SEG_COST(len)))) {
		k->stats->ooo_overflows++;
		return;
	}
	s->off = off;
	s->len = len;
	s->missing = missing;
	memcpy(s->data, data, len);
	s->next = *pp;
	*pp = s;
	if (!s->next)
		h->ooo_tail = s;
	h->ooo_n++;
	h->ooo_bytes += RSM_SEG_COST(len);
	if ((k->stats->queued += RSM_SEG_COST(len)) > k->stats->queued_peak)
		k->stats->queued_peak = k->stats->queued;
	while (h->ooo && (h->ooo_n > k->cfg->max_ooo_segments ||
			  h->ooo_bytes > k->cfg->max_ooo_bytes)) {
		k->stats->ooo_overflows++;
		stream_skip_hole(h, k);
	}
}

void
stream_data(struct rsm_half *h, const struct rsm_sink *k, int64_t off, const uint8_t *data,
	    uint32_t len, uint32_t missing)
{
	if (off < 0) { /* before the first byte we know of: trim the front */
		uint64_t before = (uint64_t)-off;

		if (before >= (uint64_t)len + missing)
			return;
		if (before >= len) {
			missing -= (uint32_t)(before - len);
			len = 0;
		} else {
			data += before;
			len -= (uint32_t)before;
		}
		off = 0;
	}
	if ((uint64_t)off <= h->next) {
		deliver_trimmed(h, k, (uint64_t)off, data, len, missing);
		drain(h, k);
	} else {
		enqueue(h, k, (uint64_t)off, data, len, missing);
	}
}

void
stream_ack(struct rsm_half *h, const struct rsm_sink *k, int64_t ack_off)
{
	if (ack_off <= 0)
		return;
	if (!h->acked_valid || (uint64_t)ack_off > h->acked) {
		h->acked = (uint64_t)ack_off;
		h->acked_valid = true;
	}
	/* The peer has what lies past the hole: the hole will never be filled. */
	while (h->ooo && h->ooo->off < (uint64_t)ack_off && h->ooo->off > h->next)
		stream_skip_hole(h, k);
}

void
stream_fin(struct rsm_half *h, int64_t fin_off)
{
	if (fin_off < 0)
		fin_off = 0;
	if (!h->fin || (uint64_t)fin_off < h->fin_off)
		h->fin_off = (uint64_t)fin_off;
	h->fin = true;
}

bool
stream_finished(const struct rsm_half *h)
{
	return h->fin && !h->ooo &&
	       (h->next >= h->fin_off || (h->acked_valid && h->acked > h->fin_off));
}

bool
stream_done(const struct rsm_half *h)
{
	return h->fin && h->next >= h->fin_off && !h->ooo;
}

void
stream_flush(struct rsm_half *h, const struct rsm_sink *k)
{
	while (h->ooo)
		stream_skip_hole(h, k);
	/* Acknowledged by the peer but never captured: a gap at the end. */
	if (h->acked_valid) {
		uint64_t end = h->acked;

		if (h->fin && end > h->fin_off)
			end = h->fin_off;
		if (end > h->next) {
			uint64_t gap = end - h->next;

			h->next = h->recent_lo = end;
			emit(k, RSM_EV_GAP, NULL, gap);
		}
	}
}
