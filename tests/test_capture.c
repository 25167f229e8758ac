/*
 * test_capture.c - link layers, IP and TCP headers, and the file errors a
 * user meets (missing, not a capture, truncated, unknown link type).
 *
 * Frames are built field by field below, each with its layout in a comment;
 * capture files are written with libpcap's own dumper.
 */
#include <pcap/pcap.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#include "../capture/capture.h"
#include "../capture/frag.h"

struct frame {
	uint8_t b[512];
	size_t n;
};

static void
put(struct frame *f, const void *p, size_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(f, b, 2);
}

static void
put32(struct frame *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

/* TCP header, 20 bytes + payload: 40000 -> 25, seq 1000, ack 2000, PSH|ACK. */
static void
put_tcp(struct frame *f, const char *payload)
{
	put16(f, 40000);
	put16(f, 25);
	put32(f, 1000);
	put32(f, 2000);
	put16(f, 0x5018); /* data offset 5, flags PSH|ACK */
	put16(f, 65535);  /* window */
	put32(f, 0);	  /* checksum, urgent pointer */
	put(f, payload, strlen(payload));
}

/* IPv4 header, 20 bytes: 192.0.2.1 -> 192.0.2.25, proto TCP, total = 20 + l4. */
static void
put_ipv4(struct frame *f, size_t l4, uint16_t frag)
{
	static const uint8_t src[4] = {192, 0, 2, 1}, dst[4] = {192, 0, 2, 25};

	put16(f, 0x4500);
	put16(f, (uint16_t)(20 + l4));
	put16(f, 1);
	put16(f, frag);
	put16(f, 0x4006); /* TTL 64, proto 6 */
	put16(f, 0);
	put(f, src, 4);
	put(f, dst, 4);
}

/* IPv6 header, 40 bytes: 2001:db8::1 -> 2001:db8::25, next header nh. */
static void
put_ipv6(struct frame *f, size_t plen, uint8_t nh)
{
	uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8}, dst[16] = {0x20, 0x01, 0x0d, 0xb8};

	src[15] = 1;
	dst[15] = 0x25;
	put32(f, 0x60000000);
	put16(f, (uint16_t)plen);
	put(f, &nh, 1);
	put(f, "\x40", 1);
	put(f, src, 16);
	put(f, dst, 16);
}

static void
put_ether(struct frame *f, uint16_t type)
{
	put(f, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb", 12);
	put16(f, type);
}

static void
assert_segment(const struct frame *f, int dlt, int family, const char *payload)
{
	struct cap_segment s;

	assert_int_equal(cap_decode_frame(dlt, f->b, f->n, f->n, &s), CAP_TCP);
	assert_int_equal(s.src.family, family);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.dport, 25);
	assert_int_equal(s.seq, 1000);
	assert_int_equal(s.ack, 2000);
	assert_int_equal(s.flags, CAP_TH_PSH | CAP_TH_ACK);
	assert_int_equal(s.len, strlen(payload));
	assert_memory_equal(s.payload, payload, s.len);
	assert_int_equal(s.missing, 0);
}

static const char payload[] = "EHLO x\r\n";

static void
test_ethernet_ipv4(void **state)
{
	struct frame f = {0};

	(void)state;
	put_ether(&f, 0x0800);
	put_ipv4(&f, 20 + 8, 0);
	put_tcp(&f, payload);
	put(&f, "\0\0\0\0\0\0", 6); /* Ethernet padding: not payload */
	assert_segment(&f, DLT_EN10MB, 4, payload);
}

/*
 * Captured on the sending host with segmentation offload: IPv4 total length
 * 0, the super-segment as long as the frame. Taken whole; a snap length cut
 * shows as missing bytes; a fragment with length 0 is still malformed.
 */
static void
test_offload_length_zero(void **state)
{
	struct frame f = {0};
	struct cap_segment s;

	(void)state;
	put_ether(&f, 0x0800);
	put_ipv4(&f, 0, 0);
	f.b[14 + 2] = f.b[14 + 3] = 0; /* total length 0 */
	put_tcp(&f, payload);
	assert_segment(&f, DLT_EN10MB, 4, payload);
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n + 3000, &s), CAP_TCP);
	assert_int_equal(s.len, strlen(payload));
	assert_int_equal(s.missing, 3000);
	f.b[14 + 6] = 0x20; /* more fragments */
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n, &s), CAP_MALFORMED);
}

