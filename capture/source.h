/*
 * source.h - a packet source, offline or live (private to capture/).
 */
#ifndef SMTPSCOPE_CAPTURE_SOURCE_H
#define SMTPSCOPE_CAPTURE_SOURCE_H

#include <pcap/pcap.h>
#include <signal.h>
#include <time.h>

#include "capture.h"
#include "frag.h"

struct cap_source {
	pcap_t *pcap;
	const char *name;
	int dlt;
	bool live;
	volatile sig_atomic_t stop;
	cap_segment_fn *fn;
	void *arg;
	cap_tick_fn *tick;
	void *tick_arg;
	uint64_t last_ts; /* capture time of the last packet */
	pcap_dumper_t *dump; /* -w */
	const char *dump_name; /* as given: with -G a strftime pattern */
	struct cap_rotate rot; /* -C, -G, -W */
	char dump_path[4096];  /* the file being written */
	time_t interval_start; /* -G: when the current interval began (wall clock) */
	unsigned file_no;      /* -C: the file's number in this interval (ring with -W) */
	unsigned intervals;    /* -G -W: intervals begun */
	bool dump_done;	       /* -G -W: the last file is full; nothing more is written */
	char dump_err[CAP_ERRLEN]; /* a rotation that failed, not yet said (cap_write_news) */
	bool dump_failed;	   /* ... and one did: the run ends with status 1 */
	uint64_t buffer_size;	   /* live: the kernel buffer asked for */
	char *iobuf;	     /* the stdio buffer of a file read, or NULL */
	struct cap_stats stats;
	struct frag_table frags;
	bool port_filter;
	uint8_t ports[65536 / 8];
};

/* live.c */
int live_loop(struct cap_source *src, pcap_handler on_packet);
void live_stats(struct cap_source *src);
/* rotate.c: a kept packet to -w, into the file it belongs in (-C, -G) */
void dump_packet(struct cap_source *src, const struct pcap_pkthdr *h, const u_char *bytes);

#endif
