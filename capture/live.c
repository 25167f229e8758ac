/*
 * live.c - capturing from a network interface.
 *
 * The interface is opened with pcap_create/pcap_activate in immediate mode,
 * so each packet is seen as it arrives, and read without blocking after
 * poll() on libpcap's descriptor with a one-second timeout: the loop gets
 * control back at least once a second, to notice a stop request and to run
 * the caller's tick even when no packet comes.
 *
 * The tick's clock is capture time: the timestamp of the last packet, moved
 * on by the wall-clock time elapsed since it arrived. While traffic flows
 * this is the packets' own time, so replayed traffic times out as it would
 * have live.
 */
#include "capture.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "source.h"

#define TICK_MS 1000
#define MIB ((uint64_t)1 << 20)
#define BUFFER_PER_GBIT (256 * MIB)
#define BUFFER_MAX (1024 * MIB)
#define BUFFER_MIN (4 * MIB)
#define ADVICE_MAX (1024 * MIB)

uint64_t
cap_monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Why pcap_activate() failed, said so that the user knows what to do. */
static void
activate_error(pcap_t *p, int rc, const char *iface, char err[CAP_ERRLEN])
{
	switch (rc) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		snprintf(err, CAP_ERRLEN, "%s: no such interface (smtpscope -D lists them)", iface);
		break;
	case PCAP_ERROR_PERM_DENIED:
		snprintf(err, CAP_ERRLEN,
			 "%s: permission denied: run as root, or give the binary the capabilities "
			 "(setcap cap_net_raw,cap_net_admin=eip smtpscope)",
			 iface);
		break;
	case PCAP_ERROR_IFACE_NOT_UP:
		snprintf(err, CAP_ERRLEN, "%s: the interface is down", iface);
		break;
	default:
		snprintf(err, CAP_ERRLEN, "%s: cannot capture: %s", iface, pcap_geterr(p));
		break;
	}
}

int
cap_open_live(struct cap_source **out, const char *iface, const struct cap_live_config *cfg,
	      char err[CAP_ERRLEN])
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create(iface, perr);
	int rc;

	*out = NULL;
	if (!p) {
		snprintf(err, CAP_ERRLEN, "%s: %s", iface, perr);
		return -1;
	}
	pcap_set_snaplen(p, cfg->snaplen);
	pcap_set_promisc(p, cfg->promisc);
	pcap_set_immediate_mode(p, 1);
	pcap_set_timeout(p, TICK_MS);
	/*
	 * Immediate mode gets a TPACKET_V2 ring where, with offloads, each packet
	 * takes a 64 KiB slot: libpcap's 2 MiB default holds only 32 packets.
	 */
	uint64_t buffer = cfg->buffer_size ? (uint64_t)cfg->buffer_size : cap_default_buffer(iface);

	pcap_set_buffer_size(p, (int)buffer);
	rc = pcap_activate(p);
	if (rc < 0) {
		activate_error(p, rc, iface, err);
		pcap_close(p);
		return -1;
	}
	if (!cap_linktype_supported(pcap_datalink(p))) {
		snprintf(err, CAP_ERRLEN, "%s: link type %s is not supported", iface,
			 pcap_datalink_val_to_name(pcap_datalink(p)));
		pcap_close(p);
		return -1;
	}
	struct cap_source *src = calloc(1, sizeof(*src));

	if (!src || pcap_setnonblock(p, 1, perr) < 0) {
		snprintf(err, CAP_ERRLEN, "%s: %s", iface, src ? perr : "out of memory");
		free(src);
		pcap_close(p);
		return -1;
	}
	src->pcap = p;
	src->name = iface;
	src->dlt = pcap_datalink(p);
	src->live = true;
	src->stats.have_kernel_stats = true;
	src->stats.buffer_size = buffer;
	*out = src;
	return 0;
}

uint64_t
cap_buffer_for(long speed_mbps, uint64_t mem_bytes)
{
	uint64_t b = BUFFER_PER_GBIT;

	if (speed_mbps > 1000)
		b = BUFFER_PER_GBIT * (uint64_t)speed_mbps / 1000;
	if (b > BUFFER_MAX)
		b = BUFFER_MAX;
	if (mem_bytes && b > mem_bytes / 32) /* it costs about twice its size (64 KiB frames) */
		b = mem_bytes / 32;
	return b < BUFFER_MIN ? BUFFER_MIN : b;
}

/* A number read from a small file (sysfs), or -1. */
static long
read_number(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

uint64_t
cap_default_buffer(const char *iface)
{
	char path[256];
	long speed = -1;
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	struct stat st;

	/* a virtual interface (veth, bridge, "any") states a speed it does not have */
	if (!strchr(iface, '/') && snprintf(path, sizeof(path), "/sys/class/net/%s/device", iface) <
				       (int)sizeof(path) && stat(path, &st) == 0) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/speed", iface);
		speed = read_number(path);
	}
	return cap_buffer_for(speed, pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0);
}

uint64_t
cap_buffer_advice(const struct cap_stats *st)
{
	uint64_t b = st->buffer_size, seen = st->kernel_received;
	double share;

	if (!st->kernel_dropped || !b)
		return 0;
	/* Linux counts the dropped packets among the received (PACKET_STATISTICS) */
	share = (double)st->kernel_dropped / (double)(seen > st->kernel_dropped ? seen : st->kernel_dropped);
	b *= share < 0.001 ? 2 : share < 0.01 ? 4 : share < 0.1 ? 8 : 16;
	return b > ADVICE_MAX ? ADVICE_MAX : b;
}

int
cap_list_interfaces(FILE *out, char err[CAP_ERRLEN])
{
	char perr[PCAP_ERRBUF_SIZE];
	pcap_if_t *all, *d;
	int i = 0;

	if (pcap_findalldevs(&all, perr) < 0) {
		snprintf(err, CAP_ERRLEN, "cannot list interfaces: %s", perr);
		return -1;
	}
	for (d = all; d; d = d->next)
		fprintf(out, "%d.%s%s%s%s\n", ++i, d->name, d->description ? " (" : "",
			d->description ? d->description : "", d->description ? ")" : "");
	pcap_freealldevs(all);
	return 0;
}

void
cap_set_tick(struct cap_source *src, cap_tick_fn *fn, void *arg)
{
	src->tick = fn;
	src->tick_arg = arg;
}

void
live_stats(struct cap_source *src)
{
	struct pcap_stat ps;

	if (pcap_stats(src->pcap, &ps) == 0) {
		src->stats.kernel_received = ps.ps_recv;
		src->stats.kernel_dropped = ps.ps_drop;
		src->stats.if_dropped = ps.ps_ifdrop;
	}
}

int
live_loop(struct cap_source *src, pcap_handler on_packet)
{
	struct pollfd pfd = {.fd = pcap_get_selectable_fd(src->pcap), .events = POLLIN};
	uint64_t wall_at_packet = cap_monotonic_us(), seen = 0;

	while (!src->stop) {
		int n = poll(&pfd, 1, TICK_MS);

		if (n < 0 && errno != EINTR)
			return PCAP_ERROR;
		n = pcap_dispatch(src->pcap, -1, on_packet, (u_char *)src);
		if (n == PCAP_ERROR)
			return PCAP_ERROR;
		if (src->stats.packets != seen) {
			seen = src->stats.packets;
			wall_at_packet = cap_monotonic_us();
		}
		if (src->tick) /* before the first packet the clock is 0: nothing can expire */
			src->tick(src->tick_arg, src->last_ts ? src->last_ts + (cap_monotonic_us() -
									       wall_at_packet)
							      : 0);
	}
	return 0;
}
