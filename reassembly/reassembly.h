/*
 * reassembly.h - TCP segments in, ordered byte streams out.
 *
 * reassembly/ keeps a table of flows keyed by the 5-tuple, decides which side
 * is the client, converts 32-bit sequence numbers to 64-bit stream offsets,
 * queues out-of-order data (bounded), drops retransmissions, and tells its
 * caller, through one callback, when a connection opens, when bytes or a gap
 * arrive in a direction, and how it ended. It knows nothing of SMTP: the only
 * protocol knowledge it takes is the set of server ports, to orient flows
 * whose handshake was not seen.
 */
#ifndef SMTPSCOPE_REASSEMBLY_H
#define SMTPSCOPE_REASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../capture/capture.h"

enum rsm_dir { RSM_C2S = 0, RSM_S2C = 1 };

enum rsm_ev { RSM_EV_OPEN, RSM_EV_DATA, RSM_EV_GAP, RSM_EV_CLOSE };

/* How a flow ended. */
enum rsm_end {
	RSM_END_CLOSED,     /* FIN */
	RSM_END_RESET,      /* RST after the connection was up */
	RSM_END_REFUSED,    /* SYN answered by RST */
	RSM_END_NO_ANSWER,  /* SYN never answered */
	RSM_END_TIMEOUT,    /* idle for longer than idle_timeout */
	RSM_END_UNFINISHED, /* still open at the end of input */
	RSM_END_EVICTED,    /* pushed out of a full flow table */
	RSM_END_UNREACHABLE, /* SYN answered by an ICMP destination-unreachable */
};

/* What the caller may read of a flow. `user` is the caller's. */
struct rsm_conn {
	uint64_t id; /* 1, 2, ... in order of first packet */
	struct cap_addr client, server;
	uint16_t client_port, server_port;
	uint64_t ts_first, ts_last;
	bool midstream;          /* the client's SYN was not seen */
	bool synack_seen;        /* the server answered the SYN */
	uint64_t packets[2];     /* per direction */
	uint64_t bytes[2];       /* payload bytes delivered per direction */
	uint64_t gap_bytes[2];   /* bytes never seen, per direction */
	uint64_t snap_cut[2];    /* of those, payload bytes the snap length cut off */
	uint64_t retransmitted[2];
	uint64_t overlap_conflicts[2]; /* retransmitted bytes that differed from the first copy */
	uint64_t zero_window[2];       /* segments advertising a zero receive window */
	uint8_t first_closer;          /* 1 + the direction of the first FIN or RST; 0: none seen */
	uint8_t icmp_type, icmp_code;  /* the last ICMP unreachable about this flow, if any */
	struct cap_addr icmp_from;
	uint64_t first_event, last_event; /* the feed's event number at the first and last segment */
	void *user;
};

struct rsm_event {
	enum rsm_ev type;
	enum rsm_dir dir; /* DATA and GAP */
	struct rsm_conn *conn;
	uint64_t ts;         /* capture time of the packet that caused it */
	const uint8_t *data; /* DATA: borrowed bytes; GAP: NULL */
	size_t len;          /* DATA: bytes; GAP: bytes missing */
	enum rsm_end end;    /* CLOSE */
};

typedef void rsm_event_fn(void *arg, const struct rsm_event *ev);

/*
 * The key of every hash table fed by packet data (flows, shard slots, audit
 * hosts): 128 random bits per run, so that no sender can choose entries that
 * share a bucket. rsm_siphash() is SipHash-1-3, rsm_siphash24() SipHash-2-4
 * (siphash.c).
 */
struct rsm_hash_key {
	uint64_t k[2];
};

uint64_t rsm_siphash(const struct rsm_hash_key *key, const void *data, size_t len);
uint64_t rsm_siphash24(const struct rsm_hash_key *key, const void *data, size_t len);
/* 0, or -1 with errno set when neither getrandom(2) nor /dev/urandom gave 16 bytes. */
int rsm_hash_key_random(struct rsm_hash_key *key);
/* false for the all-zero key: not drawn yet. */
bool rsm_hash_key_set(const struct rsm_hash_key *key);
/*
 * The keyed hash of a segment's connection, the same for both directions
 * (the table takes its low 32 bits for the bucket).
 */
uint64_t rsm_flow_hash(const struct rsm_hash_key *key, const struct cap_segment *s);
/* A key left unset (all zero) is drawn now: 0, or -1 as rsm_hash_key_random(). */
int rsm_hash_key_ensure(struct rsm_hash_key *key);

struct rsm_config {
	uint32_t max_flows;          /* concurrent flows; the oldest is evicted past it */
	uint32_t max_ooo_segments;   /* queued out-of-order segments per direction */
	uint64_t max_ooo_bytes;      /* memory of queued out-of-order segments per direction */
	uint64_t max_ooo_total;      /* the same, all flows */
	uint32_t idle_timeout;       /* seconds of capture time */
	const uint16_t *server_ports; /* orient flows without a handshake */
	size_t n_server_ports;
	struct rsm_hash_key hash_key; /* all zero: rsm_new() draws one */
};

struct rsm_stats {
	uint64_t flows;         /* flows created */
	uint64_t active;        /* flows in the table now */
	uint64_t evicted;       /* flows pushed out by max_flows */
	uint64_t timed_out;     /* flows ended by idle_timeout */
	uint64_t gap_bytes;     /* bytes never seen, all flows */
	uint64_t ooo_overflows; /* times a queue cap forced a gap */
	uint64_t queued;        /* memory of out-of-order segments held now, all flows */
	uint64_t queued_peak;
	uint64_t ignored;       /* segments of no flow (late ACKs, stray RSTs) */
	uint64_t overlap_conflicts; /* overlaps whose bytes differed (first copy kept) */
	uint64_t ignored_resets; /* RSTs outside the receive window (RFC 5961 3): the flow goes on */
	uint64_t ignored_fins;   /* FINs outside the receive window: the flow goes on */
};

struct rsm_table;

/*
 * The capture clock a table runs on: the latest time seen (it never goes
 * back), and when idle flows were last looked for. rsm_clock_step() moves it
 * and says whether a sweep for idle flows is due now.
 */
struct rsm_clock {
	uint64_t now, last_sweep;
};

bool rsm_clock_step(struct rsm_clock *c, uint64_t ts_us);

void rsm_default_config(struct rsm_config *cfg);
struct rsm_table *rsm_new(const struct rsm_config *cfg, rsm_event_fn *fn, void *arg);
void rsm_feed(struct rsm_table *t, const struct cap_segment *seg);
/* Live capture: the clock moves on without packets; idle flows end on time. */
void rsm_tick(struct rsm_table *t, uint64_t now_us);
/* End of input: every flow still open is closed, in order of id. */
void rsm_flush(struct rsm_table *t);
/*
 * Sharded use (smtpscope --threads): one caller runs one rsm_clock for all
 * tables and numbers the events (segments and ticks) as one table would see
 * them; each table then gets only its flows' segments, and the sweeps.
 * rsm_feed_at() takes the clock's time and neither moves the clock nor sweeps;
 * rsm_advance() sets the time, and sweeps when the shared clock says so.
 */
void rsm_feed_at(struct rsm_table *t, const struct cap_segment *seg, uint64_t now_us,
		 uint64_t event);
void rsm_advance(struct rsm_table *t, uint64_t now_us, bool sweep);
const struct rsm_stats *rsm_stats(const struct rsm_table *t);
void rsm_free(struct rsm_table *t);

#endif
