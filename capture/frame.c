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

#define IPPROTO_TCP_ 6
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

/* IPv4 header; narrows r to the payload. Returns the verdict so far. */
static enum cap_verdict
parse_ipv4(struct rd *r, struct cap_segment *seg, uint8_t *proto)
{
	uint8_t vhl = rd_u8(r);
	size_t hlen = (size_t)(vhl & 0x0f) * 4;
	uint16_t total, frag;

	rd_skip(r, 1); /* TOS */
	total = rd_be16(r);
	rd_skip(r, 2); /* id */
	frag = rd_be16(r);
	rd_skip(r, 1); /* TTL */
	*proto = rd_u8(r);
	rd_skip(r, 2); /* checksum */
	const uint8_t *src = rd_span(r, 4), *dst = rd_span(r, 4);

	if (r->short_read)
		return CAP_TRUNCATED;
	if (vhl >> 4 != 4 || hlen < 20 || total < hlen)
		return CAP_MALFORMED;
	if (!rd_skip(r, hlen - 20))
		return CAP_TRUNCATED;
	/* Ethernet pads short frames: the payload ends where IP says it ends. */
	rd_limit(r, total - hlen);
	seg->missing = 0;
	if (r->left < (size_t)(total - hlen))
		seg->missing = (uint32_t)(total - hlen - r->left);
	if (frag & 0x3fff) /* MF set or a non-zero offset */
		return CAP_FRAGMENT;
	seg->src.family = seg->dst.family = 4;
	memcpy(seg->src.bytes, src, 4);
	memcpy(seg->dst.bytes, dst, 4);
	return CAP_TCP;
}

/* IPv6 header and extension headers (RFC 8200 4.1); narrows r to the payload. */
static enum cap_verdict
parse_ipv6(struct rd *r, struct cap_segment *seg, uint8_t *proto)
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
	if (plen != 0) { /* 0 means a jumbogram: take what was captured */
		seg->missing = r->left < plen ? (uint32_t)(plen - r->left) : 0;
		rd_limit(r, plen);
	}
	for (int i = 0; i < MAX_IPV6_EXT; i++) {
		if (next == IP6_HOPOPTS || next == IP6_ROUTING || next == IP6_DSTOPTS) {
			next = rd_u8(r);
			rd_skip(r, (size_t)rd_u8(r) * 8 + 6);
		} else if (next == IP6_AH) {
			next = rd_u8(r);
			rd_skip(r, (size_t)rd_u8(r) * 4 + 6);
		} else if (next == IP6_FRAGMENT) {
			next = rd_u8(r);
			rd_skip(r, 1);
			uint16_t off = rd_be16(r);

			rd_skip(r, 4);
			if (r->short_read)
				return CAP_TRUNCATED;
			if (off & 0xfff9) /* offset or M flag: a real fragment */
				return CAP_FRAGMENT;
		} else {
			break;
		}
		if (r->short_read)
			return CAP_TRUNCATED;
	}
	*proto = next;
	seg->src.family = seg->dst.family = 6;
	memcpy(seg->src.bytes, src, 16);
	memcpy(seg->dst.bytes, dst, 16);
	return CAP_TCP;
}

static enum cap_verdict
parse_tcp(struct rd *r, struct cap_segment *seg)
{
	size_t ip_missing = seg->missing;

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
	if (!rd_skip(r, hlen - 20))
		return ip_missing ? CAP_TRUNCATED : CAP_MALFORMED;
	seg->payload = r->p;
	seg->len = (uint32_t)r->left;
	seg->missing = (uint32_t)ip_missing;
	return CAP_TCP;
}

enum cap_verdict
cap_decode_frame(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
		 struct cap_segment *seg)
{
	link_fn *link = link_lookup(dlt);
	struct rd r;
	enum cap_verdict v;
	uint8_t proto = 0;

	(void)wirelen;
	memset(seg, 0, sizeof(*seg));
	if (!link)
		return CAP_NOT_TCP;
	rd_init(&r, frame, caplen);
	switch (link(&r)) {
	case NET_IPV4:
		v = parse_ipv4(&r, seg, &proto);
		break;
	case NET_IPV6:
		v = parse_ipv6(&r, seg, &proto);
		break;
	default:
		return r.short_read ? CAP_TRUNCATED : CAP_NOT_TCP;
	}
	if (v != CAP_TCP)
		return v;
	if (proto != IPPROTO_TCP_)
		return CAP_NOT_TCP;
	return parse_tcp(&r, seg);
}
