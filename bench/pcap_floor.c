/*
 * pcap_floor.c - the libpcap read floor: what it costs just to read every packet of a
 * capture, with nothing done per packet. `make bench` times smtpscope against it.
 *
 *   pcap_floor FILE            pcap_fopen_offline() on a stdio stream with a 64 KiB
 *                              setvbuf() buffer (what smtpscope does)
 *   pcap_floor --default FILE  pcap_open_offline(), libpcap's own stream (BUFSIZ buffer)
 *
 * The callback only counts packets and captured bytes (so the loop cannot be optimised
 * away). Prints "packets N bytes B" on stdout; exit status 0, or 1 on an unreadable file.
 * Built by the Makefile's bench block: $(CC) -O2 with libpcap's pkg-config flags.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define READ_BUFFER (64u << 10)

/*
 * The buffer must be passed to setvbuf(): glibc ignores the size when the buffer
 * argument is NULL and allocates st_blksize bytes (4 KiB), one read() per 4 KiB.
 */
static char read_buffer[READ_BUFFER];

struct count {
	uint64_t packets, bytes;
};

static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct count *c = (struct count *)(void *)user;

	(void)bytes;
	c->packets++;
	c->bytes += h->caplen;
}

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct count c = {0, 0};
	int dflt = argc == 3 && strcmp(argv[1], "--default") == 0;
	const char *path = argv[argc - 1];
	pcap_t *p;

	if (argc != 2 && !dflt) {
		fprintf(stderr, "usage: pcap_floor [--default] FILE\n");
		return 2;
	}
	if (dflt) {
		p = pcap_open_offline(path, err);
	} else {
		FILE *f = fopen(path, "rb");

		if (!f) {
			perror(path);
			return 1;
		}
		setvbuf(f, read_buffer, _IOFBF, sizeof(read_buffer));
		p = pcap_fopen_offline(f, err);
		if (!p)
			fclose(f);
	}
	if (!p) {
		fprintf(stderr, "pcap_floor: %s: %s\n", path, err);
		return 1;
	}
	if (pcap_loop(p, -1, on_packet, (u_char *)&c) == -1) {
		fprintf(stderr, "pcap_floor: %s: %s\n", path, pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	printf("packets %llu bytes %llu\n", (unsigned long long)c.packets,
	       (unsigned long long)c.bytes);
	return 0;
}
