/*
 * fuzz_smtp.c - libFuzzer target: the SMTP decoder and both writers alone.
 *
 * The input drives a fake connection the way reassembly would (OPEN, DATA per
 * direction, GAP, CLOSE), as tests/testutil.h's driver does. Its format:
 *
 *   byte 0      options: 0x01 show_secrets, 0x02 mid-stream (first session),
 *               0x04 small caps (else the defaults), 0x08 colour in the text,
 *               0x10 the --audit table of hosts in both writers,
 *               0x20 the second writer writes ECS, 0x40 CSV (else JSON)
 *   then chunks, each led by one header byte h; bit 7 is the direction
 *   (0 client to server, 1 server to client), bits 0-6 say what follows:
 *     1..125    DATA: that many bytes (fewer if the input ends)
 *     0         DATA: a 16-bit big-endian length, then the bytes
 *     126       CLOSE: one byte b; b % 8 is the end reason (enum rsm_end), and
 *               b / 8, when not 0, an ICMP unreachable about the flow (bit 0:
 *               reported over IPv6; the other bits: the ICMP code). Bytes
 *               after it open a new session, mid-stream if bit 7 of the CLOSE
 *               header was set
 *     127       GAP: one byte, the bytes missing (0 means 1 MiB)
 *
 * A session still open at the end of the input ends as UNFINISHED. Every
 * finished session is written as text and as JSON to /dev/null (to stdout,
 * with the text summary on stderr, when FUZZ_STDOUT is set).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../decode/smtp.h"
#include "../../reassembly/reassembly.h"
#include "../../report/report.h"
#include "fuzz.h"

#define OPT_SECRETS 0x01
#define OPT_MIDSTREAM 0x02
#define OPT_SMALL_CAPS 0x04
#define OPT_COLOR 0x08
#define OPT_AUDIT 0x10

#define H_DIR 0x80
#define H_LONG 0
#define H_CLOSE 126
#define H_GAP 127
#define N_END (RSM_END_UNREACHABLE + 1)

struct writers {
	struct rpt *text, *json;
};

static void
on_session(void *arg, const struct smtp_session *s)
{
	struct writers *w = arg;

	rpt_session(w->text, s);
	rpt_session(w->json, s);
}

static void
config(struct smtp_config *sc, uint8_t opt)
{
	smtp_default_config(sc);
	sc->show_secrets = opt & OPT_SECRETS;
	if (!(opt & OPT_SMALL_CAPS))
		return;
	sc->max_line = 64;
	sc->max_reply_bytes = 256;
	sc->max_pending = 4;
	sc->max_commands = 16;
	sc->max_messages = 3;
	sc->max_rcpts = 3;
	sc->max_hold = 128;
	sc->max_session_mem = 2048;
}

static void
event(struct smtp_decoder *dec, struct rsm_conn *c, enum rsm_ev type, enum rsm_dir dir,
      const uint8_t *data, size_t len, enum rsm_end end)
{
	struct rsm_event ev = {.type = type, .dir = dir, .conn = c, .data = data, .len = len,
			       .end = end};

	c->ts_last += 1000;
	ev.ts = c->ts_last;
	if (type == RSM_EV_DATA) {
		c->packets[dir]++;
		c->bytes[dir] += len;
	} else if (type == RSM_EV_GAP) {
		c->gap_bytes[dir] += len;
	}
	smtp_on_stream(dec, &ev);
}

/* CLOSE, with an ICMP unreachable about the flow when b says so. */
static void
close_conn(struct smtp_decoder *dec, struct rsm_conn *c, enum rsm_dir dir, uint8_t b)
{
	unsigned icmp = b / N_END;

	if (icmp) {
		c->icmp_from.family = (icmp & 1) ? 6 : 4;
		c->icmp_from.bytes[0] = 198;
		c->icmp_type = (icmp & 1) ? 1 : 3;
		c->icmp_code = (uint8_t)(icmp >> 1);
	}
	event(dec, c, RSM_EV_CLOSE, dir, NULL, 0, (enum rsm_end)(b % N_END));
}