static void
test_vlan_qinq_mpls(void **state)
{
	struct frame f = {0};

	(void)state;
	put_ether(&f, 0x88a8); /* QinQ outer tag */
	put16(&f, 100);
	put16(&f, 0x8100); /* inner 802.1Q tag */
	put16(&f, 200);
	put16(&f, 0x0800);
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);
	assert_segment(&f, DLT_EN10MB, 4, payload);

	memset(&f, 0, sizeof(f));
	put_ether(&f, 0x8847);	    /* MPLS */
	put32(&f, 0x00001000);	    /* label 1, not bottom */
	put32(&f, 0x00002140);	    /* label 2, bottom of stack */
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);
	assert_segment(&f, DLT_EN10MB, 4, payload);
}

static void
test_null_loop_sll_raw(void **state)
{
	struct frame f = {0};

	(void)state;
	put(&f, "\x02\x00\x00\x00", 4); /* DLT_NULL: AF_INET, little-endian host */
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);
	assert_segment(&f, DLT_NULL, 4, payload);

	memset(&f, 0, sizeof(f));
	put32(&f, 2); /* DLT_LOOP: AF_INET in network order */
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);
	assert_segment(&f, DLT_LOOP, 4, payload);

	memset(&f, 0, sizeof(f));
	put(&f, "\x00\x00\x00\x01\x00\x06\x00\x11\x22\x33\x44\x55\x00\x00", 14); /* SLL */
	put16(&f, 0x86dd);
	put_ipv6(&f, 28, 6);
	put_tcp(&f, payload);
	assert_segment(&f, DLT_LINUX_SLL, 6, payload);

	memset(&f, 0, sizeof(f));
	put16(&f, 0x0800); /* SLL2: protocol first, then 18 bytes */
	put(&f, "\x00\x00\x00\x00\x00\x02\x00\x01\x04\x06\x00\x11\x22\x33\x44\x55\x00\x00", 18);
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);
	assert_segment(&f, 276, 4, payload);

	memset(&f, 0, sizeof(f));
	put_ipv6(&f, 28, 6); /* RAW */
	put_tcp(&f, payload);
	assert_segment(&f, DLT_RAW, 6, payload);
}

/* IPv6 hop-by-hop and destination options, and an atomic fragment header. */
static void
test_ipv6_extension_headers(void **state)
{
	struct frame f = {0};

	(void)state;
	put_ether(&f, 0x86dd);
	put_ipv6(&f, 8 + 8 + 8 + 28, 0);
	put(&f, "\x3c\x00\x01\x04\x00\x00\x00\x00", 8); /* hop-by-hop -> dest opts, 8 bytes */
	put(&f, "\x2c\x00\x01\x04\x00\x00\x00\x00", 8); /* dest opts -> fragment */
	put(&f, "\x06\x00\x00\x00\x00\x00\x00\x07", 8); /* fragment: offset 0, M=0 -> TCP */
	put_tcp(&f, payload);
	assert_segment(&f, DLT_EN10MB, 6, payload);
}

/*
 * Extension headers of non-zero length (RFC 8200 4.3-4.6: length in 8-byte
 * units, not counting the first 8; RFC 4302 2.2: AH's in 4-byte units, not
 * counting the first 2 of them): hop-by-hop of 16 bytes, routing of 24, AH of
 * 24, destination options of 8. Reading AH's length in 8-byte units lands
 * inside the TCP header; so does reading any other's in 4-byte units.
 */
static void
test_ipv6_extension_lengths(void **state)
{
	static const uint8_t zero[24];
	struct frame f = {0};

	(void)state;
	put_ether(&f, 0x86dd);
	put_ipv6(&f, 16 + 24 + 24 + 8 + 28, 0);
	put(&f, "\x2b\x01", 2); /* hop-by-hop -> routing, 16 bytes */
	put(&f, zero, 14);
	put(&f, "\x33\x02", 2); /* routing -> AH, 24 bytes */
	put(&f, zero, 22);
	put(&f, "\x3c\x04", 2); /* AH -> destination options, (4 + 2) * 4 = 24 bytes */
	put(&f, zero, 22);
	put(&f, "\x06\x00", 2); /* destination options -> TCP, 8 bytes */
	put(&f, zero, 6);
	put_tcp(&f, payload);
	assert_segment(&f, DLT_EN10MB, 6, payload);
}

