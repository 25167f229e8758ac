/*
 * frame.h - the two halves of taking a frame apart (private to capture/).
 *
 * frame_ip() reads the link layer and the IP header(s) into an ip_datagram;
 * a fragment goes to frag.c, and a whole datagram (as captured, or put back
 * together) goes to frame_transport(), which reads TCP or an ICMP
 * destination-unreachable.
 */
#ifndef SMTPSCOPE_CAPTURE_FRAME_H
#define SMTPSCOPE_CAPTURE_FRAME_H

#include "capture.h"

struct ip_datagram {
	struct cap_addr src, dst; /* src.family is the IP version */
	uint8_t proto;
	const uint8_t *payload; /* borrowed: the frame, or frag.c's buffer */
	size_t len;		/* payload bytes present */
	uint32_t missing;	/* payload bytes the snap length cut off */
	bool fragment, more;
	uint32_t frag_off; /* bytes */
	uint32_t id;
};

/* wirelen: the frame's length on the wire, for datagrams that do not give their own */
enum cap_verdict frame_ip(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen,
			  struct ip_datagram *d);
/* TCP or an ICMP unreachable; a reassembled IPv6 payload may still start with extension headers. */
enum cap_verdict frame_transport(const struct ip_datagram *d, struct cap_segment *seg);

#endif
