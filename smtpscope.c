/*
 * smtpscope.c - the command line: flags, and the wiring of the four stages.
 *
 *   capture --segments--> reassembly --stream events--> decode --sessions--> report
 *
 * Nothing here parses packets or SMTP. Exit status: 0 done, 1 bad input or
 * environment (one line on stderr), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "capture/capture.h"
#include "decode/smtp.h"
#include "probe/probe.h"
#include "reassembly/reassembly.h"
#include "report/report.h"
#include "shard/shard.h"

/*
 * A coverage build (make coverage) keeps the user it was started as, so that
 * the counters it writes at exit land in the build tree that user owns; it
 * still gives up every capability. It says so in --version.
 */
#ifdef SMTPSCOPE_COVERAGE
#define BUILD_NOTE " (coverage build: root is kept)"
#else
#define BUILD_NOTE ""
#endif

#ifndef SMTPSCOPE_VERSION
#define SMTPSCOPE_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2
#define MAX_PORTS 64
#define DEFAULT_PORTS "25,2525"
#define DROP_USER "smtpscope"
/* IP fragments (the port is in the first one only) and ICMP unreachables about SYNs. */
#define LIVE_EXTRA                                                                            \
	"(ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44) or icmp[icmptype] == icmp-unreach " \
	"or (icmp6 and ip6[40] == 1)"

struct options {
	const char *read_file;
	const char *iface;
	const char *write_file;
	struct cap_rotate rotate; /* -C, -G, -W */
	const char *output;	  /* --output: the records, instead of stdout */
	const char *user; /* -Z */
	int snaplen;
	int buffer_kib;
	bool list_interfaces;
	const char *ports;
	const char *raw_filter;
	char *trailing_filter;
	const char *explain;
	const char *explain_after;
	enum rpt_format format;
	int color; /* -1 auto, 0 never, 1 always */
	long max_sessions;
	struct cap_limits cap;
	struct rsm_config rsm;
	struct smtp_config smtp;
	bool show_secrets;
	bool quiet;
	bool audit;
	bool csv_messages; /* --messages: -o csv writes a row per message */
	bool transcripts; /* --transcripts: with --audit, the sessions too */
	struct rpt_audit_opts audit_opts; /* --audit-sort, --local-nets, --audit-only, ... */
	const char *audit_graph;	   /* --audit-graph FILE */
	const char *extract_dir;
	const char *keylog_file; /* --tls-keylog */
	struct rpt_extract_limits extract_lim;
	unsigned threads;
	struct rpt_metrics_config metrics; /* --metrics, --metrics-file, --metrics-interval */
	uint64_t limits_given; /* a bit per limits[] entry set on the command line */
	struct probe_config probe; /* --probe TARGET and its options (probe/) */
};

/*
 * Every cap of the pipeline, settable with --limit NAME=VALUE; the defaults
 * live in cap_default_limits(), rsm_default_config(), smtp_default_config() and
 * rpt_extract_default_limits().
 */
enum { IN_CAP, IN_RSM, IN_SMTP, IN_EXTRACT };

#define CAP_LIMIT(name, field, max, what)                                                     \
	{name, IN_CAP, offsetof(struct cap_limits, field),                                   \
	 sizeof(((struct cap_limits *)0)->field), max, what}
#define RSM_LIMIT(name, field, max, what)                                                     \
	{name, IN_RSM, offsetof(struct rsm_config, field),                                   \
	 sizeof(((struct rsm_config *)0)->field), max, what}
#define SMTP_LIMIT(name, field, max, what)                                                    \
	{name, IN_SMTP, offsetof(struct smtp_config, field),                                 \
	 sizeof(((struct smtp_config *)0)->field), max, what}
#define EXTRACT_LIMIT(name, field, max, what)                                                 \
	{name, IN_EXTRACT, offsetof(struct rpt_extract_limits, field),                       \
	 sizeof(((struct rpt_extract_limits *)0)->field), max, what}

static const struct limit {
	const char *name;
	int stage;
	size_t offset, size;
	uint64_t max;
	const char *what;
} limits[] = {
	RSM_LIMIT("flows", max_flows, 100000000, "connections tracked at once (oldest evicted)"),
	RSM_LIMIT("idle", idle_timeout, 7 * 86400, "seconds of silence before a session ends"),
	RSM_LIMIT("ooo-segments", max_ooo_segments, 1u << 20, "out-of-order segments held per direction"),
	RSM_LIMIT("ooo-bytes", max_ooo_bytes, 1ull << 32, "memory of out-of-order segments per direction"),
	RSM_LIMIT("ooo-total", max_ooo_total, 1ull << 36, "memory of out-of-order segments, all flows"),
	SMTP_LIMIT("line", max_line, 1u << 24, "bytes kept of one command or reply line"),
	SMTP_LIMIT("reply-bytes", max_reply_bytes, 1u << 24, "bytes kept of one multi-line reply"),
	SMTP_LIMIT("pending", max_pending, 1u << 20, "commands awaiting a reply"),
	SMTP_LIMIT("commands", max_commands, 1u << 24, "commands recorded per session"),
	SMTP_LIMIT("messages", max_messages, 1u << 20, "mail transactions recorded per session"),
	SMTP_LIMIT("recipients", max_rcpts, 1u << 20, "recipients recorded per transaction"),
	SMTP_LIMIT("hold", max_hold, 1u << 30, "client bytes held while a reply is awaited"),
	SMTP_LIMIT("session-memory", max_session_mem, 1ull << 32, "bytes of text kept per session"),
	CAP_LIMIT("frag-datagrams", max_frag_dgrams, 1u << 12, "IP datagrams in reassembly (oldest given up)"),
	CAP_LIMIT("frag-bytes", max_frag_bytes, 1ull << 32, "memory of IP fragments held, all datagrams"),
	CAP_LIMIT("memory", memory, 1ull << 40, "memory of queues, fragments, session records, TLS, all threads"),
	EXTRACT_LIMIT("extract-files", files, 1ull << 32, "--extract: messages written in all"),
	EXTRACT_LIMIT("extract-bytes", bytes, 1ull << 44, "--extract: message bytes written in all"),
};

static void *
limit_field(struct options *o, const struct limit *l)
{
	void *stage[] = {[IN_CAP] = &o->cap, [IN_RSM] = &o->rsm, [IN_SMTP] = &o->smtp,
			 [IN_EXTRACT] = &o->extract_lim};

	return (char *)stage[l->stage] + l->offset;
}

static uint64_t
limit_get(struct options *o, const struct limit *l)
{
	uint32_t v32;
	uint64_t v64;

	if (l->size == sizeof(v32)) {
		memcpy(&v32, limit_field(o, l), sizeof(v32));
		return v32;
	}
	memcpy(&v64, limit_field(o, l), sizeof(v64));
	return v64;
}

static void
limit_set(struct options *o, const struct limit *l, uint64_t v)
{
	uint32_t v32 = (uint32_t)v;

	if (l->size == sizeof(v32))
		memcpy(limit_field(o, l), &v32, sizeof(v32));
	else
		memcpy(limit_field(o, l), &v, sizeof(v));
}

#define N_LIMITS (sizeof(limits) / sizeof(limits[0]))

static void
print_limits(FILE *f, struct options *o)
{
	for (size_t i = 0; i < N_LIMITS; i++)
		fprintf(f, "  %-15s %12llu  %s\n", limits[i].name,
			(unsigned long long)limit_get(o, &limits[i]), limits[i].what);
}

static const struct limit *
limit_named(const char *name, size_t len)
{
	for (size_t i = 0; i < N_LIMITS; i++)
		if (strlen(limits[i].name) == len && strncmp(name, limits[i].name, len) == 0)
			return &limits[i];
	return NULL;
}

/* A limit may be set once (again to the same value): --idle and --max-flows set one too. */
static void
limit_give(struct options *o, const struct limit *l, uint64_t v)
{
	uint64_t bit = 1ull << (l - limits);

	if ((o->limits_given & bit) && limit_get(o, l) != v) {
		fprintf(stderr, "smtpscope: the limit %s is set twice, to %llu and to %llu: set it once\n",
			l->name, (unsigned long long)limit_get(o, l), (unsigned long long)v);
		exit(EXIT_USAGE);
	}
	o->limits_given |= bit;
	limit_set(o, l, v);
}

/* --limit NAME=VALUE; anything else lists the names on stderr, as the usage error it is. */
static void
parse_limit(struct options *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const struct limit *l = eq ? limit_named(arg, (size_t)(eq - arg)) : NULL;
	unsigned long long v;
	char *end;

	if (!l) {
		fprintf(stderr, "smtpscope: --limit wants NAME=VALUE with one of these names:\n");
		print_limits(stderr, o);
		exit(EXIT_USAGE);
	}
	errno = 0;
	v = strtoull(eq + 1, &end, 10);
	if (errno || end == eq + 1 || *end || v < 1 || v > l->max || eq[1] == '-') {
		fprintf(stderr, "smtpscope: --limit %s takes a number from 1 to %llu\n", l->name,
			(unsigned long long)l->max);
		exit(EXIT_USAGE);
	}
	limit_give(o, l, v);
}