/*
 * Issue 13 item 8: 8,191 one-byte fragments of one datagram at rising
 * offsets. Each used to walk every piece held (quadratic); now a datagram
 * holds at most 128 pieces and is given up past that, counted, and the
 * memory held is counted with each piece's header and allocator overhead.
 */
static void
test_fragment_flood_bounded(void **state)
{
	struct frag_table t = {0};
	struct ip_datagram d = {0}, whole;
	uint8_t x = 'x';
	size_t peak = 0;
	clock_t t0 = clock();

	(void)state;
	d.src.family = d.dst.family = 4;
	d.proto = 6;
	d.payload = &x;
	d.len = 1;
	d.fragment = d.more = true;
	d.id = 7;
	for (uint32_t i = 0; i < 8191; i++) {
		d.frag_off = i * 8;
		frag_add(&t, &d, 1000, &whole);
		if (t.bytes > peak)
			peak = t.bytes;
	}
	printf("frag: 8191 one-byte fragments in %.3f s, %" PRIu64 " datagrams given up, "
	       "peak %zu bytes counted\n", (double)(clock() - t0) / CLOCKS_PER_SEC, t.dropped, peak);
	assert_true(t.dropped >= 8191 / 128);
	assert_true(peak >= 128 * (1 + 16)); /* 128 pieces: each its payload and its header */
	assert_true(peak <= 128 * 64 + 256);
	frag_free(&t);
}

static void
test_fragments_are_counted_not_parsed(void **state)
{
	struct frame f = {0};
	struct cap_segment s;

	(void)state;
	put_ether(&f, 0x0800);
	put_ipv4(&f, 28, 0x2000); /* MF set */
	put_tcp(&f, payload);
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n, &s), CAP_FRAGMENT);
}

/* Cut at every length: never a crash, never a segment from half a header. */
static void
test_every_truncation(void **state)
{
	struct frame f = {0};
	struct cap_segment s;
	size_t headers = 14 + 4 + 20 + 20;

	(void)state;
	put_ether(&f, 0x8100);
	put16(&f, 5);
	put16(&f, 0x0800);
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);
	for (size_t cut = 0; cut < f.n; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
		enum cap_verdict v;

		memcpy(copy, f.b, cut);
		v = cap_decode_frame(DLT_EN10MB, copy, cut, f.n, &s);
		if (cut < headers) {
			assert_int_not_equal(v, CAP_TCP);
		} else {
			assert_int_equal(v, CAP_TCP);
			assert_int_equal(s.len, cut - headers);
			assert_int_equal(s.missing, 8 - (cut - headers)); /* snap length cut */
		}
		free(copy);
	}
}

static void
test_malformed_headers(void **state)
{
	struct frame f = {0};
	struct cap_segment s;

	(void)state;
	put_ether(&f, 0x0800);
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);
	f.b[14 + 20 + 12] = 0x20; /* TCP data offset 2 (8 bytes): impossible */
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n, &s), CAP_MALFORMED);
	f.b[14 + 20 + 12] = 0x50;
	f.b[14] = 0x43; /* IHL 3 */
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n, &s), CAP_MALFORMED);
	f.b[14] = 0x45;
	f.b[12] = 0x08; /* ARP */
	f.b[13] = 0x06;
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n, &s), CAP_NOT_TCP);
}

static void
test_ports_filter(void **state)
{
	char buf[256];
	uint16_t ports[8];
	size_t n;

	(void)state;
	assert_int_equal(cap_ports_filter("25,587,2525", buf, sizeof(buf), ports, &n, 8), 0);
	assert_string_equal(buf, "tcp port 25 or tcp port 587 or tcp port 2525");
	assert_int_equal(n, 3);
	assert_int_equal(ports[2], 2525);
	assert_int_equal(cap_ports_filter("25,", buf, sizeof(buf), ports, &n, 8), -1);
	assert_int_equal(cap_ports_filter("0", buf, sizeof(buf), ports, &n, 8), -1);
	assert_int_equal(cap_ports_filter("70000", buf, sizeof(buf), ports, &n, 8), -1);
	assert_int_equal(cap_ports_filter("25;rm", buf, sizeof(buf), ports, &n, 8), -1);
	assert_int_equal(cap_ports_filter("", buf, sizeof(buf), ports, &n, 8), -1);
}

