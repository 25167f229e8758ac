/*
 * capture.h - packets in, TCP segments out.
 *
 * capture/ opens a saved capture (pcap or pcapng) through libpcap, applies a
 * BPF filter, takes apart the link layer, IPv4/IPv6 and TCP headers through a
 * bounds-checked reader, and hands each TCP segment to a callback. It owns no
 * packet memory beyond the callback: a segment's payload is borrowed.
 */
#ifndef SMTPSCOPE_CAPTURE_H
#define SMTPSCOPE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CAP_ERRLEN 512

/* TCP flags as on the wire. */
#define CAP_TH_FIN 0x01
#define CAP_TH_SYN 0x02
#define CAP_TH_RST 0x04
#define CAP_TH_PSH 0x08
#define CAP_TH_ACK 0x10

struct cap_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t bytes[16];
};

/*
 * One TCP segment, borrowed for the duration of the callback; or, with
 * icmp_type set, an ICMP destination-unreachable about the TCP segment it
 * quotes (src/dst/ports/seq are the quoted segment's, reporter sent the ICMP).
 */
struct cap_segment {
	uint64_t ts_us; /* capture time, microseconds since the epoch */
	uint8_t icmp_type, icmp_code;
	struct cap_addr reporter;
	struct cap_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t window;
	uint8_t wscale; /* SYN: 1 + the window-scale option's shift (RFC 7323 2.2); 0: none */
	uint8_t flags;
	const uint8_t *payload;
	uint32_t len;     /* payload bytes present in the capture */
	uint32_t missing; /* payload bytes the snap length cut off */
};

/* What became of one frame; a table in capture.c names them for the summary. */
enum cap_verdict {
	CAP_TCP,       /* a TCP segment was produced */
	CAP_UNREACH,   /* an ICMP unreachable about a TCP segment was produced */
	CAP_NOT_TCP,   /* IP but not TCP, or not IP at all */
	CAP_OTHER_PORT, /* TCP, but not on a port we watch */
	CAP_FRAGMENT,  /* an IP fragment (held for reassembly, or completing a datagram) */
	CAP_TRUNCATED, /* headers cut short by the snap length */
	CAP_MALFORMED, /* headers that contradict themselves */
	CAP_VERDICT_COUNT
};

#define CAP_SMTP_LIKE 4

struct cap_stats {
	uint64_t packets;     /* frames read */
	uint64_t bytes;       /* their length on the wire */
	uint64_t first_ts, last_ts; /* the earliest and latest frame time (us); packets 0: none */
	uint64_t verdicts[CAP_VERDICT_COUNT];
	uint64_t reassembled;     /* datagrams put back together from fragments */
	uint64_t frags_dropped;   /* fragments given up: timeout, caps, overlaps, cut */
	bool input_truncated; /* the file ended in the middle of a record */
	/*
	 * Ports not watched whose packets look like SMTP: a 220 reply from the
	 * port, or HELO/EHLO sent to it. The first CAP_SMTP_LIKE ports seen, with
	 * their packets, so the summary can say "add -p 25,587".
	 */
	struct {
		uint16_t port;
		uint64_t packets;
	} smtp_like[CAP_SMTP_LIKE];
	bool have_kernel_stats;
	uint64_t kernel_received, kernel_dropped, if_dropped;
	uint64_t buffer_size; /* live: the kernel buffer, bytes */
};

typedef void cap_segment_fn(void *arg, const struct cap_segment *seg);
/*
 * Called regularly with the capture clock: live, about once a second, packets
 * or not; reading a file, every few thousand packets.
 */
typedef void cap_tick_fn(void *arg, uint64_t now_us);

struct cap_source;

struct cap_live_config {
	int snaplen;	 /* bytes kept of each packet */
	int buffer_size; /* kernel buffer, bytes; 0: cap_default_buffer(iface) */
	bool promisc;
};

