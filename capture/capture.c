/*
 * capture.c - the libpcap side: open a saved capture, set the filter, read.
 *
 * Files are opened through a stdio stream with a 1 MiB buffer: libpcap's own
 * pcap_open_offline() reads through the default BUFSIZ stream, which costs a
 * system call every few packets.
 */
#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "frag.h"
#include "frame.h"
#include "source.h"

/*
 * The stdio buffer libpcap reads records out of: 64 KiB stays in the L2 cache
 * between the kernel's copy into it and libpcap's copy out of it; 1 MiB did
 * not, and cost about 10% more CPU per GB (bench/PROFILE.md).
 */
#define READ_BUFFER (64u << 10)


void
cap_set_ports(struct cap_source *src, const uint16_t *ports, size_t n)
{
	memset(src->ports, 0, sizeof(src->ports));
	for (size_t i = 0; i < n; i++)
		src->ports[ports[i] >> 3] |= (uint8_t)(1u << (ports[i] & 7));
	src->port_filter = n > 0;
}

void
cap_default_limits(struct cap_limits *l)
{
	l->max_frag_dgrams = FRAG_DEFAULT_DGRAMS;
	l->max_frag_bytes = FRAG_DEFAULT_BYTES;
	l->memory = CAP_DEFAULT_BUDGET;
}

void
cap_set_limits(struct cap_source *src, const struct cap_limits *l)
{
	src->frags.max_dgrams = l->max_frag_dgrams;
	src->frags.max_bytes = l->max_frag_bytes;
	cap_budget_set(l->memory);
}

static bool
watched(const struct cap_source *src, uint16_t port)
{
	return src->ports[port >> 3] & (1u << (port & 7));
}

static const char *const verdict_names[CAP_VERDICT_COUNT] = {
	[CAP_TCP] = "tcp",
	[CAP_UNREACH] = "icmp_unreachable",
	[CAP_NOT_TCP] = "not_tcp",
	[CAP_OTHER_PORT] = "other_ports",
	[CAP_FRAGMENT] = "ip_fragment",
	[CAP_TRUNCATED] = "truncated_headers",
	[CAP_MALFORMED] = "malformed_headers",
};

const char *
cap_verdict_name(enum cap_verdict v)
{
	return (unsigned)v < CAP_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * A capture file is read front to back once: a buffer of READ_BUFFER bytes
 * saves a system call every few packets. glibc ignores the size given with a NULL buffer
 * (it keeps 4 KiB), so the buffer is ours, freed after the stream is closed.
 */
static int
open_stream(FILE **out, char **iobuf, const char *path, char err[CAP_ERRLEN])
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");

	*iobuf = NULL;
	if (!f) {
		snprintf(err, CAP_ERRLEN, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * Only the reading thread touches the stream; with --threads the process
	 * has several, and stdio would then lock it twice a packet (libpcap's
	 * two fread() calls).
	 */
	__fsetlocking(f, FSETLOCKING_BYCALLER);
	/* not stdin: libpcap's close leaves it open, its buffer must outlive us */
	if (f != stdin && (*iobuf = malloc(READ_BUFFER)) &&
	    setvbuf(f, *iobuf, _IOFBF, READ_BUFFER) != 0) {
		free(*iobuf);
		*iobuf = NULL;
	}
	*out = f;
	return 0;
}

int
cap_open_stream(struct cap_source **out, FILE *f, const char *path, char err[CAP_ERRLEN])
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct cap_source *src;
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, perr);

	*out = NULL;
	if (!p) {
		if (f != stdin)
			fclose(f);
		if (strstr(perr, "unknown file format") || strstr(perr, "bad dump file format"))
			snprintf(err, CAP_ERRLEN, "%s: not a pcap or pcapng capture (%s)", path, perr);
		else
			snprintf(err, CAP_ERRLEN, "%s: cannot read capture: %s", path, perr);
		return -1;
	}
	int dlt = pcap_datalink(p);

	if (!cap_linktype_supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);

		snprintf(err, CAP_ERRLEN,
			 "%s: link type %d (%s) is not supported (supported: EN10MB, NULL, LOOP, "
			 "LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6)",
			 path, dlt, name ? name : "unknown");
		pcap_close(p);
		return -1;
	}
	src = calloc(1, sizeof(*src));
	if (!src) {
		pcap_close(p);
		snprintf(err, CAP_ERRLEN, "%s: out of memory", path);
		return -1;
	}
	src->pcap = p;
	src->name = path;
	src->dlt = dlt;
	*out = src;
	return 0;
}