/* Write frames to a pcap file with libpcap's dumper. */
static void
write_pcap(const char *path, int dlt, const struct frame *f, int count)
{
	pcap_t *p = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *d = pcap_dump_open(p, path);
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)f->n, .len = (bpf_u_int32)f->n};

	assert_non_null(d);
	for (int i = 0; i < count; i++) {
		h.ts.tv_sec = 1700000000 + i;
		pcap_dump((u_char *)d, &h, f->b);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

static void
count_segment(void *arg, const struct cap_segment *s)
{
	(void)s;
	(*(int *)arg)++;
}

static void
test_file_errors(void **state)
{
	char path[] = "/tmp/smtpscope-test-XXXXXX", err[CAP_ERRLEN];
	struct cap_source *src;
	struct frame f = {0};
	int fd = mkstemp(path), n = 0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	put_ether(&f, 0x0800);
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);

	assert_int_equal(cap_open_file(&src, "/nonexistent/x.pcap", err), -1);
	assert_non_null(strstr(err, "cannot open"));

	FILE *t = fopen(path, "w");
	fputs("this is not a capture file at all\n", t);
	fclose(t);
	assert_int_equal(cap_open_file(&src, path, err), -1);
	assert_non_null(strstr(err, "not a pcap or pcapng capture"));

	write_pcap(path, DLT_IEEE802_11, &f, 1);
	assert_int_equal(cap_open_file(&src, path, err), -1);
	assert_non_null(strstr(err, "not supported"));

	/* Three packets, then cut in the middle of the third: two come out, and an error. */
	write_pcap(path, DLT_EN10MB, &f, 3);
	assert_int_equal(truncate(path, 24 + 2 * (16 + (off_t)f.n) + 16 + 10), 0);
	assert_int_equal(cap_open_file(&src, path, err), 0);
	assert_int_equal(cap_set_filter(src, "tcp port 25", err), 0);
	assert_int_equal(cap_run(src, count_segment, &n, err), -1);
	assert_int_equal(n, 2);
	assert_non_null(strstr(err, "truncated"));
	assert_true(cap_stats(src)->input_truncated);
	cap_close(src);

	write_pcap(path, DLT_EN10MB, &f, 3);
	assert_int_equal(cap_open_file(&src, path, err), 0);
	assert_int_equal(cap_set_filter(src, "tcp port (", err), CAP_BAD_FILTER);
	assert_non_null(strstr(err, "bad filter"));
	cap_close(src);
	unlink(path);
}

/* Frames written at given timestamps (seconds), to exercise time-based caps. */
static void
write_frames(const char *path, int dlt, struct frame *const *f, const int *secs, int count)
{
	pcap_t *p = pcap_open_dead(dlt, 65535);
	pcap_dumper_t *d = pcap_dump_open(p, path);

	assert_non_null(d);
	for (int i = 0; i < count; i++) {
		struct pcap_pkthdr h = {.caplen = (bpf_u_int32)f[i]->n, .len = (bpf_u_int32)f[i]->n};

		h.ts.tv_sec = 1700000000 + secs[i];
		pcap_dump((u_char *)d, &h, f[i]->b);
	}
	pcap_dump_close(d);
	pcap_close(p);
}

struct got {
	int n;
	struct cap_segment seg;
	uint8_t payload[256];
	struct cap_stats stats; /* the source's counters at the end of the run */
};

static void
keep_segment(void *arg, const struct cap_segment *s)
{
	struct got *g = arg;

	g->n++;
	g->seg = *s;
	memcpy(g->payload, s->payload, s->len < sizeof(g->payload) ? s->len : sizeof(g->payload));
}

/* Read a capture with these limits (NULL: the defaults), keeping the last segment and the counters. */
static int
run_file_with(const char *path, struct got *g, const uint16_t *ports, size_t nports,
	      const struct cap_limits *lim)
{
	char err[CAP_ERRLEN];
	struct cap_source *src;
	int rc;

	memset(g, 0, sizeof(*g));
	assert_int_equal(cap_open_file(&src, path, err), 0);
	cap_set_ports(src, ports, nports);
	if (lim)
		cap_set_limits(src, lim);
	rc = cap_run(src, keep_segment, g, err);
	g->stats = *cap_stats(src);
	cap_close(src);
	return rc;
}

static int
run_file(const char *path, struct got *g, const uint16_t *ports, size_t nports)
{
	return run_file_with(path, g, ports, nports, NULL);
}