/*
 * The kernel buffer of a live capture without -B (live.c): 256 MiB, which
 * held a 1 Gbit/s replay of SMTP on a busy 2-CPU machine with no drop, where
 * 16 MiB dropped 17-37% and 64 MiB 0.8-4% (bench/live/replay.sh; README); for a
 * physical link faster than 1 Gbit/s (/sys/class/net/IFACE/speed), 256 MiB per
 * Gbit/s up to 1 GiB. In immediate mode libpcap's ring has a 64 KiB frame per
 * packet (GSO), each in a 128 KiB block: it takes twice the buffer in memory,
 * so never more than 1/32 of the memory (at least 4 MiB). cap_buffer_for() is
 * the rule, speed -1 for unknown or virtual.
 */
uint64_t cap_default_buffer(const char *iface);
uint64_t cap_buffer_for(long speed_mbps, uint64_t mem_bytes);
/*
 * After kernel drops (buffer full), the buffer that would likely have held
 * them, bytes: the one used times 2, 4, 8 or 16 as the share dropped passes
 * 0.1%, 1% and 10%, at most 1 GiB. 0 when nothing was dropped.
 */
uint64_t cap_buffer_advice(const struct cap_stats *st);

/*
 * Open a network interface ("any" for all) through pcap_create/pcap_activate
 * in immediate mode; -1 and a one-line err naming the cause (no such
 * interface, missing capability) on failure.
 */
int cap_open_live(struct cap_source **out, const char *iface, const struct cap_live_config *cfg,
		  char err[CAP_ERRLEN]);
/* Print the interfaces libpcap can open, one per line (-D). */
int cap_list_interfaces(FILE *out, char err[CAP_ERRLEN]);
void cap_set_tick(struct cap_source *src, cap_tick_fn *fn, void *arg);
/* The wall clock the live loop runs on (monotonic, microseconds). */
uint64_t cap_monotonic_us(void);
/* Reading a file: how far (bytes) into how much; false when unknown (a pipe, live). */
bool cap_progress(struct cap_source *src, uint64_t *done, uint64_t *total);
/*
 * Files smtpscope writes (output.c): a directory opened for them (refused as
 * root when others may write to it; must_not_be_link refuses a symbolic
 * link), a file created in it (mode 0600, a symbolic link never followed;
 * replace: an existing regular file of ours with one name is truncated,
 * otherwise it must not exist), and a whole path for -w. The descriptors
 * close on exec.
 */
int cap_output_dir(const char *dir, bool must_not_be_link, char err[CAP_ERRLEN]);
int cap_output_create(int dirfd, const char *name, bool replace, char err[CAP_ERRLEN]);
FILE *cap_output_file(const char *path, char err[CAP_ERRLEN]);
/*
 * One memory budget for the whole process (budget.c): queued segments, IP
 * fragments, session records and TLS handshake messages, from every thread,
 * counted by what they take. take: false (and counted) past the limit.
 */
#define CAP_DEFAULT_BUDGET ((size_t)128 << 20)
#define CAP_ALLOC_OVERHEAD 16 /* what malloc adds to each block, about: counted with it */
void cap_budget_set(size_t max);
bool cap_budget_take(size_t n);
bool cap_budget_try(size_t n); /* the same, for a refusal that loses nothing: not counted */
/* malloc(size) that takes cost from the budget first (given back if malloc fails); NULL if not. */
void *cap_budget_malloc(size_t size, size_t cost);
void cap_budget_give(size_t n);
size_t cap_budget_used(void);
uint64_t cap_budget_refused(void); /* takes refused so far */

/* Give up every capability left (after opening everything and dropping root). */
int cap_drop_capabilities(char err[CAP_ERRLEN]);

/*
 * -w (rotate.c): also write every packet kept (SMTP ports, fragments, ICMP
 * about them) to a new pcap; path is borrowed until cap_close. rot (NULL:
 * one file) turns it over as tcpdump does: size (-C) begins FILE1, FILE2 ...
 * once a file has passed that many bytes, and with count (-W) the files are
 * FILE0 ... FILE(count-1), the number as wide as the largest, overwritten in
 * turn; seconds (-G) begins a file every so many seconds of wall clock, named
 * by strftime(3) from path in local time, and with count the run stops once
 * count files are full.
 */