int
cap_open_file(struct cap_source **out, const char *path, char err[CAP_ERRLEN])
{
	FILE *f;
	char *iobuf;

	*out = NULL;
	if (open_stream(&f, &iobuf, path, err) < 0)
		return -1;
	if (cap_open_stream(out, f, path, err) < 0) {
		free(iobuf); /* the stream is closed by now */
		return -1;
	}
	(*out)->iobuf = iobuf;
	return 0;
}

int
cap_set_filter(struct cap_source *src, const char *expr, char err[CAP_ERRLEN])
{
	struct bpf_program prog;

	if (!expr || !*expr)
		return 0;
	if (pcap_compile(src->pcap, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, CAP_ERRLEN, "bad filter expression: %s", pcap_geterr(src->pcap));
		return CAP_BAD_FILTER;
	}
	int rc = pcap_setfilter(src->pcap, &prog);

	pcap_freecode(&prog);
	if (rc < 0) {
		snprintf(err, CAP_ERRLEN, "cannot set filter: %s", pcap_geterr(src->pcap));
		return -1;
	}
	return 0;
}

/* Link, IP (putting fragments back together), then TCP or ICMP. */
/*
 * Link, IP (putting fragments back together), then TCP or ICMP. A fragment
 * frame counts as CAP_FRAGMENT whatever becomes of it, so the verdicts add
 * up to the frames read; *kept says whether seg holds something to deliver.
 */
/* Does the first line of a 220 name SMTP ("ESMTP Postfix", "SMTP service ready")? */
static bool
says_smtp(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n && i < 512 && p[i] != '\n'; i++)
		if (strncasecmp((const char *)p + i, "SMTP", 4) == 0)
			return true;
	return false;
}

/* Which port this segment's payload names as an SMTP server, or 0. */
static uint16_t
smtp_like_port(const struct cap_segment *seg)
{
	const uint8_t *p = seg->payload;

	if (seg->len < 5)
		return 0;
	if (p[0] == '2' && p[1] == '2' && p[2] == '0' && (p[3] == ' ' || p[3] == '-') &&
	    says_smtp(p, seg->len))
		return seg->sport; /* a greeting, from the server (FTP greets with 220 too) */
	if ((strncasecmp((const char *)p, "EHLO ", 5) == 0 ||
	     strncasecmp((const char *)p, "HELO ", 5) == 0))
		return seg->dport;
	return 0;
}

/* A packet to a port not watched that looks like SMTP: counted for the summary's hint. */
static void
note_smtp_like(struct cap_stats *st, const struct cap_segment *seg)
{
	uint16_t port = smtp_like_port(seg);

	if (!port)
		return;
	for (int i = 0; i < CAP_SMTP_LIKE; i++) {
		if (st->smtp_like[i].port == port || st->smtp_like[i].port == 0) {
			st->smtp_like[i].port = port;
			st->smtp_like[i].packets++;
			return;
		}
	}
}

static enum cap_verdict
decode(struct cap_source *src, const struct pcap_pkthdr *h, const u_char *bytes, uint64_t ts,
       struct cap_segment *seg, bool *kept)
{
	struct ip_datagram d, whole;
	enum cap_verdict v = frame_ip(src->dlt, bytes, h->caplen, h->len, &d), t;
	bool fragment = v == CAP_TCP && d.fragment;

	memset(seg, 0, sizeof(*seg));
	*kept = false;
	if (v != CAP_TCP)
		return v;
	if (fragment) {
		if (frag_add(&src->frags, &d, ts, &whole) <= 0)
			return CAP_FRAGMENT; /* held, or given up (counted in frags) */
		d = whole;
	} else if (src->frags.head) {
		frag_expire(&src->frags, ts);
	}
	t = frame_transport(&d, seg);
	if ((t == CAP_TCP || t == CAP_UNREACH) && src->port_filter && !watched(src, seg->sport) &&
	    !watched(src, seg->dport)) {
		t = CAP_OTHER_PORT;
		note_smtp_like(&src->stats, seg);
	}
	*kept = t == CAP_TCP || t == CAP_UNREACH;
	return fragment ? CAP_FRAGMENT : t;
}

