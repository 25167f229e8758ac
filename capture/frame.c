/*
 * frame.c - link layer, IPv4/IPv6 and TCP headers, taken apart with rd.h.
 *
 * A table maps each libpcap link type to the function that finds the network
 * layer (tcpdump's printers[]). Lengths in headers are never trusted beyond
 * what was captured: the IP total length narrows the reader, and payload cut
 * by the snap length is reported as `missing`, not read.
 */
#include "capture.h"

#include <pcap/pcap.h>
#include <string.h>

#include "frame.h"
#include "rd.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS 0x8847
#define MAX_VLAN_TAGS 8
#define MAX_MPLS_LABELS 8
#define MAX_IPV6_EXT 8

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_ICMPV6_ 58
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_AH 51
#define IP6_DSTOPTS 60

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

/* Network layer found by a link parser: 4, 6, or 0 for "not IP". */
enum net { NET_NONE = 0, NET_IPV4 = 4, NET_IPV6 = 6 };

typedef enum net link_fn(struct rd *r);

static enum net
net_from_ethertype(uint16_t type)
{
	if (type == ETHERTYPE_IPV4)
		return NET_IPV4;
	if (type == ETHERTYPE_IPV6)
		return NET_IPV6;
	return NET_NONE;
}

/* IP version from the first nibble, for link types that carry bare IP. */
static enum net
net_from_version(struct rd *r)
{
	switch (rd_peek_u8(r) >> 4) {
	case 4:
		return NET_IPV4;
	case 6:
		return NET_IPV6;
	default:
		return NET_NONE;
	}
}

/* MPLS label stack (RFC 3032): pop to the bottom label, then guess by version. */
static enum net
link_mpls(struct rd *r)
{
	for (int i = 0; i < MAX_MPLS_LABELS; i++) {
		uint32_t label = rd_be32(r);

		if (r->short_read)
			return NET_NONE;
		if (label & 0x100)
			return net_from_version(r);
	}
	return NET_NONE;
}

static enum net
link_ethertype(struct rd *r, uint16_t type)
{
	for (int tags = 0; tags <= MAX_VLAN_TAGS; tags++) {
		if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
			rd_skip(r, 2); /* TCI */
			type = rd_be16(r);
			continue;
		}
		if (type == ETHERTYPE_MPLS)
			return link_mpls(r);
		return net_from_ethertype(type);
	}
	return NET_NONE;
}

static enum net
link_ethernet(struct rd *r)
{
	rd_skip(r, 12); /* destination and source MAC */
	return link_ethertype(r, rd_be16(r));
}

/* DLT_NULL: a 4-byte address family in the capturing host's byte order. */
static enum net
link_null(struct rd *r)
{
	const uint8_t *f = rd_span(r, 4);
	uint32_t le, be;

	if (!f)
		return NET_NONE;
	le = (uint32_t)f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 24;
	be = (uint32_t)f[3] | (uint32_t)f[2] << 8 | (uint32_t)f[1] << 16 | (uint32_t)f[0] << 24;
	if (le == 2 || be == 2)
		return NET_IPV4;
	/* AF_INET6 differs by OS: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux). */
	if (le == 24 || le == 28 || le == 30 || le == 10 || be == 24 || be == 28 || be == 30 ||
	    be == 10)
		return NET_IPV6;
	return NET_NONE;
}

/* DLT_LOOP: like DLT_NULL but always in network byte order. */
static enum net
link_loop(struct rd *r)
{
	uint32_t af = rd_be32(r);

	if (af == 2)
		return NET_IPV4;
	if (af == 24 || af == 28 || af == 30 || af == 10)
		return NET_IPV6;
	return NET_NONE;
}

/* Linux cooked capture v1: 16 bytes, protocol type last. */
static enum net
link_sll(struct rd *r)
{
	rd_skip(r, 14);
	return link_ethertype(r, rd_be16(r));
}