struct cap_rotate {
	uint64_t size;	  /* -C: bytes (tcpdump's unit is 1,000,000); 0: no limit */
	unsigned seconds; /* -G; 0: never */
	unsigned count;	  /* -W; 0: no limit */
};
int cap_write_to(struct cap_source *src, const char *path, const struct cap_rotate *rot,
		 char err[CAP_ERRLEN]);
/* SIGHUP: the -w file no longer at its name (logrotate moved it) is begun again there. */
int cap_write_reopen(struct cap_source *src, char err[CAP_ERRLEN]);
/* A rotation that failed since the last call (the packets went on into the old file): 1, once. */
int cap_write_news(struct cap_source *src, char err[CAP_ERRLEN]);
/* Flush what -w holds: -1 and a one-line err if any of it could not be written (a full disk). */
int cap_write_done(struct cap_source *src, char err[CAP_ERRLEN]);
/*
 * --output: path opened for appending (created 0600 when missing, with the
 * checks of cap_output_create) onto descriptor fd (dup2). Called again
 * (SIGHUP), nothing is done while path is still the file fd writes.
 */
int cap_output_append(const char *path, char err[CAP_ERRLEN]);
int cap_output_redirect(int fd, const char *path, char err[CAP_ERRLEN]);

/* Open a saved capture; "-" is standard input. -1 and a one-line err on failure. */
int cap_open_file(struct cap_source **out, const char *path, char err[CAP_ERRLEN]);

/* The same on an open stream (a pipe, a memory file); the source owns f from now on. */
int cap_open_stream(struct cap_source **out, FILE *f, const char *name, char err[CAP_ERRLEN]);

/*
 * Keep only TCP segments (and ICMP reports about them) with one of these
 * ports at either end; n == 0 keeps all. Done here rather than in BPF, whose
 * "tcp port 25" misses VLAN-tagged, MPLS and fragmented packets.
 */
void cap_set_ports(struct cap_source *src, const uint16_t *ports, size_t n);

/* The caps on IP fragment reassembly (--limit); cap_default_limits() fills in the defaults. */
struct cap_limits {
	uint32_t max_frag_dgrams; /* datagrams in progress; the oldest is given up past it */
	uint64_t max_frag_bytes;  /* fragment bytes held, all datagrams */
	uint64_t memory;	  /* the process's budget (cap_budget_set) */
};

void cap_default_limits(struct cap_limits *l);
void cap_set_limits(struct cap_source *src, const struct cap_limits *l);

/*
 * Compile and install a BPF filter; NULL or "" installs none. CAP_BAD_FILTER
 * when libpcap cannot compile the expression (the user's mistake: err says
 * why, the caller names what the user wrote), -1 when it cannot be installed.
 */
#define CAP_BAD_FILTER (-2)
int cap_set_filter(struct cap_source *src, const char *expr, char err[CAP_ERRLEN]);

/*
 * Read until the end of input, a cap_stop() or an error. 0 at the end or on
 * stop; -1 with err filled when the input is damaged (a truncated file is
 * reported this way after every packet before the cut was delivered).
 */
int cap_run(struct cap_source *src, cap_segment_fn *fn, void *arg, char err[CAP_ERRLEN]);

/* Ask cap_run() to return after the current packet (async-signal-safe). */
void cap_stop(struct cap_source *src);

const struct cap_stats *cap_stats(struct cap_source *src);
const char *cap_verdict_name(enum cap_verdict v);
void cap_close(struct cap_source *src);
/* The snap length of the file or the live capture: bytes kept of each packet. */
int cap_snaplen(const struct cap_source *src);

/*
 * Take one frame of link type dlt apart. Exposed for tests and fuzzing; the
 * segment's payload points into frame.
 */
enum cap_verdict cap_decode_frame(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
				  struct cap_segment *out);
bool cap_linktype_supported(int dlt);

/* Parse "25,587,2525" into a filter expression; -1 on a bad list. */
int cap_ports_filter(const char *ports, char *buf, size_t bufsz, uint16_t *list, size_t *nlist,
		     size_t maxlist);

#endif