static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct cap_source *src = (struct cap_source *)user;
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
	struct cap_segment seg;
	bool kept;
	enum cap_verdict v;

	src->stats.packets++;
	src->stats.bytes += h->len;
	src->last_ts = ts; /* the capture clock, whatever the packet */
	if (src->stats.packets == 1 || ts < src->stats.first_ts)
		src->stats.first_ts = ts;
	if (ts > src->stats.last_ts)
		src->stats.last_ts = ts;
	v = decode(src, h, bytes, ts, &seg, &kept);
	src->stats.verdicts[v]++;
	if (src->dump && (kept || v == CAP_FRAGMENT)) /* fragments: kept as they came */
		dump_packet(src, h, bytes);
	if (kept) {
		seg.ts_us = ts;
		src->fn(src->arg, &seg);
	}
	if (src->tick && !src->live && (src->stats.packets & 4095) == 0)
		src->tick(src->tick_arg, ts);
}

bool
cap_progress(struct cap_source *src, uint64_t *done, uint64_t *total)
{
	FILE *f = src->live ? NULL : pcap_file(src->pcap);
	struct stat st;
	long pos;

	if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || (pos = ftell(f)) < 0)
		return false;
	*done = (uint64_t)pos;
	*total = (uint64_t)st.st_size;
	return true;
}

int
cap_run(struct cap_source *src, cap_segment_fn *fn, void *arg, char err[CAP_ERRLEN])
{
	src->fn = fn;
	src->arg = arg;
	int rc = src->live ? live_loop(src, on_packet) : pcap_loop(src->pcap, -1, on_packet,
								      (u_char *)src);

	frag_give_up(&src->frags); /* no more fragments will come: held ones are lost, say so */
	if (rc == PCAP_ERROR) {
		const char *why = pcap_geterr(src->pcap);

		if (strstr(why, "truncated")) {
			src->stats.input_truncated = true;
			snprintf(err, CAP_ERRLEN,
				 "%s: capture file is truncated after %llu packets (%s)",
				 base_name(src->name), (unsigned long long)src->stats.packets, why);
		} else {
			snprintf(err, CAP_ERRLEN, "%s: read error after %llu packets: %s",
				 base_name(src->name), (unsigned long long)src->stats.packets, why);
		}
		return -1;
	}
	return 0;
}

void
cap_stop(struct cap_source *src)
{
	src->stop = 1;
	pcap_breakloop(src->pcap);
}

const struct cap_stats *
cap_stats(struct cap_source *src)
{
	src->stats.reassembled = src->frags.reassembled;
	src->stats.frags_dropped = src->frags.dropped;
	if (src->live)
		live_stats(src);
	return &src->stats;
}

int
cap_snaplen(const struct cap_source *src)
{
	return pcap_snapshot(src->pcap);
}

void
cap_close(struct cap_source *src)
{
	if (!src)
		return;
	frag_free(&src->frags);
	if (src->dump)
		pcap_dump_close(src->dump);
	pcap_close(src->pcap); /* closes the stream, then its buffer can go */
	free(src->iobuf);
	free(src);
}

int
cap_ports_filter(const char *ports, char *buf, size_t bufsz, uint16_t *list, size_t *nlist,
		 size_t maxlist)
{
	size_t used = 0, n = 0;
	const char *p = ports;

	if (!ports || !*ports || bufsz == 0)
		return -1;
	buf[0] = '\0';
	for (;;) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);

		if (end == p || errno || v < 1 || v > 65535 || (*end && *end != ',') || n >= maxlist)
			return -1;
		int w = snprintf(buf + used, bufsz - used, "%stcp port %ld", n ? " or " : "", v);

		if (w < 0 || (size_t)w >= bufsz - used)
			return -1;
		used += (size_t)w;
		list[n++] = (uint16_t)v;
		if (!*end)
			break;
		p = end + 1;
	}
	*nlist = n;
	return n ? 0 : -1;
}