/* Linux cooked capture v2: 20 bytes, protocol type first. */
static enum net
link_sll2(struct rd *r)
{
	uint16_t type = rd_be16(r);

	rd_skip(r, 18);
	return link_ethertype(r, type);
}

static enum net
link_raw(struct rd *r)
{
	return net_from_version(r);
}

static const struct {
	int dlt;
	link_fn *fn;
} link_table[] = {
	{DLT_EN10MB, link_ethernet},
	{DLT_NULL, link_null},
	{DLT_LOOP, link_loop},
	{DLT_LINUX_SLL, link_sll},
	{DLT_LINUX_SLL2, link_sll2},
	{DLT_RAW, link_raw},
	{DLT_IPV4, link_raw},
	{DLT_IPV6, link_raw},
};

static link_fn *
link_lookup(int dlt)
{
	for (size_t i = 0; i < sizeof(link_table) / sizeof(link_table[0]); i++)
		if (link_table[i].dlt == dlt)
			return link_table[i].fn;
	return NULL;
}

bool
cap_linktype_supported(int dlt)
{
	return link_lookup(dlt) != NULL;
}

/* IPv4 header (RFC 791): addresses, protocol, fragment fields; the payload as captured. */
static enum cap_verdict
parse_ipv4(struct rd *r, struct ip_datagram *d, uint32_t cut)
{
	uint8_t vhl = rd_u8(r);
	size_t hlen = (size_t)(vhl & 0x0f) * 4;
	uint16_t total, frag;

	rd_skip(r, 1); /* TOS */
	total = rd_be16(r);
	d->id = rd_be16(r);
	frag = rd_be16(r);
	rd_skip(r, 1); /* TTL */
	d->proto = rd_u8(r);
	rd_skip(r, 2); /* checksum */
	const uint8_t *src = rd_span(r, 4), *dst = rd_span(r, 4);

	if (r->short_read)
		return CAP_TRUNCATED;
	/*
	 * A total length of 0 on an unfragmented datagram is a capture taken on
	 * the sending host with TCP segmentation offload: the kernel hands over a
	 * super-segment and the card fills in the length. Take what was captured
	 * (Wireshark does the same); the snap length may still have cut it.
	 */
	bool offload = total == 0 && !(frag & 0x3fff);

	if (vhl >> 4 != 4 || hlen < 20 || (total < hlen && !offload))
		return CAP_MALFORMED;
	if (!rd_skip(r, hlen - 20))
		return CAP_TRUNCATED;
	if (offload) {
		d->missing = cut;
	} else { /* Ethernet pads short frames: the payload ends where IP says it ends */
		rd_limit(r, total - hlen);
		d->missing = r->left < (size_t)(total - hlen) ? (uint32_t)(total - hlen - r->left) : 0;
	}
	d->frag_off = (uint32_t)(frag & 0x1fff) * 8;
	d->more = (frag & 0x2000) != 0;
	d->fragment = d->more || d->frag_off;
	d->src.family = d->dst.family = 4;
	memcpy(d->src.bytes, src, 4);
	memcpy(d->dst.bytes, dst, 4);
	d->payload = r->p;
	d->len = r->left;
	return CAP_TCP;
}

/* The IPv6 Fragment header (RFC 8200 4.5); an atomic one (offset 0, M=0) changes nothing. */
static enum cap_verdict
parse_ipv6_fragment(struct rd *r, struct ip_datagram *d, uint8_t *next)
{
	*next = rd_u8(r);
	rd_skip(r, 1);
	uint16_t off = rd_be16(r);

	d->id = rd_be32(r);
	if (r->short_read)
		return CAP_TRUNCATED;
	d->frag_off = off & 0xfff8;
	d->more = off & 1;
	d->fragment = d->more || d->frag_off;
	return CAP_TCP;
}