struct run {
	bool live;
	bool progress; /* a bar on stderr while a file is read */
	bool bar_shown; /* drawn, not yet erased */
	bool bar_over_stdout; /* stdout is a terminal too: sessions erase the bar and flush */
	uint64_t started_us, shown_us;
	struct rpt_extract *extract;
	struct rpt_metrics *metrics; /* --metrics, --metrics-file */
	struct tls_keylog *keylog; /* --tls-keylog */
	struct cap_source *src;
	struct rsm_table *rsm;
	struct smtp_decoder *dec;
	struct shard *shard; /* instead of rsm and dec, with --threads */
	struct rpt *rpt;
	struct rpt_config rpt_cfg; /* for the workers that write sessions themselves */
	long sessions, max_sessions;
	uint64_t not_shown; /* -c: sessions that ended after it stopped the capture */
	FILE *graph;	    /* --audit-graph */
	bool graph_svg;	    /* ... drawn by dot */
	const char *output; /* --output */
};

static struct cap_source *volatile running_source;
static volatile sig_atomic_t interrupted, summary_wanted, reopen_wanted;

static void
usage(FILE *f)
{
	fputs("usage: smtpscope -r FILE | -i IFACE [-o text|json|csv|ecs] [-p PORTS] [-f FILTER]\n"
	      "                 [-c N] [-w FILE [-C SIZE] [-G SECONDS] [-W COUNT]] [-Z USER]\n"
	      "                 [--output FILE] [--color=auto|always|never]\n"
	      "                 [--show-secrets] [filter expression]\n"
	      "       smtpscope --explain \"550 5.1.1 User unknown\" [--after COMMAND]\n"
	      "       smtpscope --probe TARGET [--from ADDR] [--rcpt ADDR[,ADDR...]] [--notify]\n"
	      "                 [--port N] [--helo NAME] [--source ADDR] [-4|-6] [--no-mx]\n"
	      "                 [--starttls try|require|never] [--verify] [--ca-file FILE]\n"
	      "                 [--auth-user NAME [--auth-password-file FILE] [--auth-cleartext]]\n"
	      "                 [--data] [-w FILE [--tls-keylog FILE]]\n"
	      "                 [--timeout [STEP=]SECONDS] [-o FORMAT]\n"
	      "       smtpscope -D | --json-schema\n"
	      "\n"
	      "Reads SMTP traffic from a saved capture (pcap or pcapng) or a network interface,\n"
	      "pairs every command with its reply and explains in plain language whether each\n"
	      "step worked.\n"
	      "\n"
	      "  -r FILE          read packets from FILE (\"-\" for standard input)\n"
	      "  -i IFACE         capture live on IFACE (\"any\" for all); sessions are printed as\n"
	      "                   they end; Ctrl-C prints the rest and the summary; SIGUSR1 prints\n"
	      "                   a running summary on stderr\n"
	      "  -D               list the interfaces -i can open\n"
	      "  -B KIB           kernel capture buffer, in KiB (live; default 262144, which holds\n"
	      "                   1 Gbit/s; more for a faster link, at most 1/32 of the memory);\n"
	      "                   with offloads each packet may take a 64 KiB slot, so it holds\n"
	      "                   about KIB/64 packets and costs about twice KIB of memory; the\n"
	      "                   summary says which -B would have held after kernel drops\n"
	      "  -s SNAPLEN       bytes kept of each packet (live; default 262144)\n"
	      "  -w FILE          also write the packets of the SMTP flows to FILE (pcap)\n"
	      "  -C SIZE          with -w: a new file (FILE1, FILE2 ...) past SIZE million bytes\n"
	      "                   (or SIZE with k, m, g: KiB, MiB, GiB)\n"
	      "  -G SECONDS       with -w: a new file every SECONDS, FILE named by strftime\n"
	      "  -W COUNT         with -C: COUNT files in a ring; with -G: stop after COUNT files\n"
	      "  --output FILE    append the records (sessions, summary) to FILE, not stdout;\n"
	      "                   SIGHUP reopens it and -w's file once moved (logrotate)\n"
	      "  -Z USER          drop root for USER once the capture is open (default as root: " DROP_USER "\n"
	      "                   or nobody; -Z root keeps root); every capability is given up too\n"
	      "  -o FORMAT        text (default); json (JSON Lines, one session per line);\n"
	      "                   csv (a row per command, for spreadsheets); ecs (JSON Lines with\n"
	      "                   Elastic Common Schema names, for Elasticsearch/OpenSearch)\n"
	      "  --messages       with -o csv: a row per message (MAIL transaction), not per command\n"
	      "  --json-schema    print the JSON Schema of the -o json records and exit\n"
	      "  -p PORTS         SMTP ports, comma-separated (default " DEFAULT_PORTS ")\n"
	      "  -f FILTER        a raw BPF filter instead of the port filter\n"
	      "  -c N             stop after N sessions have ended (those still open are not shown)\n"
	      "  -n               no name resolution (addresses are never resolved anyway)\n"
	      "  --idle SECONDS   end a session after this much silence (default 300)\n"
	      "  --limit NAME=N   change one of the caps that bound memory (--limits lists them)\n"
	      "  --color=WHEN     colour the transcript: auto (on a terminal, unless NO_COLOR is\n"
	      "                   set), always, never\n"
	      "  --show-secrets   print AUTH data as sent (masked by default)\n"
	      "  --explain TEXT   explain one reply line without a capture\n"
	      "  --after COMMAND  with --explain: the command the reply answers\n"
	      "  --extract DIR    write every message seen to DIR as .eml (.eml.partial when\n"
	      "                   incomplete), with an index.jsonl; existing files are kept\n"
	      "  --tls-keylog FILE  decrypt TLS (after STARTTLS, or TLS at once as on port 465)\n"
	      "                   with the secrets in FILE (NSS key log: SSLKEYLOGFILE); the SMTP\n"
	      "                   inside is read like plain SMTP; with -i FILE is followed as it grows\n"
	      "  --audit          a report of hosts (clients and servers) instead of the sessions\n"
	      "                   (with -o json or ecs: host records after the sessions)\n"
	      "  --transcripts    with --audit: the sessions too (text: transcripts; csv: the\n"
	      "                   session rows, the host table then on stderr)\n"
	      "  --audit-sort KEY flags (default: the gravest flag, the number of flags, then\n"
	      "                   failures, then sessions), sessions, messages, failures or host\n"
	      "  --local-nets LIST  our networks (192.0.2.0/24,2001:db8::/32): with them the\n"
	      "                   audit judges direct-to-MX clients, our servers' STARTTLS, relaying\n"
	      "  --local-domains LIST  our mail domains (example.com,...): open relay, forged senders\n"
	      "  --audit-only LIST  show only these hosts: client, server, local, outside, flagged\n"
	      "                   or flag ids (--audit-only help lists them)\n"
	      "  --audit-rdns     with -r: look up the clients' reverse DNS (at most 256) and\n"
	      "                   compare it with their EHLO names\n"
	      "  --audit-graph FILE  who talks to whom, as Graphviz DOT; FILE.svg: drawn by dot\n"
	      "  --metrics ADDR:PORT  serve the counters to Prometheus at http://ADDR:PORT/metrics\n"
	      "                   (:PORT for every address); the audit's flags are counted too\n"
	      "  --metrics-file PATH  write them to PATH for node_exporter's textfile collector,\n"
	      "                   every --metrics-interval seconds (default 15) and at the end\n"
	      "  --threads N      use N threads in all (with -r): flows are spread over them,\n"
	      "                   the output is the same as with one; -c and --extract use one\n"
	      "  --probe TARGET   test a mail server as the telnet steps do, without sending a\n"
	      "                   message: MX (then A/AAAA) of a domain, each host in order,\n"
	      "                   EHLO, STARTTLS and EHLO again, MAIL FROM, RCPT TO, RSET, QUIT;\n"
	      "                   every reply explained. TARGET: a domain, a host (with --no-mx)\n"
	      "                   or an address. Exit status: 0 accepted, 3 refused, 4 not\n"
	      "                   reached, 5 deferred (4xx), 6 TLS required and not had\n"
	      "  --from ADDR      MAIL FROM (default <>, the null sender)\n"
	      "  --rcpt ADDR      RCPT TO, repeatable or a comma list (default for a domain:\n"
	      "                   postmaster@TARGET; none for a host: MAIL FROM only)\n"
	      "  --notify         NOTIFY=SUCCESS,FAILURE on RCPT when the server offers DSN\n"
	      "  --port N         the server's port (default 25)\n"
	      "  --helo NAME      EHLO's name (default this host's name, or its address)\n"
	      "  --source ADDR    connect from this local address;  -4, -6  one family only\n"
	      "  --no-mx          TARGET is a host: no MX lookup\n"
	      "  --starttls MODE  try (default: when offered), require (no TLS: exit 6), never\n"
	      "  --verify         a certificate that does not verify (chain, expiry, the MX\n"
	      "                   host's name) fails the probe (exit 6); without it, reported only\n"
	      "  --ca-file FILE   trust these CA certificates instead of the system's store\n"
	      "  --auth-user NAME AUTH PLAIN (or LOGIN) as NAME after STARTTLS; the password is\n"
	      "                   read from the terminal (no echo), never from the command line\n"
	      "  --auth-password-file FILE  the password is FILE's first line\n"
	      "  --auth-cleartext send AUTH even without TLS (refused by default)\n"
	      "  --data           send a small test message (DATA); never sent without it\n"
	      "  -w FILE          (with --probe) the probe's own packets, for -r FILE later;\n"
	      "                   --tls-keylog FILE writes the session keys to read it inside TLS\n"
	      "  --timeout [STEP=]SECONDS  every step, or one: connect (30), greeting, ehlo,\n"
	      "                   mail, rcpt, rset, quit, tls, auth (300 each), data (120), dot\n"
	      "                   (600): RFC 5321 4.5.3.2\n"
	      "  -q               no summary at the end\n"
	      "  -h, --help       this text;  -V, --version  the version\n"
	      "\n"
	      "A filter expression after the options narrows the port filter, as in tcpdump:\n"
	      "  smtpscope -r mail.pcap host 192.0.2.1\n",
	      f);
}

