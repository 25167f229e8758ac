/*
 * source.h - a packet source, offline or live (private to capture/).
 */
#ifndef SMTPSCOPE_CAPTURE_SOURCE_H
#define SMTPSCOPE_CAPTURE_SOURCE_H

#include <pcap/pcap.h>
#include <signal.h>

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
	const char *dump_name;
	char *iobuf;	     /* the stdio buffer of a file read, or NULL */
	struct cap_stats stats;
	struct frag_table frags;
	bool port_filter;
	uint8_t ports[65536 / 8];
};

/* live.c */
int live_loop(struct cap_source *src, pcap_handler on_packet);
void live_stats(struct cap_source *src);

#endif