/* IPv4 fragment (RFC 791): a slice [off, off+len) of the TCP segment in tcp. */
static void
ipv4_fragment(struct frame *f, const struct frame *tcp, size_t off, size_t len, bool more)
{
	memset(f, 0, sizeof(*f));
	put_ether(f, 0x0800);
	put_ipv4(f, len, (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
	put(f, tcp->b + off, len);
}

static const char long_payload[] = "MAIL FROM:<someone@example.org> SIZE=12345 BODY=8BITMIME\r\n";

static void
test_ipv4_fragments_reassembled(void **state)
{
	char path[] = "/tmp/smtpscope-frag-XXXXXX";
	struct frame tcp = {0}, a, b, c, dup;
	struct got g;
	static const uint16_t ports[] = {25};
	int secs[] = {0, 0, 0, 0};

	(void)state;
	close(mkstemp(path));
	put_tcp(&tcp, long_payload); /* 20 + 59 bytes: fragments of 24, 24 and 31 */
	ipv4_fragment(&a, &tcp, 0, 24, true);
	ipv4_fragment(&b, &tcp, 24, 24, true);
	ipv4_fragment(&c, &tcp, 48, tcp.n - 48, false);
	ipv4_fragment(&dup, &tcp, 24, 24, true);
	dup.b[14 + 20 + 3] ^= 0xff; /* a conflicting copy of b: the first copy wins */
	struct frame *order[] = {&c, &b, &dup, &a}; /* last first */

	write_frames(path, DLT_EN10MB, order, secs, 4);
	assert_int_equal(run_file(path, &g, ports, 1), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.seg.len, strlen(long_payload));
	assert_memory_equal(g.payload, long_payload, g.seg.len);
	unlink(path);
}

/* --limit frag-bytes: a datagram whose fragments would pass the cap is given up, counted. */
static void
test_fragment_byte_cap(void **state)
{
	char path[] = "/tmp/smtpscope-frag-XXXXXX";
	struct frame tcp = {0}, a, b, c;
	struct cap_limits lim;
	struct got g;
	int secs[] = {0, 0, 0};

	(void)state;
	close(mkstemp(path));
	put_tcp(&tcp, long_payload);
	ipv4_fragment(&a, &tcp, 0, 24, true);
	ipv4_fragment(&b, &tcp, 24, 24, true);
	ipv4_fragment(&c, &tcp, 48, tcp.n - 48, false);
	struct frame *order[] = {&a, &b, &c};

	write_frames(path, DLT_EN10MB, order, secs, 3);
	cap_default_limits(&lim);
	/* the first two fragments fit, counted with their overhead; the third does not */
	lim.max_frag_bytes = frag_dgram_cost() + 2 * frag_piece_cost(24) + 1;
	assert_int_equal(run_file_with(path, &g, NULL, 0, &lim), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.stats.frags_dropped, 1);
	unlink(path);
}

/*
 * A fragment set never completed within the timeout is given up, not kept;
 * one still incomplete when the input ends is given up then, counted too.
 */
static void
test_fragment_timeout(void **state)
{
	char path[] = "/tmp/smtpscope-frag-XXXXXX";
	struct frame tcp = {0}, a, c;
	struct got g;
	int secs[] = {0, 40};

	(void)state;
	close(mkstemp(path));
	put_tcp(&tcp, long_payload);
	ipv4_fragment(&a, &tcp, 0, 24, true);
	ipv4_fragment(&c, &tcp, 48, tcp.n - 48, false);
	struct frame *order[] = {&a, &c};

	write_frames(path, DLT_EN10MB, order, secs, 2);
	assert_int_equal(run_file(path, &g, NULL, 0), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.stats.frags_dropped, 2); /* a on time, c at the end of input */
	unlink(path);
}

/* A last fragment that ends before bytes already held: given up, never assembled with a hole. */
static void
test_inconsistent_fragments_dropped(void **state)
{
	char path[] = "/tmp/smtpscope-frag-XXXXXX";
	struct frame tcp = {0}, late, last;
	struct got g;
	int secs[] = {0, 0};

	(void)state;
	close(mkstemp(path));
	put_tcp(&tcp, long_payload);
	ipv4_fragment(&late, &tcp, 40, 16, true); /* [40,56), more to come */
	ipv4_fragment(&last, &tcp, 16, 16, false); /* [16,32) says it is the end */
	struct frame *order[] = {&late, &last};

	write_frames(path, DLT_EN10MB, order, secs, 2);
	assert_int_equal(run_file(path, &g, NULL, 0), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.stats.frags_dropped, 1);
	unlink(path);
}

/* IPv6 fragments (RFC 8200 4.5): the TCP header is inside the first one only. */
static void
test_ipv6_fragments_reassembled(void **state)
{
	char path[] = "/tmp/smtpscope-frag-XXXXXX";
	struct frame tcp = {0}, a = {0}, b = {0};
	struct got g;
	static const uint16_t ports[] = {25};
	int secs[] = {0, 1};

	(void)state;
	close(mkstemp(path));
	put_tcp(&tcp, long_payload);
	put_ether(&b, 0x86dd); /* second fragment first: offset 32, last */
	put_ipv6(&b, 8 + tcp.n - 32, 44);
	put(&b, "\x06\x00", 2);
	put16(&b, 32);	     /* offset 32 (4 units of 8), M = 0 */
	put32(&b, 0xabcd);   /* identification */
	put(&b, tcp.b + 32, tcp.n - 32);
	put_ether(&a, 0x86dd);
	put_ipv6(&a, 8 + 32, 44);
	put(&a, "\x06\x00", 2);
	put16(&a, 1);	     /* offset 0, M = 1 */
	put32(&a, 0xabcd);
	put(&a, tcp.b, 32);
	struct frame *order[] = {&b, &a};

	write_frames(path, DLT_EN10MB, order, secs, 2);
	assert_int_equal(run_file(path, &g, ports, 1), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.seg.src.family, 6);
	assert_memory_equal(g.payload, long_payload, strlen(long_payload));
	unlink(path);
}

/* An IPv6 fragment of the datagram above, [off, off+len) of tcp, M as given. */
static void
ipv6_fragment(struct frame *f, const struct frame *tcp, size_t off, size_t len, bool more)
{
	memset(f, 0, sizeof(*f));
	put_ether(f, 0x86dd);
	put_ipv6(f, 8 + len, 44);
	put(f, "\x06\x00", 2);
	put16(f, (uint16_t)(off | (more ? 1 : 0)));
	put32(f, 0xabcd);
	put(f, tcp->b + off, len);
}

/*
 * RFC 5722: overlapping IPv6 fragments give the datagram up (counted); an
 * exact duplicate is ignored and the datagram still completes.
 */
static void
test_ipv6_overlap_drops_datagram(void **state)
{
	char path[] = "/tmp/smtpscope-frag-XXXXXX";
	struct frame tcp = {0}, a, b, dup, over;
	struct got g;
	static const uint16_t ports[] = {25};
	int secs[] = {0, 0, 0};

	(void)state;
	close(mkstemp(path));
	put_tcp(&tcp, long_payload);
	ipv6_fragment(&a, &tcp, 0, 32, true);
	ipv6_fragment(&b, &tcp, 32, tcp.n - 32, false);
	ipv6_fragment(&dup, &tcp, 0, 32, true);
	ipv6_fragment(&over, &tcp, 24, 16, true); /* [24,40) straddles both */
	struct frame *with_dup[] = {&a, &dup, &b}, *with_overlap[] = {&a, &over, &b};

	write_frames(path, DLT_EN10MB, with_dup, secs, 3);
	assert_int_equal(run_file(path, &g, ports, 1), 0);
	assert_int_equal(g.n, 1);
	assert_memory_equal(g.payload, long_payload, strlen(long_payload));
	assert_int_equal(g.stats.frags_dropped, 0);
	write_frames(path, DLT_EN10MB, with_overlap, secs, 3);
	assert_int_equal(run_file(path, &g, ports, 1), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(g.stats.frags_dropped, 2); /* at the overlap; b, alone, at the end */
	unlink(path);
}

/*
 * IPv6 fragments whose fragmentable part starts with Destination Options
 * (RFC 8200 4.5), the second one a microsecond "earlier" (merged captures):
 * the options are read once the datagram is whole, and time going back
 * does not give the held fragment up.
 */
static void
test_ipv6_fragment_with_options_and_time_back(void **state)
{
	char path[] = "/tmp/smtpscope-frag-XXXXXX";
	struct frame body = {0}, a = {0}, b = {0};
	struct got g;
	static const uint16_t ports[] = {25};
	pcap_t *p;
	pcap_dumper_t *dump;
	struct pcap_pkthdr h = {0};

	(void)state;
	close(mkstemp(path));
	put(&body, "\x06\x00\x01\x04\x00\x00\x00\x00", 8); /* dest opts -> TCP, 8 bytes */
	put_tcp(&body, long_payload);
	put_ether(&a, 0x86dd);
	put_ipv6(&a, 8 + 32, 44);
	put(&a, "\x3c\x00", 2); /* fragment header: next is dest opts */
	put16(&a, 1);		   /* offset 0, M = 1 */
	put32(&a, 0x77);
	put(&a, body.b, 32);
	put_ether(&b, 0x86dd);
	put_ipv6(&b, 8 + body.n - 32, 44);
	put(&b, "\x3c\x00", 2);
	put16(&b, 32); /* offset 32, last */
	put32(&b, 0x77);
	put(&b, body.b + 32, body.n - 32);
	p = pcap_open_dead(DLT_EN10MB, 65535);
	dump = pcap_dump_open(p, path);
	h.ts.tv_sec = 1700000000;
	h.ts.tv_usec = 10;
	h.caplen = h.len = (bpf_u_int32)a.n;
	pcap_dump((u_char *)dump, &h, a.b);
	h.ts.tv_usec = 9;
	h.caplen = h.len = (bpf_u_int32)b.n;
	pcap_dump((u_char *)dump, &h, b.b);
	pcap_dump_close(dump);
	pcap_close(p);
	assert_int_equal(run_file(path, &g, ports, 1), 0);
	assert_int_equal(g.n, 1);
	assert_memory_equal(g.payload, long_payload, strlen(long_payload));
	unlink(path);
}

/* ICMPv6 destination unreachable (type 1), administratively prohibited, quoting a SYN. */
static void
test_icmpv6_unreachable(void **state)
{
	struct frame f = {0}, syn = {0};
	struct cap_segment s;

	(void)state;
	put_ipv6(&syn, 20, 6);
	put16(&syn, 40000);
	put16(&syn, 25);
	put32(&syn, 1000);
	put_ether(&f, 0x86dd);
	put_ipv6(&f, 8 + syn.n, 58);
	put(&f, "\x01\x01\x00\x00\x00\x00\x00\x00", 8); /* type 1 code 1 */
	put(&f, syn.b, syn.n);
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n, &s), CAP_UNREACH);
	assert_int_equal(s.icmp_type, 1);
	assert_int_equal(s.icmp_code, 1);
	assert_int_equal(s.dport, 25);
	assert_int_equal(s.src.family, 6);
}

/* An ICMP administratively-prohibited quoting our SYN names the refused attempt. */
static void
test_icmp_unreachable_quotes_syn(void **state)
{
	struct frame f = {0}, syn = {0};
	struct cap_segment s;

	(void)state;
	put_ipv4(&syn, 20, 0); /* the quoted SYN: IP header + 8 bytes of TCP */
	put16(&syn, 40000);
	put16(&syn, 25);
	put32(&syn, 1000);
	put_ether(&f, 0x0800);
	put16(&f, 0x4500); /* IPv4 from the router 192.0.2.254 */
	put16(&f, (uint16_t)(20 + 8 + syn.n));
	put32(&f, 0);
	put16(&f, 0x4001); /* TTL 64, ICMP */
	put16(&f, 0);
	put(&f, "\xc0\x00\x02\xfe\xc0\x00\x02\x01", 8);
	put(&f, "\x03\x0d\x00\x00\x00\x00\x00\x00", 8); /* type 3 code 13 */
	put(&f, syn.b, syn.n);
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n, &s), CAP_UNREACH);
	assert_int_equal(s.icmp_type, 3);
	assert_int_equal(s.icmp_code, 13);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.dport, 25);
	assert_int_equal(s.seq, 1000);
	assert_int_equal(s.reporter.bytes[3], 254);
	assert_int_equal(s.dst.bytes[3], 25);
	f.b[14 + 20 + 1] = 4; /* fragmentation needed: path MTU, not a refusal */
	assert_int_equal(cap_decode_frame(DLT_EN10MB, f.b, f.n, f.n, &s), CAP_NOT_TCP);
}