/*
 * IPv6 extension headers (RFC 8200 4.1), up to the upper-layer protocol, or
 * up to a Fragment header that starts a real fragment: what follows it
 * belongs to the fragmentable part, read once the datagram is whole.
 */
static enum cap_verdict
ipv6_extensions(struct rd *r, struct ip_datagram *d, uint8_t *next)
{
	for (int i = 0; i < MAX_IPV6_EXT; i++) {
		if (*next == IP6_HOPOPTS || *next == IP6_ROUTING || *next == IP6_DSTOPTS) {
			*next = rd_u8(r);
			rd_skip(r, (size_t)rd_u8(r) * 8 + 6);
		} else if (*next == IP6_AH) {
			*next = rd_u8(r);
			rd_skip(r, (size_t)rd_u8(r) * 4 + 6);
		} else if (*next == IP6_FRAGMENT) {
			if (parse_ipv6_fragment(r, d, next) != CAP_TCP)
				return CAP_TRUNCATED;
			if (d->fragment)
				return CAP_TCP;
		} else {
			return CAP_TCP;
		}
		if (r->short_read)
			return CAP_TRUNCATED;
	}
	return CAP_TCP;
}

/* IPv6 header and extension headers (RFC 8200 4.1); the payload as captured. */
static enum cap_verdict
parse_ipv6(struct rd *r, struct ip_datagram *d, uint32_t cut)
{
	uint32_t vtf = rd_be32(r);
	uint16_t plen = rd_be16(r);
	uint8_t next = rd_u8(r);

	rd_skip(r, 1); /* hop limit */
	const uint8_t *src = rd_span(r, 16), *dst = rd_span(r, 16);

	if (r->short_read)
		return CAP_TRUNCATED;
	if (vtf >> 28 != 6)
		return CAP_MALFORMED;
	if (plen != 0) {
		d->missing = r->left < plen ? (uint32_t)(plen - r->left) : 0;
		rd_limit(r, plen);
	} else { /* a jumbogram, or segmentation offload (as IPv4): take what was captured */
		d->missing = cut;
	}
	if (ipv6_extensions(r, d, &next) != CAP_TCP)
		return CAP_TRUNCATED;
	d->proto = next;
	d->src.family = d->dst.family = 6;
	memcpy(d->src.bytes, src, 16);
	memcpy(d->dst.bytes, dst, 16);
	d->payload = r->p;
	d->len = r->left;
	return CAP_TCP;
}

enum cap_verdict
frame_ip(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen, struct ip_datagram *d)
{
	link_fn *link = link_lookup(dlt);
	uint32_t cut = wirelen > caplen && wirelen - caplen < UINT32_MAX ? (uint32_t)(wirelen - caplen) : 0;
	struct rd r;

	memset(d, 0, sizeof(*d));
	if (!link)
		return CAP_NOT_TCP;
	rd_init(&r, frame, caplen);
	switch (link(&r)) {
	case NET_IPV4:
		return parse_ipv4(&r, d, cut);
	case NET_IPV6:
		return parse_ipv6(&r, d, cut);
	default:
		return r.short_read ? CAP_TRUNCATED : CAP_NOT_TCP;
	}
}

/* A SYN's window-scale option (RFC 7323 2.2: kind 3, length 3, shift; 14 at most). */
static uint8_t
syn_wscale(struct rd opts)
{
	while (opts.left > 0 && !opts.short_read) {
		uint8_t kind = rd_u8(&opts);

		if (kind == 0) /* end of options */
			break;
		if (kind == 1) /* no-op */
			continue;
		uint8_t len = rd_u8(&opts);

		if (len < 2 || opts.short_read)
			break;
		if (kind == 3 && len == 3) {
			uint8_t shift = rd_u8(&opts);

			return opts.short_read ? 0 : (uint8_t)(1 + (shift > 14 ? 14 : shift));
		}
		if (!rd_skip(&opts, (size_t)len - 2))
			break;
	}
	return 0;
}

