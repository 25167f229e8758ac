/*
 * fuzz_pcap.c - libFuzzer target: the whole pipeline, pcap bytes to sessions.
 *
 * The input is a capture file (pcap or pcapng). It is read from a memory
 * stream through cap_open_stream() and goes the way smtpscope -r takes it by
 * default: no BPF filter, the SMTP ports 25 and 2525 checked by capture/
 * (cap_set_ports), fragments and ICMP unreachables included; then through
 * reassembly and the decoder into the JSON writer with --audit (to /dev/null,
 * or stdout with FUZZ_STDOUT set), flushed and summarised. The caps are small so that
 * the fuzzer reaches every cap path: flow eviction, out-of-order overflow,
 * line, reply, pending and memory caps, idle timeouts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../capture/capture.h"
#include "../../decode/smtp.h"
#include "../../reassembly/reassembly.h"
#include "../../report/report.h"
#include "fuzz.h"

static const uint16_t server_ports[] = {25, 2525};

static void
on_segment(void *arg, const struct cap_segment *seg)
{
	rsm_feed(arg, seg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CAP_ERRLEN];
	struct cap_source *src;
	struct rsm_config rc;
	struct smtp_config sc;
	struct rpt_config pc = {.format = RPT_JSON, .audit = true, .out = fuzz_sink()};
	uint8_t *copy;
	FILE *f;

	if (size == 0 || !pc.out || !(copy = malloc(size)))
		return 0;
	memcpy(copy, data, size); /* fmemopen() wants a writable buffer */
	f = fmemopen(copy, size, "rb");
	if (!f) {
		free(copy);
		return 0;
	}
	if (cap_open_stream(&src, f, "fuzz.pcap", err) < 0) { /* f is closed */
		free(copy);
		return 0;
	}
	cap_set_ports(src, server_ports, sizeof(server_ports) / sizeof(server_ports[0]));

	rsm_default_config(&rc);
	rc.max_flows = 64;
	rc.max_ooo_segments = 8;
	rc.max_ooo_bytes = 4096;
	rc.max_ooo_total = 16384;
	rc.idle_timeout = 30;
	rc.server_ports = server_ports;
	rc.n_server_ports = sizeof(server_ports) / sizeof(server_ports[0]);
	smtp_default_config(&sc);
	sc.max_line = 256;
	sc.max_reply_bytes = 1024;
	sc.max_pending = 16;
	sc.max_commands = 64;
	sc.max_messages = 8;
	sc.max_rcpts = 8;
	sc.max_hold = 1024;
	sc.max_session_mem = 16384;

	struct rpt *rpt = rpt_new(&pc);
	struct smtp_decoder *dec = rpt ? smtp_new(&sc, rpt_session, rpt) : NULL;
	struct rsm_table *rsm = dec ? rsm_new(&rc, smtp_on_stream, dec) : NULL;

	if (rsm) {
		cap_run(src, on_segment, rsm, err); /* a damaged file still gets flushed */
		rsm_flush(rsm);
		struct rpt_totals t = {cap_stats(src), rsm_stats(rsm), smtp_stats(dec), false, NULL, 0};

		rpt_summary(rpt, &t);
	}
	rsm_free(rsm);
	smtp_free(dec);
	rpt_free(rpt);
	cap_close(src); /* closes f */
	free(copy);
	return 0;
}