/* The port check is ours, so VLAN-tagged SMTP is kept and other ports are counted. */
static void
test_port_check_sees_through_vlan(void **state)
{
	char path[] = "/tmp/smtpscope-vlan-XXXXXX";
	struct frame f = {0};
	struct got g;
	static const uint16_t smtp[] = {25}, other[] = {587};

	(void)state;
	close(mkstemp(path));
	put_ether(&f, 0x8100);
	put16(&f, 7);
	put16(&f, 0x0800);
	put_ipv4(&f, 28, 0);
	put_tcp(&f, payload);
	write_pcap(path, DLT_EN10MB, &f, 2);
	assert_int_equal(run_file(path, &g, smtp, 1), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(run_file(path, &g, other, 1), 0);
	assert_int_equal(g.n, 0);
	unlink(path);
}

/* -B's default: 256 MiB per Gbit/s from 1 Gbit/s up, at most 1 GiB and 1/32 of memory. */
static void
test_default_buffer_rule(void **state)
{
	const uint64_t mib = 1 << 20, gib = 1024 * mib;

	(void)state;
	assert_int_equal(cap_buffer_for(-1, 0), 256 * mib);	  /* unknown speed, memory */
	assert_int_equal(cap_buffer_for(100, 64 * gib), 256 * mib); /* slower links: the same */
	assert_int_equal(cap_buffer_for(2500, 64 * gib), 640 * mib);
	assert_int_equal(cap_buffer_for(100000, 64 * gib), gib);    /* capped */
	assert_int_equal(cap_buffer_for(1000, 4 * gib), 128 * mib); /* 1/32 of the memory */
	assert_int_equal(cap_buffer_for(1000, 64 * mib), 4 * mib);  /* never below 4 MiB */
	assert_true(cap_default_buffer("no-such-interface") >= 4 * mib);
	assert_true(cap_default_buffer("lo") <= 256 * mib); /* virtual: no speed read */
	assert_true(cap_default_buffer("../x") >= 4 * mib);
}

/* After drops: twice, 4, 8, 16 times the buffer as the share passes 0.1%, 1%, 10%. */
static void
test_buffer_advice(void **state)
{
	const uint64_t mib = 1 << 20;
	struct cap_stats st = {.buffer_size = 64 * mib, .kernel_received = 100000};

	(void)state;
	assert_int_equal(cap_buffer_advice(&st), 0); /* no drop */
	st.kernel_dropped = 50;
	assert_int_equal(cap_buffer_advice(&st), 128 * mib);
	st.kernel_dropped = 800; /* 0.8%, what 16 MiB dropped at 1 Gbit/s in the issue */
	assert_int_equal(cap_buffer_advice(&st), 256 * mib);
	st.kernel_dropped = 5000;
	assert_int_equal(cap_buffer_advice(&st), 512 * mib);
	st.kernel_dropped = 40000;
	assert_int_equal(cap_buffer_advice(&st), 1024 * mib); /* 16 times, capped at 1 GiB */
	st.kernel_received = 0; /* counters that disagree: all dropped */
	st.buffer_size = 4 * mib;
	assert_int_equal(cap_buffer_advice(&st), 64 * mib);
	st.buffer_size = 0;
	assert_int_equal(cap_buffer_advice(&st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_ipv4),
		cmocka_unit_test(test_offload_length_zero),
		cmocka_unit_test(test_vlan_qinq_mpls),
		cmocka_unit_test(test_null_loop_sll_raw),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_ipv6_extension_lengths),
		cmocka_unit_test(test_fragment_flood_bounded),
		cmocka_unit_test(test_fragments_are_counted_not_parsed),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_ports_filter),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_ipv4_fragments_reassembled),
		cmocka_unit_test(test_fragment_timeout),
		cmocka_unit_test(test_ipv6_fragments_reassembled),
		cmocka_unit_test(test_ipv6_overlap_drops_datagram),
		cmocka_unit_test(test_fragment_byte_cap),
		cmocka_unit_test(test_inconsistent_fragments_dropped),
		cmocka_unit_test(test_ipv6_fragment_with_options_and_time_back),
		cmocka_unit_test(test_icmpv6_unreachable),
		cmocka_unit_test(test_icmp_unreachable_quotes_syn),
		cmocka_unit_test(test_port_check_sees_through_vlan),
		cmocka_unit_test(test_default_buffer_rule),
		cmocka_unit_test(test_buffer_advice),
	};

	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