static long
number(const char *s, const char *what, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < min || v > max) {
		fprintf(stderr, "smtpscope: %s must be a number from %ld to %ld, not \"%s\"\n", what,
			min, max, s);
		exit(EXIT_USAGE);
	}
	return v;
}

/* -C: millions of bytes, or with tcpdump's suffixes k, m, g: KiB, MiB, GiB. */
static uint64_t
file_size(const char *s)
{
	static const char units[] = "kKmMgG";
	size_t n = strspn(s, "0123456789");
	const char *u = n && s[n] && !s[n + 1] ? strchr(units, s[n]) : NULL;
	char digits[16];

	if (n == 0 || n >= sizeof(digits) || (s[n] && !u)) {
		fprintf(stderr, "smtpscope: -C takes millions of bytes, or a number with k, m or g "
			"(KiB, MiB, GiB), not \"%s\"\n", s);
		exit(EXIT_USAGE);
	}
	memcpy(digits, s, n);
	digits[n] = '\0';
	return (uint64_t)number(digits, "-C", 1, 1000000) *
	       (u ? 1ull << (10 * (1 + (u - units) / 2)) : 1000000u);
}

/* Trailing words form one filter expression, as tcpdump takes it. */
static char *
join_args(int argc, char **argv)
{
	size_t len = 1, used = 0;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (i)
			s[used++] = ' ';
		memcpy(s + used, argv[i], n);
		used += n;
	}
	s[used] = '\0';
	return s;
}

static enum rpt_audit_sort
audit_sort(const char *key)
{
	static const char *const keys[] = {
		[RPT_SORT_FLAGS] = "flags", [RPT_SORT_SESSIONS] = "sessions",
		[RPT_SORT_MESSAGES] = "messages",
		[RPT_SORT_FAILURES] = "failures", [RPT_SORT_HOST] = "host",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return (enum rpt_audit_sort)i;
	fprintf(stderr, "smtpscope: --audit-sort takes flags, sessions, messages, failures or host\n");
	exit(EXIT_USAGE);
}

static enum rpt_format
output_format(const char *name)
{
	static const char *const names[] = {
		[RPT_TEXT] = "text", [RPT_JSON] = "json", [RPT_CSV] = "csv", [RPT_ECS] = "ecs",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (enum rpt_format)i;
	fprintf(stderr, "smtpscope: unknown output format \"%s\" (text, json, csv, ecs)\n", name);
	exit(EXIT_USAGE);
}

enum {
	OPT_COLOR = 256, OPT_SECRETS, OPT_EXPLAIN, OPT_AFTER, OPT_IDLE, OPT_MAX_FLOWS, OPT_LIMIT,
	OPT_LIMITS, OPT_AUDIT, OPT_AUDIT_SORT, OPT_EXTRACT, OPT_SCHEMA, OPT_THREADS,
	OPT_KEYLOG, OPT_MESSAGES, OPT_TRANSCRIPTS, OPT_LOCAL_NETS, OPT_LOCAL_DOMAINS, OPT_AUDIT_ONLY,
	OPT_AUDIT_RDNS, OPT_AUDIT_GRAPH, OPT_METRICS, OPT_METRICS_FILE, OPT_METRICS_INTERVAL,
	OPT_OUTPUT,
	OPT_PROBE, OPT_FROM, OPT_RCPT, OPT_NOTIFY, OPT_PORT, OPT_HELO, OPT_SOURCE, OPT_TIMEOUT,
	OPT_STARTTLS, OPT_VERIFY, OPT_CA_FILE, OPT_AUTH_USER, OPT_AUTH_PASSWORD_FILE,
	OPT_AUTH_CLEARTEXT, OPT_DATA,
	OPT_NO_MX /* the options of --probe, handed to probe_option() by name */
};

static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"color", required_argument, NULL, OPT_COLOR},
	{"colour", required_argument, NULL, OPT_COLOR},
	{"show-secrets", no_argument, NULL, OPT_SECRETS},
	{"explain", required_argument, NULL, OPT_EXPLAIN},
	{"after", required_argument, NULL, OPT_AFTER},
	{"idle", required_argument, NULL, OPT_IDLE},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"limits", no_argument, NULL, OPT_LIMITS},
	{"audit", no_argument, NULL, OPT_AUDIT},
	{"audit-sort", required_argument, NULL, OPT_AUDIT_SORT},
	{"transcripts", no_argument, NULL, OPT_TRANSCRIPTS},
	{"local-nets", required_argument, NULL, OPT_LOCAL_NETS},
	{"local-domains", required_argument, NULL, OPT_LOCAL_DOMAINS},
	{"audit-only", required_argument, NULL, OPT_AUDIT_ONLY},
	{"audit-rdns", no_argument, NULL, OPT_AUDIT_RDNS},
	{"audit-graph", required_argument, NULL, OPT_AUDIT_GRAPH},
	{"extract", required_argument, NULL, OPT_EXTRACT},
	{"json-schema", no_argument, NULL, OPT_SCHEMA},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"tls-keylog", required_argument, NULL, OPT_KEYLOG},
	{"messages", no_argument, NULL, OPT_MESSAGES},
	{"probe", required_argument, NULL, OPT_PROBE},
	{"from", required_argument, NULL, OPT_FROM},
	{"rcpt", required_argument, NULL, OPT_RCPT},
	{"notify", no_argument, NULL, OPT_NOTIFY},
	{"port", required_argument, NULL, OPT_PORT},
	{"helo", required_argument, NULL, OPT_HELO},
	{"source", required_argument, NULL, OPT_SOURCE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"no-mx", no_argument, NULL, OPT_NO_MX},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
	{"metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL},
	{"output", required_argument, NULL, OPT_OUTPUT},
	{"starttls", required_argument, NULL, OPT_STARTTLS},
	{"verify", no_argument, NULL, OPT_VERIFY},
	{"ca-file", required_argument, NULL, OPT_CA_FILE},
	{"auth-user", required_argument, NULL, OPT_AUTH_USER},
	{"auth-password-file", required_argument, NULL, OPT_AUTH_PASSWORD_FILE},
	{"auth-cleartext", no_argument, NULL, OPT_AUTH_CLEARTEXT},
	{"data", no_argument, NULL, OPT_DATA},
	{NULL, 0, NULL, 0},
};

/*
 * What a command line does: read a file, capture live, explain one reply or
 * list the interfaces. The four options that choose it come first, in the
 * order of the USE_ bits; every option says where it has a meaning. One not
 * listed (-h, -V, --json-schema, --limits) acts at once, where it stands.
 */
enum { USE_FILE = 1, USE_LIVE = 2, USE_EXPLAIN = 4, USE_LIST = 8, USE_PROBE = 16 };
#define USE_CAPTURE (USE_FILE | USE_LIVE)
#define USE_ANY (USE_CAPTURE | USE_EXPLAIN | USE_LIST | USE_PROBE)
#define N_USES 5