static void
open_conn(struct smtp_decoder *dec, struct rsm_conn *c, uint64_t id, bool midstream)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->client.family = c->server.family = 4;
	c->client.bytes[0] = 192;
	c->client.bytes[3] = (uint8_t)id;
	c->server.bytes[0] = 10;
	c->client_port = (uint16_t)(40000 + id);
	c->server_port = 25;
	c->midstream = midstream;
	c->synack_seen = !midstream;
	c->ts_first = c->ts_last = 1000000 * id;
	event(dec, c, RSM_EV_OPEN, RSM_C2S, NULL, 0, RSM_END_CLOSED);
}

/* Run the chunks after the options byte; returns with no session open. */
static void
drive(struct smtp_decoder *dec, const uint8_t *data, size_t size, bool midstream)
{
	struct rsm_conn conn;
	uint64_t id = 1;
	bool open = true, next_midstream = false;
	size_t i = 0;

	open_conn(dec, &conn, id, midstream);
	while (i < size) {
		uint8_t h = data[i++], n = h & 0x7f;
		enum rsm_dir dir = (h & H_DIR) ? RSM_S2C : RSM_C2S;
		size_t len;

		if (!open) {
			open_conn(dec, &conn, ++id, next_midstream);
			open = true;
		}
		if (n == H_CLOSE) {
			close_conn(dec, &conn, dir, i < size ? data[i++] : 0);
			open = false;
			next_midstream = h & H_DIR;
			continue;
		}
		if (n == H_GAP) {
			len = i < size ? data[i++] : 1;
			event(dec, &conn, RSM_EV_GAP, dir, NULL, len ? len : 1u << 20, 0);
			continue;
		}
		if (n == H_LONG) {
			len = i + 1 < size ? (size_t)data[i] << 8 | data[i + 1] : 0;
			i = i + 2 < size ? i + 2 : size;
		} else {
			len = n;
		}
		if (len > size - i)
			len = size - i;
		if (len)
			event(dec, &conn, RSM_EV_DATA, dir, data + i, len, 0);
		i += len;
	}
	if (open)
		event(dec, &conn, RSM_EV_CLOSE, RSM_C2S, NULL, 0, RSM_END_UNFINISHED);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpt_config tc = {.format = RPT_TEXT, .out = fuzz_sink()};
	struct rpt_config jc = {.format = RPT_JSON, .out = fuzz_sink()};
	struct writers w;
	struct smtp_config sc;
	struct smtp_decoder *dec;

	if (size == 0 || !tc.out)
		return 0;
	config(&sc, data[0]);
	tc.color = data[0] & OPT_COLOR;
	tc.quiet = !getenv("FUZZ_STDOUT"); /* the text summary goes to stderr */
	tc.audit = jc.audit = data[0] & OPT_AUDIT;
	jc.format = (data[0] & 0x40) ? RPT_CSV : (data[0] & 0x20) ? RPT_ECS : RPT_JSON;
	jc.quiet = tc.quiet; /* CSV writes its summary as text on stderr */
	w.text = rpt_new(&tc);
	w.json = rpt_new(&jc);
	dec = w.text && w.json ? smtp_new(&sc, on_session, &w) : NULL;
	if (dec) {
		struct cap_stats cs;
		struct rsm_stats rs;

		drive(dec, data + 1, size - 1, data[0] & OPT_MIDSTREAM);
		memset(&cs, 0, sizeof(cs));
		memset(&rs, 0, sizeof(rs));
		struct rpt_totals t = {&cs, &rs, smtp_stats(dec), false, NULL, 0};

		rpt_summary(w.text, &t);
		rpt_summary(w.json, &t);
	}
	smtp_free(dec);
	rpt_free(w.text);
	rpt_free(w.json);
	return 0;
}
