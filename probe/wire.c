/*
 * wire.c - -w FILE with --probe: the probe's own packets, as tcpdump would
 * record them, so `smtpscope -r FILE` reads the same sessions back.
 *
 * libpcap is opened on "any" (Linux cooked capture: the route to the server
 * may use any interface, loopback included) before privileges are dropped.
 * Before each connect the filter becomes that connection's 5-tuple (the
 * local port is bound first, io.c); after the connection is closed what the
 * kernel holds is written out, waiting a short while for the last FIN/ACK.
 * Nothing else the host sends or receives is recorded.
 */
#include "probe_private.h"

#include <arpa/inet.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct probe_wire {
	pcap_t *p;
	pcap_dumper_t *d;
	unsigned packets;
};

struct probe_wire *
probe_wire_open(const char *path, char *err, size_t errsz)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct probe_wire *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	/*
	 * In immediate mode the kernel's ring holds buffer / snaplen packets: the
	 * snaplen is the loopback MTU (65536) and a cooked header, the buffer 16 MiB,
	 * and io.c drains the ring after every send and receive.
	 */
	if (!(w->p = pcap_create("any", perr)) || pcap_set_snaplen(w->p, 65536 + 64) != 0 ||
	    pcap_set_immediate_mode(w->p, 1) != 0 || pcap_set_buffer_size(w->p, 16 << 20) != 0 ||
	    pcap_activate(w->p) < 0 || pcap_setnonblock(w->p, 1, perr) < 0) {
		snprintf(err, errsz, "-w: cannot capture the probe's packets: %s",
			 w->p ? pcap_geterr(w->p) : perr);
		goto fail;
	}
	/* nothing until the first connection says which */
	if (wire_expect(w, &(struct cap_addr){.family = 4}, 0, 0) < 0) {
		snprintf(err, errsz, "-w: %s", pcap_geterr(w->p));
		goto fail;
	}
	if (!(w->d = pcap_dump_open(w->p, path))) {
		snprintf(err, errsz, "-w %s: %s", path, pcap_geterr(w->p));
		goto fail;
	}
	return w;
fail:
	if (w->p)
		pcap_close(w->p);
	free(w);
	return NULL;
}

/* server:port <-> local_port, TCP only; port 0: nothing at all. */
int
wire_expect(struct probe_wire *w, const struct cap_addr *server, uint16_t port,
	    uint16_t local_port)
{
	struct bpf_program prog;
	char ip[INET6_ADDRSTRLEN] = "", expr[256];
	int rc;

	if (!w)
		return 0;
	inet_ntop(server->family == 6 ? AF_INET6 : AF_INET, server->bytes, ip, sizeof(ip));
	if (port == 0)
		snprintf(expr, sizeof(expr), "tcp and less 1");
	else
		snprintf(expr, sizeof(expr),
			 "tcp and ((src host %s and src port %u and dst port %u) or "
			 "(dst host %s and dst port %u and src port %u))",
			 ip, port, local_port, ip, port, local_port);
	wire_drain(w, 0); /* the last connection's, before its filter goes */
	if (pcap_compile(w->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0)
		return -1;
	rc = pcap_setfilter(w->p, &prog);
	pcap_freecode(&prog);
	return rc;
}

static void
dump(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct probe_wire *w = (struct probe_wire *)arg;

	pcap_dump((u_char *)w->d, h, bytes);
	w->packets++;
}

/* Write out what was captured; settle_ms: wait that long for more after the last. */
void
wire_drain(struct probe_wire *w, unsigned settle_ms)
{
	struct pollfd pfd;

	if (!w || !w->d)
		return;
	pfd.fd = pcap_get_selectable_fd(w->p);
	pfd.events = POLLIN;
	for (;;) {
		while (pcap_dispatch(w->p, -1, dump, (u_char *)w) > 0)
			;
		if (settle_ms == 0 || pfd.fd < 0 || poll(&pfd, 1, (int)settle_ms) <= 0)
			break;
	}
	pcap_dump_flush(w->d);
}

int
probe_wire_close(struct probe_wire *w, char *err, size_t errsz)
{
	int rc = 0;

	if (!w)
		return 0;
	wire_drain(w, 0);
	if (pcap_dump_flush(w->d) != 0) {
		snprintf(err, errsz, "-w: cannot write the capture file");
		rc = -1;
	}
	pcap_dump_close(w->d);
	pcap_close(w->p);
	free(w);
	return rc;
}
