/*
 * community_id.c - Community ID flow hashing, version 1
 * (https://github.com/corelight/community-id-spec), for ECS network.community_id.
 *
 * The hash is SHA-1 over: the seed (2 bytes, network order), the source and
 * destination addresses (4 or 16 bytes each), the IP protocol number, one
 * zero byte of padding, the source and destination ports (2 bytes each,
 * network order). The two ends are ordered first, so both directions of a
 * flow get the same id: the smaller address goes first, or with equal
 * addresses the smaller port. The id is "1:" and the base64 of the digest.
 * Only the port-based protocols (TCP, UDP, SCTP) are done here: smtpscope
 * sees TCP only, and ICMP's type/code pairing is not needed.
 */
#include "report.h"

#include <string.h>

#include <openssl/evp.h>

size_t
rpt_community_id(char *buf, size_t n, uint16_t seed, uint8_t proto, const struct cap_addr *src,
		 uint16_t sport, const struct cap_addr *dst, uint16_t dport)
{
	size_t alen = src->family == 6 ? 16 : 4;
	uint8_t in[2 + 16 + 16 + 1 + 1 + 2 + 2], md[EVP_MAX_MD_SIZE];
	unsigned char b64[32];
	unsigned mdlen = 0;
	size_t k = 0;
	int c = memcmp(src->bytes, dst->bytes, alen);

	if (n < RPT_COMMUNITY_ID_LEN || src->family != dst->family) {
		if (n)
			buf[0] = '\0';
		return 0;
	}
	if (c > 0 || (c == 0 && sport > dport)) { /* the smaller end first */
		const struct cap_addr *a = src;
		uint16_t p = sport;

		src = dst;
		dst = a;
		sport = dport;
		dport = p;
	}
	in[k++] = (uint8_t)(seed >> 8);
	in[k++] = (uint8_t)seed;
	memcpy(in + k, src->bytes, alen);
	k += alen;
	memcpy(in + k, dst->bytes, alen);
	k += alen;
	in[k++] = proto;
	in[k++] = 0;
	in[k++] = (uint8_t)(sport >> 8);
	in[k++] = (uint8_t)sport;
	in[k++] = (uint8_t)(dport >> 8);
	in[k++] = (uint8_t)dport;
	if (!EVP_Digest(in, k, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) {
		buf[0] = '\0';
		return 0;
	}
	EVP_EncodeBlock(b64, md, 20); /* 28 characters and a NUL */
	memcpy(buf, "1:", 2);
	memcpy(buf + 2, b64, 29);
	return 30;
}
