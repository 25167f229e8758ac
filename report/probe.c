/*
 * probe.c - what a probe (smtpscope --probe) adds to the report: the DNS
 * steps that chose the server, on each probe session and on the probe's own
 * closing record, and that record: how the probe ended and the exit status
 * it gives. The sessions themselves are written by the usual writers.
 */
#include "report.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "report_private.h"

static void
addresses(FILE *f, const struct smtp_dns_host *h)
{
	char ip[64];

	putc('[', f);
	for (size_t i = 0; i < h->n_addrs; i++) {
		rpt_addr(ip, sizeof(ip), &h->addrs[i]);
		fprintf(f, "%s\"%s\"", i ? "," : "", ip);
	}
	putc(']', f);
}

/* {"query","result","explanation","mx":[{"preference","host","addresses"}]}, or null. */
void
rpt_json_dns(FILE *f, const struct smtp_dns *d)
{
	if (!d) {
		fputs("null", f);
		return;
	}
	fputs("{\"query\":", f);
	rpt_json_string(f, d->query);
	fputs(",\"result\":", f);
	rpt_json_string(f, d->result);
	fputs(",\"explanation\":", f);
	rpt_json_string(f, d->explanation);
	fputs(",\"mx\":[", f);
	for (size_t i = 0; i < d->n_hosts; i++) {
		const struct smtp_dns_host *h = &d->hosts[i];

		if (i)
			putc(',', f);
		if (h->preference >= 0)
			fprintf(f, "{\"preference\":%d,\"host\":", h->preference);
		else
			fputs("{\"preference\":null,\"host\":", f);
		rpt_json_string(f, h->host);
		fputs(",\"addresses\":", f);
		addresses(f, h);
		putc('}', f);
	}
	fputs("]}", f);
}

/* The probe's own record, one JSON line. */
void
rpt_json_probe(FILE *f, const struct rpt_probe *p)
{
	fputs("{\"type\":\"probe\",\"target\":", f);
	rpt_json_string(f, p->target);
	fputs(",\"dns\":", f);
	rpt_json_dns(f, p->dns);
	fprintf(f, ",\"sessions\":%u,\"result\":\"%s\",\"exit_status\":%d,\"verdict\":",
		p->sessions, p->result, p->exit_status);
	rpt_json_string(f, p->verdict);
	fputs("}\n", f);
}

/* "  MX 10 mx.example.com: 192.0.2.1, 2001:db8::1" per host. */
static void
text_hosts(FILE *f, const struct smtp_dns *d)
{
	char ip[64];

	for (size_t i = 0; i < d->n_hosts; i++) {
		const struct smtp_dns_host *h = &d->hosts[i];

		if (h->preference >= 0)
			fprintf(f, "    MX %d ", h->preference);
		else
			fputs("    host ", f);
		rpt_text_wire(f, h->host, 80);
		fputs(h->n_addrs ? ":" : ": no address", f);
		for (size_t k = 0; k < h->n_addrs; k++) {
			rpt_addr(ip, sizeof(ip), &h->addrs[k]);
			fprintf(f, "%s %s", k ? "," : "", ip);
		}
		putc('\n', f);
	}
}

static void
text_probe(FILE *f, const struct rpt_config *cfg, const struct rpt_probe *p)
{
	unsigned width = cfg->width ? cfg->width : 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	fputs("Probe of ", m);
	rpt_text_wire(m, p->target, 120);
	fprintf(m, " (%u connection%s)\n", p->sessions, p->sessions == 1 ? "" : "s");
	if (p->dns) {
		fputs("  DNS: ", m);
		rpt_text_wire(m, p->dns->explanation, SIZE_MAX);
		putc('\n', m);
		text_hosts(m, p->dns);
	}
	fputs("  => ", m);
	rpt_text_wire(m, p->verdict, SIZE_MAX);
	fprintf(m, " (exit status %d: %s)\n", p->exit_status, p->result);
	fclose(m);
	if (width)
		rpt_wrap(f, buf, len, width, 5);
	else
		fwrite(buf, 1, len, f);
	free(buf);
}

/* ECS: the probe record as a document of its own, its fields under smtpscope.probe. */
static void
ecs_probe(FILE *f, const struct rpt_probe *p)
{
	struct timespec now;
	char ts[40], *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return;
	rpt_json_probe(m, p);
	fclose(m);
	clock_gettime(CLOCK_REALTIME, &now);
	rpt_iso_time(ts, sizeof(ts), (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u);
	fprintf(f, "{\"@timestamp\":\"%s\",\"ecs\":{\"version\":\"8.11.0\"},\"event\":{\"kind\":"
		   "\"event\",\"category\":[\"email\"],\"type\":[\"info\"],\"dataset\":"
		   "\"smtpscope.probe\",\"outcome\":\"%s\"},\"smtpscope\":{\"probe\":",
		ts, p->exit_status == 0 ? "success" : "failure");
	fwrite(buf, 1, len ? len - 1 : 0, f); /* without its newline */
	fputs("}}\n", f);
	free(buf);
}

void
rpt_probe_end(struct rpt *r, const struct rpt_probe *p)
{
	FILE *out = r->cfg.out;

	switch (r->cfg.format) {
	case RPT_JSON:
		rpt_json_probe(out, p);
		break;
	case RPT_ECS:
		ecs_probe(out, p);
		break;
	case RPT_CSV:
		fflush(out);
		text_probe(stderr, &r->cfg, p);
		break;
	case RPT_TEXT:
		text_probe(out, &r->cfg, p);
		break;
	}
	fflush(out);
}
