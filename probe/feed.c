/*
 * feed.c - the probe's own connection, handed to decode/ exactly as
 * reassembly/ hands it a captured one: RSM_EV_OPEN, the bytes of each
 * direction as they were sent and received (RSM_EV_DATA, in wire order),
 * RSM_EV_CLOSE with how it ended. decode/ cannot tell the two apart, so a
 * probe and a capture of the same exchange read alike.
 */
#include "probe_private.h"

#include <string.h>
#include <time.h>

uint64_t
feed_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
feed_event(struct feed *f, enum rsm_ev type, enum rsm_dir dir, const uint8_t *p, size_t n,
	   enum rsm_end end)
{
	struct rsm_event ev = {.type = type, .dir = dir, .conn = &f->conn, .ts = f->conn.ts_last,
			       .data = p, .len = n, .end = end};

	smtp_on_stream(f->dec, &ev);
}

void
feed_open(struct feed *f, uint64_t id, const struct cap_addr *server, uint16_t port,
	  const struct smtp_probe *facts)
{
	struct smtp_session *s;

	memset(&f->conn, 0, sizeof(f->conn));
	f->conn.id = id;
	f->conn.server = *server;
	f->conn.server_port = port;
	f->conn.client.family = server->family;
	f->conn.ts_first = f->conn.ts_last = feed_now_us();
	f->conn.packets[RSM_C2S] = 1; /* the SYN */
	feed_event(f, RSM_EV_OPEN, RSM_C2S, NULL, 0, RSM_END_CLOSED);
	f->open = true;
	if ((s = f->conn.user) != NULL)
		s->probe = facts;
}

/* The local end, known once the socket is bound: decode/ copies it at the close. */
void
feed_client(struct feed *f, const struct cap_addr *client, uint16_t port)
{
	struct smtp_session *s = f->conn.user;

	f->conn.client = *client;
	f->conn.client_port = port;
	if (s) {
		s->client = *client;
		s->client_port = port;
	}
}

void
feed_data(struct feed *f, enum rsm_dir dir, const uint8_t *p, size_t n)
{
	if (!f->open || n == 0)
		return;
	f->conn.ts_last = feed_now_us();
	f->conn.packets[dir]++;
	f->conn.bytes[dir] += n;
	feed_event(f, RSM_EV_DATA, dir, p, n, RSM_END_CLOSED);
}

void
feed_close(struct feed *f, enum rsm_end end, uint8_t icmp_code)
{
	if (!f->open)
		return;
	f->conn.ts_last = feed_now_us();
	if (end == RSM_END_UNREACHABLE) {
		/* the kernel's error, as the ICMP message a capture would hold (sender unknown) */
		f->conn.icmp_type = f->conn.server.family == 6 ? 1 : 3;
		f->conn.icmp_code = icmp_code;
		f->conn.icmp_from.family = f->conn.server.family;
	}
	f->conn.synack_seen = end != RSM_END_REFUSED && end != RSM_END_NO_ANSWER &&
			      end != RSM_END_UNREACHABLE;
	feed_event(f, RSM_EV_CLOSE, RSM_C2S, NULL, 0, end);
	f->open = false;
}

const struct smtp_session *
feed_session(const struct feed *f)
{
	return f->open ? f->conn.user : NULL;
}
