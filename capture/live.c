/*
 * live.c - capturing from a network interface, and writing what is kept.
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

#include "source.h"

#define TICK_MS 1000
#define LIVE_BUFFER (16 << 20)

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
	pcap_set_buffer_size(p, cfg->buffer_size ? cfg->buffer_size : LIVE_BUFFER);
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
	*out = src;
	return 0;
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

int
cap_write_to(struct cap_source *src, const char *path, char err[CAP_ERRLEN])
{
	FILE *in = src->live ? NULL : pcap_file(src->pcap);
	struct stat a, b;

	/* -w onto the file -r reads: opening it for writing would empty the capture first */
	if (in && fstat(fileno(in), &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino) {
		snprintf(err, CAP_ERRLEN, "%s: is the capture being read (-r); -w would destroy it",
			 path);
		return -1;
	}
	FILE *f = cap_output_file(path, err);

	if (!f)
		return -1;
	src->dump = pcap_dump_fopen(src->pcap, f);
	if (!src->dump) {
		snprintf(err, CAP_ERRLEN, "%s: cannot write: %s", path, pcap_geterr(src->pcap));
		fclose(f);
		return -1;
	}
	src->dump_name = path;
	return 0;
}

int
cap_write_done(struct cap_source *src, char err[CAP_ERRLEN])
{
	if (!src || !src->dump)
		return 0;
	if (pcap_dump_flush(src->dump) == 0 && !ferror(pcap_dump_file(src->dump)))
		return 0;
	snprintf(err, CAP_ERRLEN, "cannot write %s (-w): %s", src->dump_name,
		 errno ? strerror(errno) : "write error");
	return -1;
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