static const struct rule {
	int code;
	const char *name;
	unsigned uses;
	bool repeats; /* may come again with another value (--limit NAME=...) */
} rules[] = {
	{'r', "-r", USE_FILE, false},
	{'i', "-i", USE_LIVE, false},
	{OPT_EXPLAIN, "--explain", USE_EXPLAIN, false},
	{'D', "-D", USE_LIST, false},
	{OPT_PROBE, "--probe", USE_PROBE, false},
	{'B', "-B", USE_LIVE, false},
	{'s', "-s", USE_LIVE, false},
	{'w', "-w", USE_CAPTURE | USE_PROBE, false},
	{'C', "-C", USE_CAPTURE, false},
	{'G', "-G", USE_CAPTURE, false},
	{'W', "-W", USE_CAPTURE, false},
	{OPT_OUTPUT, "--output", USE_CAPTURE, false},
	{'Z', "-Z", USE_CAPTURE | USE_PROBE, false},
	{'o', "-o", USE_CAPTURE | USE_PROBE, false},
	{'p', "-p", USE_CAPTURE, false},
	{'f', "-f", USE_CAPTURE, false},
	{'c', "-c", USE_CAPTURE, false},
	{'n', "-n", USE_ANY, false},
	{'q', "-q", USE_CAPTURE, false},
	{OPT_COLOR, "--color", USE_ANY, false},
	{OPT_SECRETS, "--show-secrets", USE_CAPTURE, false},
	{OPT_AFTER, "--after", USE_EXPLAIN, false},
	{OPT_IDLE, "--idle", USE_CAPTURE, false},
	{OPT_MAX_FLOWS, "--max-flows", USE_CAPTURE, false},
	{OPT_LIMIT, "--limit", USE_CAPTURE, true},
	{OPT_AUDIT, "--audit", USE_CAPTURE, false},
	{OPT_AUDIT_SORT, "--audit-sort", USE_CAPTURE, false},
	{OPT_TRANSCRIPTS, "--transcripts", USE_CAPTURE, false},
	{OPT_LOCAL_NETS, "--local-nets", USE_CAPTURE, false},
	{OPT_LOCAL_DOMAINS, "--local-domains", USE_CAPTURE, false},
	{OPT_AUDIT_ONLY, "--audit-only", USE_CAPTURE, false},
	{OPT_AUDIT_RDNS, "--audit-rdns", USE_FILE, false}, /* lookups would stall a live capture */
	{OPT_AUDIT_GRAPH, "--audit-graph", USE_CAPTURE, false},
	{OPT_EXTRACT, "--extract", USE_CAPTURE, false},
	{OPT_THREADS, "--threads", USE_FILE, false},
	{OPT_KEYLOG, "--tls-keylog", USE_CAPTURE | USE_PROBE, false}, /* probe: written */
	{OPT_MESSAGES, "--messages", USE_CAPTURE, false},
	{OPT_FROM, "--from", USE_PROBE, false},
	{OPT_RCPT, "--rcpt", USE_PROBE, true},
	{OPT_NOTIFY, "--notify", USE_PROBE, false},
	{OPT_PORT, "--port", USE_PROBE, false},
	{OPT_HELO, "--helo", USE_PROBE, false},
	{OPT_SOURCE, "--source", USE_PROBE, false},
	{OPT_TIMEOUT, "--timeout", USE_PROBE, true},
	{OPT_NO_MX, "--no-mx", USE_PROBE, false},
	{OPT_STARTTLS, "--starttls", USE_PROBE, false},
	{OPT_VERIFY, "--verify", USE_PROBE, false},
	{OPT_CA_FILE, "--ca-file", USE_PROBE, false},
	{OPT_AUTH_USER, "--auth-user", USE_PROBE, false},
	{OPT_AUTH_PASSWORD_FILE, "--auth-password-file", USE_PROBE, false},
	{OPT_AUTH_CLEARTEXT, "--auth-cleartext", USE_PROBE, false},
	{OPT_DATA, "--data", USE_PROBE, false},
	{'4', "-4", USE_PROBE, false},
	{'6', "-6", USE_PROBE, false},
	{OPT_METRICS, "--metrics", USE_CAPTURE, false},
	{OPT_METRICS_FILE, "--metrics-file", USE_CAPTURE, false},
	{OPT_METRICS_INTERVAL, "--metrics-interval", USE_CAPTURE, false},
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

/* What parsing has seen: each rule's value ("" for a flag), and the trailing words. */
struct cmdline {
	const char *given[N_RULES];
	int nargs;
	char **args;
};

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* One line on stderr, exit 2. */
static void
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("smtpscope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(EXIT_USAGE);
}

/*
 * Whatever went to standard output must have got there: a full disk or a
 * closed pipe is not success. The status to exit with.
 */
static int
output_status(int status)
{
	if (fflush(stdout) == 0 && !ferror(stdout)) /* (errno: from the write that failed) */
		return status;
	fprintf(stderr, "smtpscope: cannot write the output: %s\n",
		errno ? strerror(errno) : "write error");
	return 1;
}

/* --audit-only help: what it takes, on stdout. */
static void
audit_only_help(void)
{
	printf("--audit-only takes a comma-separated list of: client, server (roles); local,\n"
	       "outside (zones, with --local-nets); flagged; or flag ids:\n");
	rpt_audit_flag_list(stdout);
	exit(output_status(0));
}

/* --local-nets, --local-domains, --audit-only: lists the audit parses; each implies --audit. */
static void
audit_list(int c, const char *v, struct options *o)
{
	const char *why = c == OPT_LOCAL_NETS	 ? rpt_audit_nets(&o->audit_opts, v)
			  : c == OPT_LOCAL_DOMAINS ? rpt_audit_domains(&o->audit_opts, v)
						   : rpt_audit_only(&o->audit_opts, v);

	o->audit = true;
	if (why && strcmp(why, "help") == 0)
		audit_only_help();
	if (why) {
		fprintf(stderr, "smtpscope: %s\n", why);
		exit(EXIT_USAGE);
	}
}

/* An option given again must say the same thing (a harmless repeat), or is refused. */
static void
note_given(struct cmdline *cl, int code, const char *value)
{
	for (size_t i = 0; i < N_RULES; i++) {
		if (rules[i].code != code)
			continue;
		if (cl->given[i] && !rules[i].repeats && strcmp(cl->given[i], value) != 0)
			usage_error("%s is given twice, as \"%s\" and as \"%s\": give it once",
				    rules[i].name, cl->given[i], value);
		cl->given[i] = value;
		return;
	}
}

/* Refused: no use chosen, two at once, an option with no meaning in the one chosen. */
static void
check_uses(const struct cmdline *cl)
{
	const struct rule *use = NULL;

	for (size_t i = 0; i < N_USES; i++) {
		if (cl->given[i] && use)
			usage_error("%s and %s cannot be used together", use->name, rules[i].name);
		if (cl->given[i])
			use = &rules[i];
	}
	for (size_t i = N_USES; i < N_RULES; i++) {
		const struct rule *r = &rules[i];

		if (!cl->given[i] || (use && (r->uses & use->uses)))
			continue;
		if ((r->uses & (r->uses - 1)) == 0) /* one use only: name what it needs */
			usage_error("%s works only with %s", r->name, rules[__builtin_ctz(r->uses)].name);
		if (use)
			usage_error("%s has no meaning with %s", r->name, use->name);
	}
	if (cl->nargs && use && !(use->uses & USE_CAPTURE))
		usage_error("unexpected argument \"%s\" with %s: %s", cl->args[0], use->name,
			    use->uses == USE_EXPLAIN ? "quote the whole reply, \"550 5.1.1 ...\""
						     : "a filter expression goes with -r or -i");
	if (!use && cl->nargs == 1 && access(cl->args[0], F_OK) == 0)
		usage_error("give the capture with -r: smtpscope -r %s", cl->args[0]);
	if (!use)
		usage_error("give one of -r FILE, -i IFACE or --probe TARGET");
}

static int
color_when(const char *when)
{
	static const struct {
		const char *name;
		int color;
	} whens[] = {{"auto", -1}, {"always", 1}, {"never", 0}};

	for (size_t i = 0; i < sizeof(whens) / sizeof(whens[0]); i++)
		if (strcmp(when, whens[i].name) == 0)
			return whens[i].color;
	usage_error("--color takes auto, always or never, not \"%s\"", when);
}

/* The long name of an option's code, for messages. */
static const char *
option_name(int code, char *buf, size_t n)
{
	for (const struct option *l = longopts; l->name; l++)
		if (l->val == code && code >= OPT_COLOR) {
			snprintf(buf, n, "--%s", l->name);
			return buf;
		}
	snprintf(buf, n, "-%c", code);
	return buf;
}

/* What getopt refused: a value missing or not wanted, an option unknown or ambiguous. */
static void
refused_option(int c, const char *arg)
{
	char name[32];
	size_t len = strcspn(arg, "="), matches = 0;

	if (c == ':')
		usage_error("%s needs a value", option_name(optopt, name, sizeof(name)));
	if (optopt && strncmp(arg, "--", 2) == 0)
		usage_error("%.*s takes no value", (int)len, arg);
	if (optopt)
		usage_error("unknown option -%c", optopt);
	for (const struct option *l = longopts; strncmp(arg, "--", 2) == 0 && l->name; l++)
		matches += len > 2 && strncmp(l->name, arg + 2, len - 2) == 0;
	if (matches > 1)
		usage_error("%.*s is short for more than one option", (int)len, arg);
	usage_error("unknown option %s", arg);
}

/* An option of --probe, by its name without dashes ("from", "4"): probe/ reads it. */
static void
probe_take(int c, const char *v, struct options *o)
{
	char name[32], err[PROBE_ERRLEN];
	const char *bare = option_name(c, name, sizeof(name));

	bare += strspn(bare, "-");
	if (probe_option(&o->probe, bare, v, err, sizeof(err)) < 0)
		usage_error("%s", err);
}

/* The options that act at once and exit. */
static void
act_now(int c, struct options *o)
{
	switch (c) {
	case 'h':
		usage(stdout);
		break;
	case 'V':
		printf("smtpscope %s%s\n", SMTPSCOPE_VERSION, BUILD_NOTE);
		break;
	case OPT_SCHEMA:
		rpt_print_schema(stdout);
		break;
	case OPT_LIMITS:
		printf("limits (set with --limit NAME=VALUE):\n");
		print_limits(stdout, o);
		break;
	}
	exit(output_status(0));
}

/* The options that take a value. */
static void
take_value(int c, const char *v, struct options *o)
{
	switch (c) {
	case 'r':
		o->read_file = v;
		break;
	case 'i':
		o->iface = v;
		break;
	case 'B':
		o->buffer_kib = (int)number(v, "-B", 64, INT_MAX / 1024);
		break;
	case 's':
		o->snaplen = (int)number(v, "-s", 68, 262144);
		break;
	case 'w':
		o->write_file = v;
		break;
	case 'C':
		o->rotate.size = file_size(v);
		break;
	case 'G':
		o->rotate.seconds = (unsigned)number(v, "-G", 1, 86400 * 366);
		break;
	case 'W':
		o->rotate.count = (unsigned)number(v, "-W", 1, 1000000);
		break;
	case OPT_OUTPUT:
		o->output = v;
		break;
	case 'Z':
		o->user = v;
		break;
	case 'o':
		o->format = output_format(v);
		break;
	case 'p':
		o->ports = v;
		break;
	case 'f':
		o->raw_filter = v;
		break;
	case 'c':
		o->max_sessions = number(v, "-c", 1, 1000000000L);
		break;
	case OPT_COLOR:
		o->color = color_when(v);
		break;
	case OPT_EXPLAIN:
		o->explain = v;
		break;
	case OPT_AFTER:
		o->explain_after = v;
		break;
	case OPT_IDLE:
		limit_give(o, limit_named("idle", strlen("idle")), (uint64_t)number(v, "--idle", 1, 86400 * 7));
		break;
	case OPT_MAX_FLOWS:
		limit_give(o, limit_named("flows", strlen("flows")),
			   (uint64_t)number(v, "--max-flows", 1, 100000000L));
		break;
	case OPT_LIMIT:
		parse_limit(o, v);
		break;
	case OPT_EXTRACT:
		o->extract_dir = v;
		break;
	case OPT_KEYLOG:
		o->keylog_file = v;
		break;
	case OPT_AUDIT_SORT:
		o->audit = true;
		o->audit_opts.sort = audit_sort(v);
		break;
	case OPT_LOCAL_NETS:
	case OPT_LOCAL_DOMAINS:
	case OPT_AUDIT_ONLY:
		audit_list(c, v, o);
		break;
	case OPT_AUDIT_GRAPH:
		o->audit = true;
		o->audit_graph = v;
		break;
	case OPT_THREADS:
		o->threads = (unsigned)number(v, "--threads", 1, SHARD_MAX_WORKERS);
		break;
	case OPT_PROBE:
		o->probe.target = v;
		break;
	case OPT_METRICS:
		o->metrics.listen = v;
		break;
	case OPT_METRICS_FILE:
		o->metrics.file = v;
		break;
	case OPT_METRICS_INTERVAL:
		o->metrics.file_interval = (unsigned)number(v, "--metrics-interval", 1, 86400);
		break;
	}
}

static void
take_option(int c, const char *v, struct options *o)
{
	switch (c) {
	case 'D':
		o->list_interfaces = true;
		break;
	case 'n':
		break;
	case 'q':
		o->quiet = true;
		break;
	case OPT_SECRETS:
		o->show_secrets = true;
		break;
	case OPT_AUDIT:
		o->audit = true;
		break;
	case OPT_MESSAGES:
		o->csv_messages = true;
		break;
	case OPT_TRANSCRIPTS:
		o->transcripts = true;
		break;
	case OPT_AUDIT_RDNS:
		o->audit = o->audit_opts.rdns = true;
		break;
	case OPT_FROM ... OPT_NO_MX:
	case '4':
	case '6':
		probe_take(c, v, o);
		break;
	case 'h':
	case 'V':
	case OPT_SCHEMA:
	case OPT_LIMITS:
		act_now(c, o);
		break;
	default:
		take_value(c, v, o);
		break;
	}
}

/* --transcripts undoes what --audit hides: the sessions of text and CSV output. */
static void
check_transcripts(const struct options *o)
{
	if (o->transcripts && !o->audit)
		usage_error("--transcripts works only with --audit (sessions are written without it)");
	if (o->transcripts && (o->format == RPT_JSON || o->format == RPT_ECS))
		usage_error("--transcripts has no meaning with -o %s: its session records are "
			    "always written", o->format == RPT_JSON ? "json" : "ecs");
	/* without our networks no host is local or outside: the filter would show nothing */
	if (o->audit_opts.only_zones && !o->audit_opts.n_nets)
		usage_error("--audit-only local or outside needs --local-nets (which networks are ours)");
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	struct cmdline cl = {0};
	int c;

	memset(o, 0, sizeof(*o));
	o->ports = DEFAULT_PORTS;
	o->color = -1;
	cap_default_limits(&o->cap);
	rsm_default_config(&o->rsm);
	smtp_default_config(&o->smtp);
	o->extract_lim = rpt_extract_default_limits();
	probe_default_config(&o->probe);
	opterr = 0; /* our own messages, prefixed like every other */
	o->snaplen = 262144;
	while ((c = getopt_long(argc, argv, ":r:i:DB:s:w:C:G:W:Z:o:p:f:c:nqhV46", longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			refused_option(c, argv[optind - 1]);
		note_given(&cl, c, optarg ? optarg : "");
		take_option(c, optarg, o);
	}
	cl.nargs = argc - optind;
	cl.args = argv + optind;
	check_uses(&cl);
	if (o->csv_messages && o->format != RPT_CSV)
		usage_error("--messages works only with -o csv (a row per message)");
	check_transcripts(o);
	if (o->metrics.file_interval && !o->metrics.file)
		usage_error("--metrics-interval works only with --metrics-file");
	if (!o->metrics.file_interval)
		o->metrics.file_interval = 15;
	o->metrics.memory_budget = o->cap.memory;
	if ((o->rotate.size || o->rotate.seconds || o->rotate.count) && !o->write_file)
		usage_error("-C, -G and -W work only with -w (they turn its file over)");
	if (o->rotate.count && !o->rotate.size && !o->rotate.seconds)
		usage_error("-W works only with -C or -G");
	if (optind < argc)
		o->trailing_filter = join_args(argc - optind, argv + optind);
}

/*
 * A reply as a server sends it: lines of one code, each "ddd-" but the last
 * "ddd "; their text after the code joined by '\n' into text. False if not.
 */
static bool
read_reply(const char *line, int *code, char *text, size_t size)
{
	size_t used = 0;
	bool last = false;

	*code = 0;
	for (const char *p = line; *p; p += strspn(p, "\r\n")) {
		size_t len = strcspn(p, "\r\n");
		int c;

		if (last || !smtp_parse_reply_line(p, len, &c, &last) || (*code && c != *code))
			return false;
		if (*code && used + 1 < size)
			text[used++] = '\n';
		*code = c;
		for (size_t i = 4; i < len && used + 1 < size; i++)
			text[used++] = p[i];
		p += len;
	}
	text[used] = '\0';
	return last;
}

/*
 * --after: a command by its verb (the first word counts: "MAIL FROM:<a@b>"), any
 * case, or a pseudo-command the explanations know (CONNECT, ".").
 */
static bool
after_verb(const char *after, enum smtp_verb *verb)
{
	size_t len = strcspn(after, " \t");

	for (int v = 0; v < SMTP_VERB_COUNT; v++) {
		const char *name = smtp_verb_name((enum smtp_verb)v);

		if (*name && strlen(name) == len && strncasecmp(after, name, len) == 0) {
			*verb = (enum smtp_verb)v;
			return true;
		}
	}
	fprintf(stderr, "smtpscope: --after \"%s\" is not a command smtpscope knows; it takes", after);
	for (int v = 0, n = 0; v < SMTP_VERB_COUNT; v++)
		if (*smtp_verb_name((enum smtp_verb)v))
			fprintf(stderr, "%s %s", n++ ? "," : "", smtp_verb_name((enum smtp_verb)v));
	fputc('\n', stderr);
	return false;
}

/*
 * --explain: one reply, read as a server would send it; the lines of a
 * multi-line reply separated by newlines ("550-5.1.1 ...\n550 5.1.1 ..."),
 * each keeping its code, as on the wire.
 */
static int
explain_offline(const struct options *o)
{
	const char *line = o->explain;
	enum smtp_verb verb = SMTP_OTHER;
	char enh[12], out[1024], text[4096];
	const char *who[4];
	struct smtp_finding f;
	size_t n, len = 0;
	char *buf = NULL;
	unsigned width;
	FILE *m;
	int code;

	if (!read_reply(line, &code, text, sizeof(text))) {
		fprintf(stderr, "smtpscope: --explain wants a reply such as \"550 5.1.1 User "
				"unknown\"\n");
		return EXIT_USAGE;
	}
	if (o->explain_after && !after_verb(o->explain_after, &verb))
		return EXIT_USAGE;
	smtp_parse_enhanced(text, strlen(text), enh);
	smtp_explain(verb, code, enh, text, out, sizeof(out), &f);
	/* written whole, then wrapped to the terminal's width when stdout is one */
	if (!(m = open_memstream(&buf, &len))) {
		fprintf(stderr, "smtpscope: out of memory\n");
		return 1;
	}
	fprintf(m, "%s\n  %s\n", line, out);
	fprintf(m, "  reason: %s", smtp_reason_name(f.reason));
	if (smtp_failure_class(code, f.lasting))
		fprintf(m, "; class: %s", smtp_failure_class(code, f.lasting));
	if ((n = smtp_reason_fixers(f.reason, who)) > 0 && code >= 400)
		for (size_t i = 0; i < n; i++)
			fprintf(m, "%s%s", i ? " or " : "; fixed by: ", who[i]);
	if (smtp_origin_name(f.origin))
		fprintf(m, "; from: %s", smtp_origin_name(f.origin));
	if (smtp_origin_page(f.origin))
		fprintf(m, "; page: %s", smtp_origin_page(f.origin));
	fprintf(m, "\n  (%s; matched on %s)\n", smtp_result_name(smtp_result_of(code)),
		smtp_match_name(f.matched));
	if (fclose(m) != 0) {
		free(buf);
		fprintf(stderr, "smtpscope: out of memory\n");
		return 1;
	}
	if ((width = rpt_term_width(STDOUT_FILENO)) > 0)
		rpt_wrap(stdout, buf, len, width, 4);
	else
		fwrite(buf, 1, len, stdout);
	free(buf);
	return 0;
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1 || sig == SIGHUP) {
		*(sig == SIGUSR1 ? &summary_wanted : &reopen_wanted) = 1;
		return;
	}
	interrupted = 1;
	if (running_source)
		cap_stop(running_source);
}

/*
 * The progress bar is one line of stderr, drawn over itself with "\r". When
 * stdout is a terminal too, it sits on the line under the transcript: it is
 * erased before a session is written and the session goes out whole at once,
 * so no transcript line ever holds a piece of the bar, and stderr never
 * writes into a line stdout has begun.
 */
static void
bar_erase(struct run *r)
{
	if (!r->bar_shown)
		return;
	fputs("\r\033[K", stderr);
	r->bar_shown = false;
}

static void
on_session(void *arg, const struct smtp_session *s)
{
	struct run *r = arg;

	bar_erase(r);
	/* -c N: the first N sessions to end; those still open when it stops are not shown */
	if (r->max_sessions && r->sessions >= r->max_sessions) {
		r->not_shown++;
		if (r->extract) /* its messages are on disk already: they stay in the index */
			rpt_extract_session(r->extract, s);
		return;
	}
	rpt_session(r->rpt, s);
	if (r->live || r->bar_over_stdout)
		fflush(stdout); /* a live session is shown as soon as it ends */
	r->sessions++;
	if (r->max_sessions && r->sessions >= r->max_sessions)
		cap_stop(r->src);
}

/* --threads: a session a worker wrote itself, with its id. */
static void
on_session_written(void *arg, const struct smtp_session *s, const void *bytes, size_t n)
{
	struct run *r = arg;

	bar_erase(r);
	rpt_session_rendered(r->rpt, s, bytes, n);
	if (r->bar_over_stdout)
		fflush(stdout);
	r->sessions++;
}

static void
render_session(const void *cfg, FILE *f, const struct smtp_session *s)
{
	rpt_render(cfg, f, s);
}

static void
on_segment(void *arg, const struct cap_segment *seg)
{
	rsm_feed(arg, seg);
}

static void
on_segment_sharded(void *arg, const struct cap_segment *seg)
{
	shard_feed(arg, seg);
}

/* The counters of reassembly and decoding, from one table or added up over the workers. */
static void
stage_totals(struct run *r, struct rsm_stats *rs, struct smtp_stats *ds)
{
	if (r->shard) {
		shard_totals(r->shard, rs, ds);
		return;
	}
	*rs = *rsm_stats(r->rsm);
	*ds = *smtp_stats(r->dec);
}

/*
 * The filters: the SMTP ports are checked by capture/ itself (BPF's "tcp port"
 * misses VLAN-tagged and fragmented packets); -f replaces that check with a
 * raw BPF filter; a trailing expression narrows either, as BPF.
 */
static int
build_filter(const struct options *o, char *buf, size_t n, uint16_t *ports, size_t *nports)
{
	char pf[1024], base[4096];
	int w = 0;

	if (cap_ports_filter(o->ports, pf, sizeof(pf), ports, nports, MAX_PORTS) < 0) {
		fprintf(stderr, "smtpscope: -p wants ports like 25,587,2525, not \"%s\"\n", o->ports);
		return -1;
	}
	/*
	 * Live, the kernel should drop what we would: the ports, with room for
	 * fragments and ICMP unreachables, bare or behind one or two VLAN tags
	 * (libpcap's "vlan" shifts the offsets for what follows it).
	 */
	if (o->raw_filter)
		w = snprintf(base, sizeof(base), "%s", o->raw_filter);
	else if (o->iface && strcmp(o->iface, "any") == 0) /* cooked: the tags are taken off */
		w = snprintf(base, sizeof(base), "%s or %s", pf, LIVE_EXTRA);
	else if (o->iface)
		w = snprintf(base, sizeof(base),
			     "(%s or %s) or (vlan and (%s or %s)) or (vlan and vlan and (%s or %s))",
			     pf, LIVE_EXTRA, pf, LIVE_EXTRA, pf, LIVE_EXTRA);
	else
		base[0] = '\0';
	if (w < 0 || (size_t)w >= sizeof(base)) {
		fprintf(stderr, "smtpscope: filter expression too long\n");
		return -1;
	}
	if (base[0] && o->trailing_filter)
		w = snprintf(buf, n, "(%s) and (%s)", base, o->trailing_filter);
	else
		w = snprintf(buf, n, "%s", base[0] ? base : o->trailing_filter ? o->trailing_filter : "");
	if (w < 0 || (size_t)w >= n) {
		fprintf(stderr, "smtpscope: filter expression too long\n");
		return -1;
	}
	return 0;
}

/* --color=auto: on a terminal, unless NO_COLOR is set and not empty (https://no-color.org). */
static bool
colour_auto(int fd)
{
	const char *no = getenv("NO_COLOR");

	return isatty(fd) && !(no && *no);
}

static bool
setup(struct run *r, const struct options *o, const uint16_t *ports, size_t nports)
{
	struct rsm_config rc = o->rsm;
	struct smtp_config sc = o->smtp;
	struct rpt_config pc = {.format = o->format, .out = stdout, .audit = o->audit,
				.audit_opts = &o->audit_opts, .quiet = o->quiet, .extract = r->extract,
				.csv_messages = o->csv_messages, .transcripts = o->transcripts,
				.capture_name = o->iface ? o->iface : o->read_file,
				.metrics = r->metrics, .audit_counts = r->metrics != NULL,
				.ordered = !r->live && o->format == RPT_TEXT};

	pc.color = o->color < 0 ? colour_auto(STDOUT_FILENO) : o->color;
	pc.color_summary = o->color < 0 ? colour_auto(STDERR_FILENO) : o->color;
	pc.ascii = !rpt_locale_utf8();
	pc.width = o->format == RPT_TEXT ? rpt_term_width(STDOUT_FILENO) : 0;
	/* one key per run for every hash table fed by packet data (siphash.c) */
	if (rsm_hash_key_random(&rc.hash_key) < 0) {
		fprintf(stderr, "smtpscope: no random key for the hash tables (getrandom, /dev/urandom): %s\n",
			strerror(errno));
		return false;
	}
	pc.hash_key = rc.hash_key;
	rc.server_ports = ports;
	rc.n_server_ports = nports;
	sc.show_secrets = o->show_secrets;
	sc.snaplen = cap_snaplen(r->src);
	sc.sink = r->extract ? rpt_extract_sink(r->extract) : NULL;
	sc.keylog = r->keylog;
	r->rpt = rpt_new(&pc);
	r->max_sessions = o->max_sessions;
	/* -c stops at a session, --extract writes while decoding: both on one thread */
	if (o->threads > 1 && !r->live && !o->max_sessions && !r->extract) {
		struct shard_config hc = {.workers = o->threads, .rsm = rc, .smtp = sc,
					  .done = on_session, .arg = r, .render = render_session,
					  .render_arg = &r->rpt_cfg, .written = on_session_written};

		r->rpt_cfg = pc;

		r->shard = r->rpt ? shard_new(&hc) : NULL;
		if (!r->shard)
			fprintf(stderr, "smtpscope: cannot start %u threads: out of memory\n", o->threads);
		return r->shard != NULL;
	}
	r->dec = r->rpt ? smtp_new(&sc, on_session, r) : NULL;
	r->rsm = r->dec ? rsm_new(&rc, smtp_on_stream, r->dec) : NULL;
	if (!r->rsm)
		fprintf(stderr, "smtpscope: out of memory\n");
	return r->rsm != NULL;
}

/*
 * Drop root once the capture is open (tcpdump's droproot()), reading a file
 * as well as capturing live: to -Z USER, by default to DROP_USER, or nobody
 * when it does not exist. Then every capability left goes too (file
 * capabilities set on the binary, or root kept with -Z root): nothing that
 * follows needs one.
 */
/* The user root was dropped to, for an error that the drop explains; "" when not dropped. */
static char dropped_to[64];

/* After "Permission denied" on a file written after the drop: why, and how to keep root. */
static const char *
drop_hint(int err)
{
	static char hint[160];

	if (err != EACCES || !dropped_to[0])
		return "";
	snprintf(hint, sizeof(hint), " (written as %s, the user root was dropped to; -Z root keeps "
		 "root)", dropped_to);
	return hint;
}

static int
drop_root(const struct options *o)
{
	const char *name = o->user;
	struct passwd *pw;

#ifdef SMTPSCOPE_COVERAGE
	return 0;
#endif
	if (geteuid() != 0 || (name && strcmp(name, "root") == 0))
		return 0;
	pw = getpwnam(name ? name : DROP_USER);
	if (!pw && !name)
		pw = getpwnam("nobody");
	if (!pw) {
		fprintf(stderr, "smtpscope: -Z %s: no such user\n", name ? name : DROP_USER);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 ||
	    setuid(0) == 0) { /* the last: regaining root must now fail */
		fprintf(stderr, "smtpscope: cannot drop root to %s: %s\n", pw->pw_name,
			strerror(errno));
		return -1;
	}
	snprintf(dropped_to, sizeof(dropped_to), "%s", pw->pw_name);
	return 0;
}

static int
drop_privileges(const struct options *o)
{
	char err[CAP_ERRLEN];

	if (drop_root(o) < 0)
		return -1;
	if (cap_drop_capabilities(err) < 0) {
		fprintf(stderr, "smtpscope: %s\n", err);
		return -1;
	}
	return 0;
}

static int
open_source(struct run *r, const struct options *o, const char *filter, char err[CAP_ERRLEN])
{
	struct cap_live_config lc = {.snaplen = o->snaplen, .buffer_size = o->buffer_kib * 1024,
				     .promisc = true};

	r->live = o->iface != NULL;
	if ((o->iface ? cap_open_live(&r->src, o->iface, &lc, err)
		      : cap_open_file(&r->src, o->read_file, err)) < 0)
		return -1;
	int rc = cap_set_filter(r->src, filter, err);

	if (rc < 0)
		return rc; /* CAP_BAD_FILTER: an expression libpcap cannot compile */
	if (o->write_file && cap_write_to(r->src, o->write_file, &o->rotate, err) < 0)
		return -1;
	return 0;
}

/* "[#########-----------]  45%  312 MB/s  1234 sessions", at most ten times a second. */
static void
show_progress(struct run *r, bool last)
{
	uint64_t now = cap_monotonic_us(), done, total;
	char bar[31];

	if (last) {
		bar_erase(r);
		return;
	}
	if (!r->progress || now - r->shown_us < 100000 || !cap_progress(r->src, &done, &total) ||
	    !total)
		return;
	r->shown_us = now;
	if (done > total) /* the file grew or shrank under us */
		done = total;
	size_t fill = (size_t)(done * 30 / total);

	memset(bar, '#', fill);
	memset(bar + fill, '-', 30 - fill);
	bar[30] = '\0';
	fprintf(stderr, "\r[%s] %3u%%  %.0f MB/s  %llu sessions", bar, (unsigned)(done * 100 / total),
		(double)done / (double)(now - r->started_us + 1), (unsigned long long)r->sessions);
	fflush(stderr);
	r->bar_shown = true;
}

/*
 * SIGHUP: the records' file and -w's begun again where logrotate moved them
 * away, between two records (each is flushed whole first); and a -w rotation
 * that failed, said as it happens.
 */
static void
service_tick(struct run *r)
{
	char err[CAP_ERRLEN];

	if (reopen_wanted) {
		reopen_wanted = 0;
		bar_erase(r);
		if (r->output && (fflush(stdout) != 0 ||
				  cap_output_redirect(STDOUT_FILENO, r->output, err) < 0))
			fprintf(stderr, "smtpscope: --output %s: not reopened, still writing the old "
				"file: %s\n", r->output, ferror(stdout) ? strerror(errno) : err);
		(void)cap_write_reopen(r->src, err); /* said by cap_write_news */
	}
	if (cap_write_news(r->src, err))
		fprintf(stderr, "smtpscope: %s\n", err);
}

/* Regularly: end idle sessions on time, show progress, print the running summary when asked. */
static void
on_tick(void *arg, uint64_t now_us)
{
	struct run *r = arg;

	if (r->shard)
		shard_tick(r->shard, now_us);
	else
		rsm_tick(r->rsm, now_us);
	show_progress(r, false);
	if (r->metrics && rpt_metrics_due(r->metrics)) {
		struct rsm_stats rs;
		struct smtp_stats ds;

		stage_totals(r, &rs, &ds);
		struct rpt_totals t = {cap_stats(r->src), &rs, &ds, false, r->keylog, 0};

		rpt_metrics_update(r->metrics, &t, rpt_audit_of(r->rpt));
	}
	service_tick(r);
	if (summary_wanted) {
		struct rsm_stats rs;
		struct smtp_stats ds;

		stage_totals(r, &rs, &ds);
		struct rpt_totals t = {cap_stats(r->src), &rs, &ds, false, r->keylog, 0};

		summary_wanted = 0;
		bar_erase(r);
		rpt_running_summary(r->rpt, stderr, &t); /* it flushes stdout first */
	}
}

/* --tls-keylog: read now; with a live capture, followed as the client appends to it. */
static int
open_keylog(struct run *r, const char *path)
{
	char err[CAP_ERRLEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "smtpscope: --tls-keylog %s: %s\n", path, strerror(errno));
		return -1;
	}
	r->keylog = tls_keylog_open(fd, r->live, 0, err, sizeof(err));
	if (!r->keylog) {
		fprintf(stderr, "smtpscope: --tls-keylog %s: %s\n", path, err);
		close(fd);
		return -1;
	}
	return 0;
}

/* Standard output, -w and --extract: 1 (each failure said) if any write failed, else 0. */
static int
written_status(struct run *r, const struct options *o)
{
	char err[CAP_ERRLEN];
	int status = output_status(0), e;

	if (cap_write_news(r->src, err)) /* a rotation that failed since the last tick */
		fprintf(stderr, "smtpscope: %s\n", err);
	if (cap_write_done(r->src, err) < 0) {
		fprintf(stderr, "smtpscope: %s\n", err);
		status = 1;
	}
	if (r->extract && (e = rpt_extract_error(r->extract)) != 0) {
		fprintf(stderr, "smtpscope: cannot write to %s (--extract): %s\n", o->extract_dir,
			strerror(e));
		status = 1;
	}
	return status;
}

/* --audit-graph FILE: DOT, or SVG (drawn by Graphviz's dot) when FILE ends in .svg. */
static int
open_graph(struct run *r, const char *path)
{
	size_t len = strlen(path);

	r->graph_svg = len > 4 && strcasecmp(path + len - 4, ".svg") == 0;
	if (r->graph_svg && !rpt_audit_dot_found()) {
		fprintf(stderr, "smtpscope: --audit-graph %s: an SVG is drawn by Graphviz's dot, which "
			"is not on the PATH (apt-get install graphviz), or name a .dot file\n", path);
		return -1;
	}
	if (!(r->graph = fopen(path, "w"))) {
		fprintf(stderr, "smtpscope: cannot write %s (--audit-graph): %s%s\n", path,
			strerror(errno), drop_hint(errno));
		return -1;
	}
	return 0;
}

static int
write_graph(struct run *r, const char *path)
{
	bool ok;
	int e;

	errno = 0;
	ok = rpt_audit_graph(rpt_audit_of(r->rpt), r->graph, r->graph_svg);
	e = errno;
	if (fclose(r->graph) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (!ok) {
		fprintf(stderr, "smtpscope: cannot write %s (--audit-graph): %s\n", path,
			e == ETIMEDOUT ? "dot did not finish in 120 seconds (--audit-only draws fewer "
					 "hosts)"
			: r->graph_svg && e == 0 ? "dot failed"
						 : strerror(e ? e : EIO));
		r->graph = NULL;
		return -1;
	}
	r->graph = NULL;
	return 0;
}

static void
metrics_error(const char *err)
{
	fprintf(stderr, "smtpscope: %s%s\n", err, strstr(err, strerror(EACCES)) ? drop_hint(EACCES) : "");
}

/* The metrics thread, once setup is done; the file written once now, so a bad path fails at once. */
static int
start_metrics(struct run *r)
{
	char err[CAP_ERRLEN];
	struct rsm_stats rs;
	struct smtp_stats ds;

	stage_totals(r, &rs, &ds);
	struct rpt_totals t = {cap_stats(r->src), &rs, &ds, false, r->keylog, 0};

	if (rpt_metrics_start(r->metrics, &t, rpt_audit_of(r->rpt), err, sizeof(err)) == 0)
		return 0;
	metrics_error(err);
	return -1;
}

/* Everything a run holds, let go (what was never opened is NULL): status, to return. */
static int
run_end(struct run *r, int status)
{
	if (r->graph) /* not written: the run stopped before its end */
		fclose(r->graph);
	rpt_metrics_free(r->metrics);
	shard_free(r->shard);
	rsm_free(r->rsm);
	smtp_free(r->dec);
	rpt_free(r->rpt);
	rpt_extract_close(r->extract);
	tls_keylog_free(r->keylog);
	cap_close(r->src);
	return status;
}

static int
analyse(const struct options *o)
{
	char err[CAP_ERRLEN], filter[8192];
	uint16_t ports[MAX_PORTS];
	size_t nports = 0;
	struct run r = {0};
	int status = 0;

	if (build_filter(o, filter, sizeof(filter), ports, &nports) < 0)
		return EXIT_USAGE;
	if ((status = open_source(&r, o, filter, err)) == CAP_BAD_FILTER) {
		/* live, name the words typed, not the port filter built around them */
		fprintf(stderr, "smtpscope: \"%s\": %s\n",
			o->iface && !o->raw_filter && o->trailing_filter ? o->trailing_filter : filter, err);
		cap_close(r.src);
		return EXIT_USAGE;
	}
	if (status < 0) {
		fprintf(stderr, "smtpscope: %s\n", err);
		cap_close(r.src);
		return 1;
	}
	cap_set_ports(r.src, ports, o->raw_filter ? 0 : nports);
	cap_set_limits(r.src, &o->cap);
	/* before the drop: a key log is rightly readable by its owner only */
	if (o->keylog_file && open_keylog(&r, o->keylog_file) < 0)
		return run_end(&r, 1);
	/* before the drop too: the port may be one only root can bind */
	if ((o->metrics.listen || o->metrics.file) &&
	    rpt_metrics_open(&r.metrics, &o->metrics, err, CAP_ERRLEN) < 0) {
		fprintf(stderr, "smtpscope: %s\n", err);
		return run_end(&r, 1);
	}
	if (drop_privileges(o) < 0)
		return run_end(&r, 1);
	/* after the drop: the messages and the graph are written as the user smtpscope runs as */
	if (o->audit_graph && open_graph(&r, o->audit_graph) < 0)
		return run_end(&r, 1);
	if (o->output && cap_output_redirect(STDOUT_FILENO, o->output, err) < 0) {
		fprintf(stderr, "smtpscope: --output %s%s\n", err, drop_hint(errno));
		return run_end(&r, 1);
	}
	r.output = o->output;
	if (o->extract_dir &&
	    rpt_extract_open(&r.extract, o->extract_dir, &o->extract_lim, err, CAP_ERRLEN) < 0) {
		fprintf(stderr, "smtpscope: %s\n", err);
		return run_end(&r, 1);
	}
	if (!setup(&r, o, ports, nports) || (r.metrics && start_metrics(&r) < 0))
		return run_end(&r, 1);
	cap_set_tick(r.src, on_tick, &r);
	r.progress = !r.live && !o->quiet && isatty(STDERR_FILENO);
	r.bar_over_stdout = r.progress && isatty(STDOUT_FILENO);
	r.started_us = cap_monotonic_us();
	running_source = r.src;
	if (interrupted) /* Ctrl-C while the interface was being opened */
		cap_stop(r.src);
	if ((r.shard ? cap_run(r.src, on_segment_sharded, r.shard, err)
		     : cap_run(r.src, on_segment, r.rsm, err)) < 0)
		status = 1;
	running_source = NULL;
	show_progress(&r, true);
	if (r.shard)
		shard_finish(r.shard);
	else
		rsm_flush(r.rsm);
	struct rsm_stats rs;
	struct smtp_stats ds;

	stage_totals(&r, &rs, &ds);
	struct rpt_totals t = {cap_stats(r.src), &rs, &ds, interrupted != 0, r.keylog,
				 r.not_shown};

	rpt_summary(r.rpt, &t);
	if (r.metrics && rpt_metrics_finish(r.metrics, &t, rpt_audit_of(r.rpt), err, CAP_ERRLEN) < 0) {
		metrics_error(err);
		status = 1;
	}
	if (r.graph && write_graph(&r, o->audit_graph) < 0)
		status = 1;
	if (written_status(&r, o) != 0) /* a full disk must not look like success */
		status = 1;
	else if (status)
		fprintf(stderr, "smtpscope: %s\n", err);
	return run_end(&r, status);
}

/*
 * --probe: probe/ holds the dialog and hands each connection's session to
 * the report as the capture's decoder does; the exit status says whether
 * the server would take the mail (smtpscope.1, EXIT STATUS).
 */
static int
probe(struct options *o)
{
	struct rpt_config pc = {.format = o->format, .out = stdout, .quiet = o->quiet};
	struct probe_result res;
	char err[PROBE_ERRLEN];
	struct rpt *r;
	int rc;

	if (probe_check(&o->probe, err, sizeof(err)) < 0)
		usage_error("%s", err);
	/* what needs the terminal or root comes before root is given up */
	if (probe_read_password(&o->probe, err, sizeof(err)) < 0) {
		fprintf(stderr, "smtpscope: %s\n", err);
		return 1;
	}
	if (o->keylog_file && (o->probe.keylog_fd = open(o->keylog_file, O_WRONLY | O_CREAT |
							   O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "smtpscope: --tls-keylog %s: %s\n", o->keylog_file, strerror(errno));
		probe_forget(&o->probe);
		return 1;
	}
	if (o->write_file && !(o->probe.wire = probe_wire_open(o->write_file, err, sizeof(err)))) {
		fprintf(stderr, "smtpscope: %s\n", err);
		probe_forget(&o->probe);
		return 1;
	}
	if (drop_privileges(o) < 0) {
		probe_forget(&o->probe);
		return 1;
	}
	pc.color = o->color < 0 ? colour_auto(STDOUT_FILENO) : o->color;
	pc.ascii = !rpt_locale_utf8();
	pc.width = o->format == RPT_TEXT ? rpt_term_width(STDOUT_FILENO) : 0;
	if (!(r = rpt_new(&pc))) {
		fprintf(stderr, "smtpscope: out of memory\n");
		return 1;
	}
	rc = probe_run(&o->probe, &o->smtp, rpt_session, r, &res, err, sizeof(err));
	probe_forget(&o->probe);
	if (o->probe.keylog_fd >= 0)
		close(o->probe.keylog_fd);
	if (probe_wire_close(o->probe.wire, rc == 0 ? err : (char[PROBE_ERRLEN]){0},
			     PROBE_ERRLEN) < 0 && rc == 0)
		rc = -1;
	if (rc == 0)
		rpt_probe_end(r, &(struct rpt_probe){o->probe.target,
			res.dns_used ? &res.store.dns : NULL, res.status_name, res.exit_status,
			res.verdict, res.sessions});
	else
		fprintf(stderr, "smtpscope: %s\n", err);
	rpt_free(r);
	return rc == 0 ? res.exit_status : 1;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct sigaction sa;
	int rc;

	parse_options(argc, argv, &o);
	if (o.explain)
		return output_status(explain_offline(&o));
	if (o.probe.target)
		return output_status(probe(&o));
	if (o.list_interfaces) {
		char err[CAP_ERRLEN];

		if (cap_list_interfaces(stdout, err) == 0)
			return output_status(0);
		fprintf(stderr, "smtpscope: %s\n", err);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART; /* a signal during a write must not lose buffered output */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	static char outbuf[1 << 16];

	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	__fsetlocking(stdout, FSETLOCKING_BYCALLER); /* written by the reading thread only */
	rc = analyse(&o);
	free(o.trailing_filter);
	return rc;
}