static enum cap_verdict
parse_tcp(struct rd *r, uint32_t ip_missing, struct cap_segment *seg)
{
	seg->sport = rd_be16(r);
	seg->dport = rd_be16(r);
	seg->seq = rd_be32(r);
	seg->ack = rd_be32(r);
	uint8_t off = rd_u8(r);

	seg->flags = rd_u8(r);
	seg->window = rd_be16(r);
	rd_skip(r, 4); /* checksum, urgent pointer: offloaded checksums are common, not checked */
	if (r->short_read)
		return CAP_TRUNCATED;
	size_t hlen = (size_t)(off >> 4) * 4;

	if (hlen < 20)
		return CAP_MALFORMED;
	struct rd opts = rd_sub(r, hlen - 20);

	if (opts.short_read)
		return ip_missing ? CAP_TRUNCATED : CAP_MALFORMED;
	if (seg->flags & CAP_TH_SYN)
		seg->wscale = syn_wscale(opts);
	seg->payload = r->p;
	seg->len = (uint32_t)r->left;
	seg->missing = ip_missing;
	return CAP_TCP;
}

/*
 * An ICMP destination-unreachable quoting one of our TCP segments (RFC 792,
 * RFC 4443 3.1): the quoted IP header and the first 8 bytes of TCP name the
 * connection the router or host refused. Fragmentation-needed is not a
 * refusal (path MTU discovery) and is left alone.
 */
static enum cap_verdict
parse_unreachable(struct rd *r, const struct ip_datagram *outer, struct cap_segment *seg)
{
	struct ip_datagram q;
	uint8_t type = rd_u8(r), code = rd_u8(r);
	bool v6 = outer->src.family == 6;

	rd_skip(r, 6); /* checksum, unused / next-hop MTU */
	if (r->short_read)
		return CAP_TRUNCATED;
	if (type != (v6 ? 1 : 3) || (!v6 && code == 4))
		return CAP_NOT_TCP;
	memset(&q, 0, sizeof(q));
	if ((v6 ? parse_ipv6(r, &q, 0) : parse_ipv4(r, &q, 0)) != CAP_TCP || q.proto != IPPROTO_TCP_ ||
	    q.fragment)
		return CAP_NOT_TCP;
	rd_init(r, q.payload, q.len);
	seg->sport = rd_be16(r);
	seg->dport = rd_be16(r);
	seg->seq = rd_be32(r);
	if (r->short_read)
		return CAP_TRUNCATED;
	seg->src = q.src;
	seg->dst = q.dst;
	seg->reporter = outer->src;
	seg->icmp_type = type;
	seg->icmp_code = code;
	return CAP_UNREACH;
}

enum cap_verdict
frame_transport(const struct ip_datagram *d, struct cap_segment *seg)
{
	struct rd r;
	uint8_t proto = d->proto;

	rd_init(&r, d->payload, d->len);
	if (d->src.family == 6 && proto != IPPROTO_TCP_ && proto != IPPROTO_ICMPV6_) {
		struct ip_datagram whole = *d; /* a reassembled payload: its headers come first */

		whole.fragment = false;
		if (ipv6_extensions(&r, &whole, &proto) != CAP_TCP || whole.fragment)
			return CAP_MALFORMED;
	}
	if (proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_)
		return parse_unreachable(&r, d, seg);
	if (proto != IPPROTO_TCP_)
		return CAP_NOT_TCP;
	seg->src = d->src;
	seg->dst = d->dst;
	return parse_tcp(&r, d->missing, seg);
}

enum cap_verdict
cap_decode_frame(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
		 struct cap_segment *seg)
{
	struct ip_datagram d;
	enum cap_verdict v = frame_ip(dlt, frame, caplen, wirelen, &d);

	memset(seg, 0, sizeof(*seg));
	if (v != CAP_TCP)
		return v;
	if (d.fragment)
		return CAP_FRAGMENT;
	return frame_transport(&d, seg);
}
