/*
 * shard.h - reassembly and decoding on several threads, output as on one.
 *
 * --threads N is N threads in all. The reading thread hands each TCP segment
 * to one of N workers, chosen by a hash of the connection's two endpoints, so
 * that a flow lives on one worker only; worker 0 is the reading thread itself
 * (it takes a small share, or none, since reading and writing keep it busy),
 * the others are threads fed through rings. Each worker owns a flow table and
 * a decoder. The reader keeps the one capture clock and numbers the events
 * (segments, ticks) as a single table would see them; sweeps for idle flows
 * go to every worker at the same event. Workers hand back each session with
 * the event that opened it and the one that ended it; the reader puts them in
 * the order one thread would have written them, numbers them by first packet,
 * and passes them on.
 *
 * The output is the single-threaded output, byte for byte, as long as no
 * table-wide cap is hit: max_flows and max_ooo_total are divided among the
 * workers as the flows are, so what is evicted under pressure may differ.
 */
#ifndef SMTPSCOPE_SHARD_H
#define SMTPSCOPE_SHARD_H

#include <stdint.h>

#include "../capture/capture.h"
#include "../decode/smtp.h"
#include "../reassembly/reassembly.h"

#define SHARD_MAX_WORKERS 64

struct shard_config {
	unsigned workers;	/* threads in all, the caller's included: 1 .. SHARD_MAX_WORKERS */
	struct rsm_config rsm;	/* as for one table; the table-wide caps are divided */
	struct smtp_config smtp; /* sink and keep_sessions are not used */
	smtp_session_fn *done;	/* each session, in single-thread order, on the reader */
	void *arg;
	/*
	 * Optional: how to write a session, callable on any thread at once. A
	 * worker that knows a session's id when it ends writes it itself, and the
	 * reader gets written() with those bytes instead of done().
	 */
	void (*render)(const void *render_arg, FILE *f, const struct smtp_session *s);
	const void *render_arg;
	void (*written)(void *arg, const struct smtp_session *s, const void *bytes, size_t n);
};

struct shard;

/* Starts the workers; NULL when memory or threads are lacking. */
struct shard *shard_new(const struct shard_config *cfg);
/* The capture callbacks, on the reading thread. */
void shard_feed(struct shard *sh, const struct cap_segment *seg);
void shard_tick(struct shard *sh, uint64_t now_us);
/* End of input: every open flow ends, the workers stop, the last sessions are written. */
void shard_finish(struct shard *sh);
/* The workers' counters added up: final after shard_finish(), a recent snapshot before. */
void shard_totals(struct shard *sh, struct rsm_stats *rs, struct smtp_stats *ds);
void shard_free(struct shard *sh);

#endif
