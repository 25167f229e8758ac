/*
 * schema.c - --json-schema: a JSON Schema (draft 2020-12) of the -o json
 * records, so a consumer can check what it loads and tests/schema_check.py
 * can check what we write.
 *
 * The schema is a table of the fields json.c (session, summary) and audit.c
 * (host, with --audit) write. Lists of names (states, results, outcomes,
 * anomalies, packet verdicts ...) are read at run time from the same name
 * functions the writers call, so they cannot drift from the output. Every
 * object is closed (additionalProperties false): a field a writer gains
 * without this table fails the check, and the schema stays the whole truth.
 *
 * Keywords used, and nothing else: type (a name or a list), const, enum,
 * minimum, maximum, format, properties, required, additionalProperties,
 * items, oneOf; description and title as annotations.
 */
#include "report.h"

#include "report_private.h"

enum type {
	T_STRING = 1, T_INTEGER = 2, T_NUMBER = 4, T_BOOLEAN = 8, T_OBJECT = 16, T_ARRAY = 32,
	T_NULL = 64
};

static const char *const type_names[] = {
	"string", "integer", "number", "boolean", "object", "array", "null",
};

/* Lists of names: the values of an enum, or the keys of a map of counters. */
enum names {
	N_NONE, N_STATE, N_RESULT, N_MATCH, N_OUTCOME, N_OUTCOME_SEEN, N_ANOMALY, N_RCPT,
	N_SKIPPED, N_ROLE, N_PAIRED, N_HANDSHAKE, N_ALERT_LEVEL, N_REASON, N_CLASS, N_FIXER, N_KEYS,
	N_ZONE, N_FLAG, N_SOURCE, N_PROBE_RESULT
};

static const char *
state_name(int i)
{
	return smtp_state_name((enum smtp_state)i);
}

static const char *
result_name(int i)
{
	return smtp_result_name((enum smtp_result)i);
}

static const char *
match_name(int i)
{
	return smtp_match_name((enum smtp_match)i);
}

static const char *
outcome_name(int i)
{
	return smtp_outcome_name((enum smtp_outcome)i);
}

static const char *
anomaly_name(int i)
{
	return smtp_anomaly_name((enum smtp_anomaly)i);
}

static const char *
verdict_name(int i)
{
	return cap_verdict_name((enum cap_verdict)i);
}

static const char *
rcpt_name(int i)
{
	return smtp_rcpt_status_name((enum smtp_rcpt_status)i);
}

static const char *
keys_name(int i)
{
	return tls_keys_name((enum tls_keys)i);
}

static const char *
handshake_name(int i)
{
	return tls_handshake_name((enum tls_handshake)i);
}

static const char *
alert_level_name(int i)
{
	return tls_alert_level_name((uint8_t)i);
}

static const char *
pairing_name(int i)
{
	return smtp_pairing_name((enum smtp_pairing)i);
}

static const char *
role_name(int i)
{
	return i ? "server" : "client";
}

static const char *
reason_name(int i)
{
	return smtp_reason_name((unsigned)i);
}

static const char *
class_name(int i)
{
	return smtp_failure_class(i ? 500 : 400, false);
}

static const char *
fixer_name(int i)
{
	return smtp_fixer_name((unsigned)i);
}

static const char *
zone_name(int i)
{
	return i ? "outside" : "local";
}

static const char *
flag_name(int i)
{
	return rpt_audit_flag_id((unsigned)i);
}

static const char *
source_name(int i)
{
	return i ? "probe" : "capture";
}

/* rpt_probe's result (probe/ names them; report/ cannot ask the stage before it) */
static const char *
probe_result_name(int i)
{
	static const char *const names[] = {"accepted", "refused", "deferred", "unreachable",
					    "tls_failed"};

	return names[i];
}

static const struct {
	const char *(*name)(int);
	int first, end;
} name_lists[] = {
	[N_STATE] = {state_name, SMTP_ST_REFUSED, SMTP_ST_UNFINISHED + 1},
	[N_RESULT] = {result_name, SMTP_NO_REPLY, SMTP_PERMFAIL + 1},
	[N_MATCH] = {match_name, 0, SMTP_MATCH_COUNT},
	[N_OUTCOME] = {outcome_name, 0, SMTP_OUT_COUNT},
	/* the summary counts sessions by outcome, "none" aside, and only those seen */
	[N_OUTCOME_SEEN] = {outcome_name, SMTP_OUT_DELIVERED, SMTP_OUT_COUNT},
	[N_ANOMALY] = {anomaly_name, 0, SMTP_ANOM_COUNT},
	[N_RCPT] = {rcpt_name, 0, SMTP_RCPT_STATUS_COUNT},
	[N_PAIRED] = {pairing_name, SMTP_PAIR_SEEN, SMTP_PAIR_INFERRED + 1},
	/* json_summary's skipped_packets: every verdict but the TCP and ICMP ones */
	[N_SKIPPED] = {verdict_name, CAP_NOT_TCP, CAP_VERDICT_COUNT},
	[N_ROLE] = {role_name, 0, 2},
	[N_HANDSHAKE] = {handshake_name, 0, TLS_HS_COUNT},
	[N_ALERT_LEVEL] = {alert_level_name, TLS_ALERT_WARNING, TLS_ALERT_FATAL + 1},
	[N_REASON] = {reason_name, 0, SMTP_R_COUNT},
	[N_CLASS] = {class_name, 0, 2},
	[N_FIXER] = {fixer_name, 0, 4},
	[N_KEYS] = {keys_name, 0, TLS_KEYS_FOUND + 1},
	[N_ZONE] = {zone_name, 0, 2},
	[N_FLAG] = {flag_name, 0, RPT_AUDIT_FLAGS},
	[N_SOURCE] = {source_name, 0, 2},
	[N_PROBE_RESULT] = {probe_result_name, 0, 5},
};

struct field;

struct sch {
	unsigned type;          /* enum type bits; more than one: a list */
	const char *desc;
	const char *cst;        /* const */
	enum names values;      /* enum */
	const char *min, *max;  /* minimum, maximum */
	const char *format;     /* "date-time" */
	const struct field *props; /* object: its fields, up to one without a name */
	enum names counters;    /* object: one counter per name */
	bool all_counters;      /* ... every one of them present */
	const struct sch *items;
};

struct field {
	const char *name;
	bool required;
	struct sch s;
};

#define REQ true
#define OPT false
#define END {.name = NULL}

#define COUNT {.type = T_INTEGER, .min = "0"}
#define STRING {.type = T_STRING}
#define STRING_OR_NULL {.type = T_STRING | T_NULL}
#define BOOLEAN {.type = T_BOOLEAN}
#define SECONDS {.type = T_NUMBER, .min = "0"}
#define STRINGS {.type = T_ARRAY, .items = &(const struct sch)STRING}
#define TIME(d) {.type = T_STRING, .format = "date-time", .desc = d}

static const struct field endpoint[] = {
	{"ip", REQ, {.type = T_STRING, .desc = "IPv4 or IPv6 address"}},
	{"port", REQ, {.type = T_INTEGER, .min = "0", .max = "65535"}},
	END,
};

static const struct field reply[] = {
	{"code", REQ, {.type = T_INTEGER, .min = "200", .max = "599"}},
	{"enhanced", REQ, {.type = T_STRING | T_NULL, .desc = "RFC 3463 class.subject.detail"}},
	{"text", REQ, {.type = T_STRING, .desc = "all lines of the reply, joined by \\n"}},
	END,
};

static const struct field command[] = {
	{"cmd", REQ, {.type = T_STRING, .desc = "upper-case verb, CONNECT for the greeting, "
					      "\".\" after a body, AUTH-DATA, or what was sent"}},
	{"arg", REQ, STRING_OR_NULL},
	{"ts", REQ, TIME("when the command was sent")},
	{"reply", REQ, {.type = T_OBJECT | T_NULL, .props = reply}},
	{"result", REQ, {.type = T_STRING, .values = N_RESULT}},
	{"explanation", REQ, STRING},
	{"matched_on", REQ, {.type = T_STRING, .values = N_MATCH,
			     .desc = "what the explanation was chosen by"}},
	{"reason", REQ, {.type = T_STRING | T_NULL, .values = N_REASON,
			 .desc = "why the server answered so, from its text first, then its codes; "
				 "null without a reply"}},
	{"class", OPT, {.type = T_STRING, .values = N_CLASS,
			.desc = "failures only: temporary when a later retry can pass by itself, "
				"permanent when it cannot until the cause is fixed (a 5xx, or a 4xx "
				"whose text says the block lasts)"}},
	{"fix_by", OPT, {.type = T_ARRAY, .items = &(const struct sch){.type = T_STRING,
									  .values = N_FIXER},
			 .desc = "failures only: who can fix it; empty when nobody needs to"}},
	{"page", OPT, {.type = T_STRING | T_NULL,
		       .desc = "failures only: the provider's or block list's page for this reply, "
			       "when the reply carries its marks"}},
	{"paired", REQ, {.type = T_STRING | T_NULL, .values = N_PAIRED,
			 .desc = "seen: the capture settles which command the reply answers; "
				 "inferred: smtpscope chose (a gap, a reply out of place); null: no reply"}},
	{"reply_time", REQ, {.type = T_NUMBER | T_NULL, .min = "0",
			     .desc = "seconds from the command to its reply; null without a reply"}},
	{"in_tls", OPT, {.type = T_BOOLEAN,
			 .desc = "true: sent inside TLS and read with the key log (--tls-keylog); "
				 "absent otherwise"}},
	END,
};

static const struct field gaps[] = {
	{"client", REQ, COUNT},
	{"server", REQ, COUNT},
	END,
};

static const struct field tls_alert[] = {
	{"level", REQ, {.type = T_STRING | T_NULL, .values = N_ALERT_LEVEL,
			.desc = "null: the alert was encrypted"}},
	{"description", REQ, {.type = T_STRING | T_NULL,
			      .desc = "RFC 8446 6 name (handshake_failure, ...); null: encrypted"}},
	{"sent_by", REQ, {.type = T_STRING, .values = N_ROLE}},
	END,
};

static const struct field tls_certificate[] = {
	{"subject", REQ, {.type = T_STRING, .desc = "the leaf's commonName, else its whole subject "
						    "(RFC 2253); bytes outside printable ASCII as \\xHH"}},
	{"issuer", REQ, {.type = T_STRING, .desc = "the issuer's commonName, else the whole issuer"}},
	{"issuer_org", REQ, {.type = T_STRING | T_NULL, .desc = "the issuer's organizationName"}},
	{"not_before", REQ, TIME("the certificate is valid from")},
	{"not_after", REQ, TIME("the certificate is valid until")},
	{"sans", REQ, {.type = T_ARRAY, .items = &(const struct sch)STRING,
		       .desc = "DNS subjectAltNames, in order"}},
	{"sans_truncated", REQ, {.type = T_BOOLEAN, .desc = "more names than kept (512 bytes)"}},
	{"chain", REQ, {.type = T_INTEGER, .min = "1",
			.desc = "certificates the server sent, its own first"}},
	{"key_type", REQ, {.type = T_STRING | T_NULL, .desc = "RSA, EC, Ed25519 ..."}},
	{"key_bits", REQ, {.type = T_INTEGER | T_NULL, .min = "1"}},
	{"self_signed", REQ, {.type = T_BOOLEAN,
			      .desc = "issued by itself: same name, signed by its own key"}},
	{"expired", REQ, {.type = T_BOOLEAN, .desc = "the session's first packet is after not_after"}},
	{"not_yet_valid", REQ, {.type = T_BOOLEAN,
				.desc = "the session's first packet is before not_before"}},
	{"name_matches", REQ, {.type = T_BOOLEAN | T_NULL,
			       .desc = "a name of the certificate covers the SNI (RFC 6125: SANs, "
				       "else the CN; a wildcard for one left-most label); null: no "
				       "SNI, or a list cut short"}},
	END,
};

static const struct field tls[] = {
	{"handshake", REQ, {.type = T_STRING, .values = N_HANDSHAKE,
			    .desc = "completed: both Finished seen; failed: a fatal alert first; "
				    "abandoned: a side closed first; started: the capture ended first"}},
	{"implicit", REQ, {.type = T_BOOLEAN, .desc = "TLS from the first byte, no STARTTLS"}},
	{"version", REQ, {.type = T_STRING | T_NULL, .desc = "negotiated, e.g. TLSv1.3"}},
	{"cipher", REQ, {.type = T_STRING | T_NULL, .desc = "IANA name"}},
	{"sni", REQ, {.type = T_STRING | T_NULL, .desc = "server name the client asked for"}},
	{"alert", REQ, {.type = T_OBJECT | T_NULL, .props = tls_alert}},
	{"certificate", REQ, {.type = T_OBJECT | T_NULL, .props = tls_certificate,
			      .desc = "the server's certificate, in clear up to TLS 1.2; null: not "
				      "seen (TLS 1.3 sends it encrypted: read with --tls-keylog)"}},
	{"decrypted", REQ, {.type = T_BOOLEAN,
			    .desc = "records were decrypted with the key log (--tls-keylog) and the SMTP "
				    "inside is in commands like the rest"}},
	{"keys", REQ, {.type = T_STRING, .values = N_KEYS,
		       .desc = "off: no key log given; missing: none for this session (or no "
			       "ClientHello seen); unsupported: a cipher suite not decrypted; found"}},
	{"failed_records", REQ, {.type = T_INTEGER, .min = "0",
				 .desc = "records that failed authentication (wrong keys, damaged "
					 "capture); never read"}},
	{"records", REQ, {.type = T_OBJECT, .props = gaps}},
	{"bytes", REQ, {.type = T_OBJECT, .props = gaps,
			.desc = "TLS bytes each way (records with their headers), gaps not included"}},
	{"unparsed", REQ, {.type = T_OBJECT, .props = gaps,
			   .desc = "bytes not read as TLS (not TLS, past a cap, after a gap)"}},
	END,
};

static const struct field auth[] = {
	{"mechanism", REQ, STRING},
	{"user", REQ, STRING_OR_NULL},
	{"success", REQ, {.type = T_BOOLEAN | T_NULL, .desc = "null: no verdict seen"}},
	END,
};

static const struct field recipient[] = {
	{"address", REQ, STRING},
	{"status", REQ, {.type = T_STRING, .values = N_RCPT}},
	{"code", REQ, {.type = T_INTEGER | T_NULL, .min = "200", .max = "599"}},
	{"reply", REQ, STRING_OR_NULL},
	END,
};

static const struct field message[] = {
	{"mail_from", REQ, STRING_OR_NULL},
	{"rcpt_to", REQ, {.type = T_ARRAY, .items = &(const struct sch)STRING,
			  .desc = "recipients not refused: accepted, or no reply seen"}},
	{"rcpt_rejected", REQ, {.type = T_ARRAY, .items = &(const struct sch)STRING,
				.desc = "recipients refused with 4xx or 5xx"}},
	{"accepted", REQ, {.type = T_BOOLEAN, .desc = "2xx after the body"}},
	{"size", REQ, {.type = T_INTEGER | T_NULL, .min = "0", .desc = "body bytes"}},
	{"subject", REQ, {.type = T_STRING | T_NULL,
			  .desc = "the Subject header, its RFC 2047 encoded words decoded to UTF-8 "
				  "(a malformed word, or one in an unknown charset, as sent)"}},
	{"subject_raw", REQ, {.type = T_STRING | T_NULL,
			      .desc = "the Subject as on the wire, when decoding changed it; else null"}},
	{"from", REQ, {.type = T_STRING | T_NULL,
		       .desc = "the From header (not the envelope's mail_from), decoded as subject"}},
	{"from_raw", REQ, {.type = T_STRING | T_NULL,
			   .desc = "the From header as on the wire, when decoding changed it; else null"}},
	{"message_id", REQ, STRING_OR_NULL},
	{"queue_id", REQ, STRING_OR_NULL},
	{"outcome", REQ, {.type = T_STRING, .values = N_OUTCOME,
			  .desc = "unknown when the capture does not settle it"}},
	{"recipients", REQ, {.type = T_ARRAY, .items = &(const struct sch){
				     .type = T_OBJECT, .props = recipient}}},
	{"mail_ts", REQ, {.type = T_STRING | T_NULL, .format = "date-time",
			  .desc = "when MAIL was sent; null when not seen"}},
	{"data_end_ts", REQ, {.type = T_STRING | T_NULL, .format = "date-time",
			      .desc = "when the end of data (\".\" or BDAT LAST) was sent; null when "
				      "not seen or the capture does not settle when"}},
	{"final_reply_ts", REQ, {.type = T_STRING | T_NULL, .format = "date-time",
				 .desc = "when the server answered the end of data (queued or "
					 "refused); null when no reply was seen"}},
	{"transaction_time", REQ, {.type = T_NUMBER | T_NULL, .min = "0",
				   .desc = "seconds from MAIL to the reply after the data (time to "
					   "deliver); null unless both were seen"}},
	END,
};

static const struct field capture[] = {
	{"snaplen", REQ, {.type = T_INTEGER | T_NULL, .min = "0",
			  .desc = "the snap length, when it cut this session's packets (0: cut, "
				  "length unknown); null: nothing cut"}},
	{"one_side", REQ, {.type = T_STRING | T_NULL, .values = N_ROLE,
			   .desc = "the only direction the capture holds; null: both"}},
	{"after_greeting", REQ, {.type = T_BOOLEAN, .desc = "the capture began after the greeting"}},
	{"ends_mid_session", REQ, {.type = T_BOOLEAN,
				   .desc = "the capture ended with the connection still open"}},
	END,
};

static const struct field capture_summary[] = {
	{"cut_by_snaplen", REQ, COUNT},
	{"one_side", REQ, COUNT},
	{"after_greeting", REQ, COUNT},
	{"ends_mid_session", REQ, COUNT},
	END,
};


static const struct field icmp[] = {
	{"type", REQ, COUNT},
	{"code", REQ, COUNT},
	{"from", REQ, STRING},
	END,
};

static const struct field dns_host[] = {
	{"preference", REQ, {.type = T_INTEGER | T_NULL, .min = "0", .max = "65535",
			     .desc = "of its MX record; null: not from an MX record (the implicit "
				     "MX, or a host given with --no-mx)"}},
	{"host", REQ, STRING},
	{"addresses", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_STRING},
			    .desc = "its A/AAAA records, in the order they are tried"}},
	END,
};

static const struct field dns[] = {
	{"query", REQ, {.type = T_STRING, .desc = "the name looked up"}},
	{"result", REQ, {.type = T_STRING,
			 .desc = "mx, implicit_mx, host, nxdomain, no_mail_host, no_address, "
				 "null_mx, servfail, timeout, malformed or no_resolver"}},
	{"explanation", REQ, {.type = T_STRING, .desc = "the result in plain words"}},
	{"mx", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_OBJECT,
								      .props = dns_host},
		     .desc = "the hosts in the order they are tried (lowest preference first)"}},
	END,
};

static const struct field probe_cert[] = {
	{"subject", REQ, {.type = T_STRING, .desc = "RFC 2253"}},
	{"issuer", REQ, {.type = T_STRING, .desc = "RFC 2253"}},
	{"not_after", REQ, {.type = T_STRING, .desc = "UTC"}},
	END,
};

static const struct field probe_tls[] = {
	{"host", REQ, {.type = T_STRING, .desc = "the name checked: the MX host (also the SNI)"}},
	{"result", REQ, {.type = T_STRING,
			 .desc = "ok, expired, not_yet_valid, self_signed, unknown_issuer, "
				 "name_mismatch, none (no certificate) or invalid (another error)"}},
	{"explanation", REQ, {.type = T_STRING, .desc = "the result in plain words"}},
	{"verify_code", REQ, {.type = T_INTEGER, .min = "0", .desc = "OpenSSL's X509_V_ code"}},
	{"required", REQ, {.type = T_BOOLEAN, .desc = "--verify: a bad certificate fails the probe"}},
	{"chain", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_OBJECT,
								       .props = probe_cert},
			.desc = "as the server sent it, its certificate first"}},
	END,
};

static const struct field session[] = {
	{"type", REQ, {.type = T_STRING, .cst = "session"}},
	{"id", REQ, {.type = T_INTEGER, .min = "1", .desc = "1, 2 ... in order of first packet"}},
	{"ts", REQ, TIME("first packet")},
	{"duration", REQ, SECONDS},
	{"end_ts", REQ, TIME("last packet")},
	{"client", REQ, {.type = T_OBJECT, .props = endpoint}},
	{"server", REQ, {.type = T_OBJECT, .props = endpoint, .desc = "the SMTP side"}},
	{"state", REQ, {.type = T_STRING, .values = N_STATE}},
	{"midstream", REQ, {.type = T_BOOLEAN, .desc = "the handshake was not seen"}},
	{"source", REQ, {.type = T_STRING, .values = N_SOURCE,
			 .desc = "capture: seen on the wire; probe: smtpscope --probe held it"}},
	{"dns", OPT, {.type = T_OBJECT | T_NULL, .props = dns,
		      .desc = "--probe: the DNS steps that chose the server; null: an address was "
			      "given"}},
	{"probe_notes", OPT, {.type = T_ARRAY, .items = &(const struct sch){.type = T_STRING},
			      .desc = "--probe: what the probe did or left out, in words"}},
	{"tls_verify", OPT, {.type = T_OBJECT | T_NULL, .props = probe_tls,
			     .desc = "--probe: the server's certificate as the probe's TLS client "
				     "verified it (trust store, expiry, name); null: no handshake"}},
	{"helo", REQ, STRING_OR_NULL},
	{"esmtp", REQ, BOOLEAN},
	{"extensions", REQ, STRINGS},
	{"starttls", REQ, {.type = T_BOOLEAN, .desc = "the server said 220 to STARTTLS"}},
	{"tls", REQ, {.type = T_OBJECT | T_NULL, .props = tls,
		      .desc = "the TLS handshake; null when no TLS began"}},
	{"auth", REQ, {.type = T_OBJECT | T_NULL, .props = auth}},
	{"commands", REQ, {.type = T_ARRAY, .items = &(const struct sch){
				   .type = T_OBJECT, .props = command}}},
	{"messages", REQ, {.type = T_ARRAY, .items = &(const struct sch){
				   .type = T_OBJECT, .props = message,
				   .desc = "one per MAIL transaction"}}},
	{"gaps", REQ, {.type = T_OBJECT, .props = gaps, .desc = "bytes never captured"}},
	{"unparsed", REQ, {.type = T_OBJECT, .props = gaps,
			   .desc = "bytes seen but not read: another protocol than SMTP or TLS"}},
	{"capture", REQ, {.type = T_OBJECT, .props = capture,
			  .desc = "what the capture could not see; outcomes resting on it are unknown"}},
	{"anomalies", REQ, {.type = T_ARRAY, .items = &(const struct sch){
				    .type = T_STRING, .values = N_ANOMALY}}},
	{"icmp_unreachable", OPT, {.type = T_OBJECT, .props = icmp}},
	{"verdict", REQ, {.type = T_STRING, .desc = "one plain-language line"}},
	{"outcome", REQ, {.type = T_STRING, .values = N_OUTCOME}},
	END,
};

static const struct field smtp_like[] = {
	{"port", REQ, {.type = T_INTEGER, .min = "1"}},
	{"packets", REQ, COUNT},
	END,
};

static const struct field keylog_summary[] = {
	{"lines", REQ, {.type = T_INTEGER, .min = "0", .desc = "key log lines read (not comments)"}},
	{"entries", REQ, {.type = T_INTEGER, .min = "0", .desc = "ClientHello randoms with keys"}},
	{"bad_lines", REQ, {.type = T_INTEGER, .min = "0",
			    .desc = "lines not in the NSS key log format, not used"}},
	{"ignored_lines", REQ, {.type = T_INTEGER, .min = "0",
				.desc = "known labels that protect no record (EXPORTER_SECRET, ...)"}},
	{"dropped", REQ, {.type = T_INTEGER, .min = "0",
			  .desc = "randoms past the cap of 100000, not kept"}},
	{"sessions_decrypted", REQ, COUNT},
	{"sessions_not_decrypted", REQ, {.type = T_INTEGER, .min = "0",
					 .desc = "TLS completed, but no keys, wrong keys or a cipher "
						 "not supported"}},
	{"failed_records", REQ, {.type = T_INTEGER, .min = "0",
				 .desc = "records that failed authentication, all sessions"}},
	END,
};

static const struct field extracted[] = {
	{"files", REQ, COUNT},
	{"partial", REQ, COUNT},
	{"skipped", REQ, {.type = T_INTEGER, .min = "0",
			  .desc = "messages not written: too many open at once, or "
				  "--limit extract-files reached"}},
	{"cut_bytes", REQ, {.type = T_INTEGER, .min = "0",
			    .desc = "message bytes not written once --limit extract-bytes was "
				    "reached (those messages are .partial)"}},
	END,
};

static const struct field summary[] = {
	{"type", REQ, {.type = T_STRING, .cst = "summary"}},
	{"packets", REQ, COUNT},
	{"bytes", REQ, COUNT},
	{"tcp_segments", REQ, COUNT},
	{"sessions", REQ, COUNT},
	{"failed_attempts", REQ, COUNT},
	{"refused", REQ, COUNT},
	{"no_answer", REQ, COUNT},
	{"messages", REQ, COUNT},
	{"messages_accepted", REQ, COUNT},
	{"commands", REQ, COUNT},
	{"replies", REQ, COUNT},
	{"gap_bytes", REQ, COUNT},
	{"evicted_flows", REQ, COUNT},
	{"timed_out_flows", REQ, COUNT},
	{"queue_overflows", REQ, COUNT},
	{"ignored_segments", REQ, COUNT},
	{"start_ts", OPT, TIME("the earliest packet of the capture; absent when none was read")},
	{"end_ts", OPT, TIME("the latest packet of the capture; absent when none was read")},
	{"skipped_packets", REQ, {.type = T_OBJECT, .counters = N_SKIPPED, .all_counters = true}},
	{"icmp_unreachable", REQ, COUNT},
	{"ip_reassembled", REQ, COUNT},
	{"ip_fragments_dropped", REQ, COUNT},
	{"overlap_conflicts", REQ, COUNT},
	{"ignored_resets", REQ, {.type = T_INTEGER, .min = "0",
				 .desc = "RSTs outside the receive window (RFC 5961 3), the flow kept"}},
	{"ignored_fins", REQ, {.type = T_INTEGER, .min = "0",
			       .desc = "FINs outside the receive window, the flow kept"}},
	{"explanations", REQ, {.type = T_OBJECT, .counters = N_MATCH, .all_counters = true}},
	{"pairs_inferred", REQ, {.type = T_INTEGER, .min = "0",
				 .desc = "replies whose command smtpscope chose (commands[].paired)"}},
	{"capture", REQ, {.type = T_OBJECT, .props = capture_summary,
			  .desc = "sessions the capture saw only in part"}},
	{"outcomes", REQ, {.type = T_OBJECT, .counters = N_OUTCOME_SEEN,
			   .desc = "sessions by outcome; outcomes not seen are left out"}},
	{"anomalies", REQ, {.type = T_OBJECT, .counters = N_ANOMALY,
			    .desc = "sessions by anomaly; anomalies not seen are left out"}},
	{"delivered_sessions", REQ, COUNT},
	{"truncated_input", REQ, BOOLEAN},
	{"unaudited_sessions", OPT, {.type = T_INTEGER, .min = "0",
				     .desc = "with --audit: sessions of hosts past its table's cap"}},
	{"audit_not_judged", OPT, {.type = T_ARRAY, .items = &(const struct sch){
					   .type = T_STRING, .values = N_FLAG},
				   .desc = "with --audit: flags not judged for want of --local-nets, "
					   "--local-domains or --audit-rdns"}},
	{"audit_rdns_not_looked_up", OPT, {.type = T_INTEGER, .min = "0",
					   .desc = "with --audit-rdns: clients shown not looked up "
						   "(at most 256 lookups, 30 seconds)"}},
	{"memory_refused", REQ, {.type = T_INTEGER, .min = "0",
				 .desc = "times the process's memory budget (--limit memory) refused a "
					 "queued segment, a fragment, a session record or a TLS message: "
					 "each became a gap, a dropped datagram, a memory_budget anomaly "
					 "or a cap hit"}},
	{"sessions_not_shown", REQ, {.type = T_INTEGER, .min = "0",
				     .desc = "-c N: sessions still open when it stopped the capture, "
					     "not written (they would have no verdict)"}},
	{"out_of_order", REQ, {.type = T_INTEGER, .min = "0",
			       .desc = "sessions written before one that began earlier (a file is "
				       "written in the order sessions began, within 8 MiB held)"}},
	{"smtp_like_ports", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_OBJECT,
										  .props = smtp_like},
				  .desc = "ports not analysed (not in -p) whose packets look like "
					  "SMTP: a 220 greeting from them, or HELO/EHLO to them; the "
					  "first 4"}},
	{"extracted", OPT, {.type = T_OBJECT, .props = extracted, .desc = "with --extract"}},
	{"tls_keylog", OPT, {.type = T_OBJECT, .props = keylog_summary, .desc = "with --tls-keylog"}},
	{"kernel_received", OPT, {.type = T_INTEGER, .min = "0", .desc = "live capture"}},
	{"kernel_dropped", OPT, {.type = T_INTEGER, .min = "0", .desc = "live capture"}},
	{"interface_dropped", OPT, {.type = T_INTEGER, .min = "0", .desc = "live capture"}},
	{"buffer_kib", OPT, {.type = T_INTEGER, .min = "0",
			     .desc = "live capture: the kernel buffer (-B), KiB"}},
	{"suggested_buffer_kib", OPT, {.type = T_INTEGER, .min = "0",
				       .desc = "live capture: after kernel drops, the -B that would "
					       "likely have held them; 0: no drop"}},
	{"interrupted", REQ, BOOLEAN},
	END,
};

static const struct field host_messages[] = {
	{"delivered", REQ, COUNT}, {"deferred", REQ, COUNT}, {"rejected", REQ, COUNT}, END,
};

static const struct field host_attempts[] = {
	{"refused", REQ, COUNT}, {"no_answer", REQ, COUNT}, {"no_greeting", REQ, COUNT}, END,
};

static const struct field host_tls_version[] = {
	{"version", REQ, {.type = T_STRING, .desc = "SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3, other"}},
	{"sessions", REQ, COUNT},
	END,
};

static const struct field host_tls[] = {
	{"used", REQ, COUNT}, {"offered_unused", REQ, COUNT},
	{"failed", REQ, {.type = T_INTEGER, .min = "0",
			 .desc = "TLS handshakes that failed or were abandoned"}},
	{"versions", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_OBJECT,
									 .props = host_tls_version},
			   .desc = "completed handshakes by version, versions not seen left out"}},
	{"ciphers", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_STRING},
			  .desc = "the first 4 distinct cipher suites negotiated (IANA names)"}},
	{"certificate_not_after", REQ, {.type = T_STRING | T_NULL,
					.desc = "servers: when the first-expiring certificate seen "
						"expires; null: none seen"}},
	END,
};

static const struct field host_auth[] = {
	{"used", REQ, COUNT}, {"cleartext", REQ, COUNT},
	{"failed", REQ, {.type = T_INTEGER, .min = "0", .desc = "sessions whose AUTH failed"}},
	{"failed_attempts", REQ, {.type = T_INTEGER, .min = "0",
				  .desc = "AUTH exchanges refused as failed logins (535), each "
					  "attempt counted"}},
	{"failed_users", REQ, {.type = T_INTEGER, .min = "0", .max = "8",
			       .desc = "distinct user names of the sessions whose AUTH failed, "
				       "at most 8 counted"}},
	{"failed_users_capped", REQ, {.type = T_BOOLEAN, .desc = "true: more than 8"}},
	END,
};

static const struct field host_bytes[] = {
	{"sent", REQ, COUNT}, {"received", REQ, COUNT}, END,
};

static const struct field host_peer[] = {
	{"ip", REQ, STRING}, {"sessions", REQ, COUNT},
	{"bytes", REQ, {.type = T_INTEGER, .min = "0", .desc = "both ways, in their sessions"}},
	END,
};

static const struct field finding[] = {
	{"id", REQ, {.type = T_STRING, .values = N_FLAG}},
	{"count", REQ, {.type = T_INTEGER, .min = "1",
			.desc = "what the flag counts: attempts, recipients, sessions or hosts"}},
	{"says", REQ, {.type = T_STRING, .desc = "the flag in a few words (as in flags)"}},
	{"next", REQ, {.type = T_STRING, .desc = "what to check or do next"}},
	END,
};

static const struct field failure[] = {
	{"reply", REQ, STRING}, {"count", REQ, COUNT}, END,
};

static const struct field host[] = {
	{"type", REQ, {.type = T_STRING, .cst = "host"}},
	{"ip", REQ, STRING},
	{"role", REQ, {.type = T_STRING, .values = N_ROLE}},
	{"zone", REQ, {.type = T_STRING | T_NULL, .values = N_ZONE,
		       .desc = "in --local-nets or not; null without --local-nets"}},
	{"sessions", REQ, COUNT},
	{"peers", REQ, COUNT},
	{"peers_capped", REQ, BOOLEAN},
	{"messages", REQ, {.type = T_OBJECT, .props = host_messages}},
	{"attempts", REQ, {.type = T_OBJECT, .props = host_attempts}},
	{"tls", REQ, {.type = T_OBJECT, .props = host_tls}},
	{"auth", REQ, {.type = T_OBJECT, .props = host_auth}},
	{"ehlo_names", OPT, {.type = T_ARRAY, .items = &(const struct sch)STRING,
			     .desc = "clients: the names they gave"}},
	{"banners", OPT, {.type = T_ARRAY, .items = &(const struct sch)STRING,
			  .desc = "servers: the first line of their first 220 greeting (never a "
				  "greeting that refused the session); a value cut at 63 bytes ends "
				  "in \"…\", here and in the other lists of names"}},
	{"reject_greeting", OPT, {.type = T_STRING | T_NULL,
				  .desc = "servers: the code and first line of their first "
					  "greeting that refused the session (554, 421); null: none"}},
	{"top_failures", REQ, {.type = T_ARRAY, .items = &(const struct sch){
				       .type = T_OBJECT, .props = failure},
			       .desc = "the most frequent replies of 400 or more (at most 8), most "
				       "frequent first, knock-on replies left out"}},
	{"other_failures", REQ, {.type = T_INTEGER, .min = "0",
				 .desc = "failures past the top ones, counted"}},
	{"knock_on", REQ, {.type = T_INTEGER, .min = "0",
			   .desc = "refusals that only follow from an earlier one, not failures: a "
				   "503 after a refusal in the session, RCPT or DATA after MAIL was "
				   "refused, DATA when no RCPT was accepted"}},
	{"ports", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_INTEGER,
								     .min = "0", .max = "65535"},
			.desc = "the server ports of its sessions (a server: the ports it answered "
				"on; a client: the ports it connected to), at most 8, as first seen"}},
	{"ports_capped", REQ, {.type = T_BOOLEAN, .desc = "true: more ports than ports lists"}},
	{"first_seen", REQ, TIME(NULL)},
	{"last_seen", REQ, TIME(NULL)},
	{"bytes", REQ, {.type = T_OBJECT, .props = host_bytes,
			.desc = "TCP payload bytes the host sent and received in its sessions"}},
	{"top_peers", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_OBJECT,
									  .props = host_peer},
			    .desc = "its busiest peers (at most 8), by sessions then bytes"}},
	{"rdns", OPT, {.type = T_STRING | T_NULL,
		       .desc = "--audit-rdns, clients: the PTR name; null: none"}},
	{"flags", REQ, STRINGS},
	{"findings", REQ, {.type = T_ARRAY, .items = &(const struct sch){.type = T_OBJECT,
									 .props = finding},
			   .desc = "the flags with their ids, counts and what to check next"}},
	END,
};

static const struct field probe[] = {
	{"type", REQ, {.type = T_STRING, .cst = "probe"}},
	{"target", REQ, {.type = T_STRING, .desc = "the domain, host or address probed"}},
	{"dns", REQ, {.type = T_OBJECT | T_NULL, .props = dns,
		      .desc = "null: an address was given, no DNS step"}},
	{"sessions", REQ, {.type = T_INTEGER, .min = "0", .desc = "connections tried"}},
	{"result", REQ, {.type = T_STRING, .values = N_PROBE_RESULT,
			 .desc = "would the server take the mail: accepted, refused (for good), "
				 "deferred (for now), unreachable"}},
	{"exit_status", REQ, {.type = T_INTEGER, .min = "0", .max = "5",
			      .desc = "0 accepted, 3 refused, 4 unreachable, 5 deferred"}},
	{"verdict", REQ, {.type = T_STRING, .desc = "one plain-language line"}},
	END,
};

static const struct sch records[] = {
	{.type = T_OBJECT, .props = session, .desc = "one per TCP connection to an SMTP port"},
	{.type = T_OBJECT, .props = summary, .desc = "last: the totals of the run"},
	{.type = T_OBJECT, .props = host, .desc = "--audit: one per host, before the summary"},
	{.type = T_OBJECT, .props = probe, .desc = "--probe: last, how the probe ended"},
};

/* Where the members of an object go: one per line (wide) or all on one. */
struct out {
	FILE *f;
	int depth;
	bool first, wide;
};

static void
newline(FILE *f, int depth)
{
	fprintf(f, "\n%*s", 2 * depth, "");
}

static void
member(struct out *o, const char *k)
{
	if (!o->first)
		putc(',', o->f);
	if (o->wide)
		newline(o->f, o->depth + 1);
	else if (!o->first)
		putc(' ', o->f);
	o->first = false;
	rpt_json_string(o->f, k);
	fputs(": ", o->f);
}

static void
types(FILE *f, unsigned type)
{
	bool list = type & (type - 1), first = true;

	if (list)
		putc('[', f);
	for (unsigned i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (!(type & 1u << i))
			continue;
		fprintf(f, "%s\"%s\"", first ? "" : ", ", type_names[i]);
		first = false;
	}
	if (list)
		putc(']', f);
}

static void
name_list(FILE *f, enum names n, bool null)
{
	putc('[', f);
	for (int i = name_lists[n].first; i < name_lists[n].end; i++) {
		if (i > name_lists[n].first)
			fputs(", ", f);
		rpt_json_string(f, name_lists[n].name(i));
	}
	fputs(null ? ", null]" : "]", f);
}

static bool
wide(const struct sch *s)
{
	return s->props || s->counters || (s->items && wide(s->items));
}

static void node(FILE *f, const struct sch *s, int depth);

static void
properties(struct out *o, const struct sch *s)
{
	static const struct sch counter = COUNT;
	struct out p = {o->f, o->depth + 1, true, true};
	const struct field *fl;

	member(o, "properties");
	putc('{', o->f);
	for (fl = s->props; fl && fl->name; fl++) {
		member(&p, fl->name);
		node(o->f, &fl->s, p.depth + 1);
	}
	for (int i = name_lists[s->counters].first; s->counters && i < name_lists[s->counters].end;
	     i++) {
		member(&p, name_lists[s->counters].name(i));
		node(o->f, &counter, p.depth + 1);
	}
	newline(o->f, p.depth);
	putc('}', o->f);
}

static void
required(struct out *o, const struct sch *s)
{
	bool first = true;

	member(o, "required");
	putc('[', o->f);
	for (const struct field *fl = s->props; fl && fl->name; fl++) {
		if (!fl->required)
			continue;
		fputs(first ? "" : ", ", o->f);
		rpt_json_string(o->f, fl->name);
		first = false;
	}
	for (int i = name_lists[s->counters].first;
	     s->counters && s->all_counters && i < name_lists[s->counters].end; i++) {
		fputs(first ? "" : ", ", o->f);
		rpt_json_string(o->f, name_lists[s->counters].name(i));
		first = false;
	}
	putc(']', o->f);
}

/* One schema object; depth is the indentation of the line it starts on. */
static void
node(FILE *f, const struct sch *s, int depth)
{
	struct out o = {f, depth, true, wide(s)};

	putc('{', f);
	if (s->desc) {
		member(&o, "description");
		rpt_json_string(f, s->desc);
	}
	member(&o, "type");
	types(f, s->type);
	if (s->cst) {
		member(&o, "const");
		rpt_json_string(f, s->cst);
	}
	if (s->values) {
		member(&o, "enum");
		name_list(f, s->values, s->type & T_NULL);
	}
	if (s->format) {
		member(&o, "format");
		rpt_json_string(f, s->format);
	}
	if (s->min) {
		member(&o, "minimum");
		fputs(s->min, f);
	}
	if (s->max) {
		member(&o, "maximum");
		fputs(s->max, f);
	}
	if (s->props || s->counters) {
		properties(&o, s);
		required(&o, s);
		member(&o, "additionalProperties");
		fputs("false", f);
	}
	if (s->items) {
		member(&o, "items");
		node(f, s->items, depth + 1);
	}
	if (o.wide)
		newline(f, depth);
	putc('}', f);
}

void
rpt_print_schema(FILE *f)
{
	struct out o = {f, 0, true, true};

	putc('{', f);
	member(&o, "$schema");
	fputs("\"https://json-schema.org/draft/2020-12/schema\"", f);
	member(&o, "title");
	fputs("\"smtpscope -o json record\"", f);
	member(&o, "description");
	fputs("\"One JSON object per line: a session per TCP connection to an SMTP port, "
	      "host records with --audit, then a summary (see DESIGN.md, Output contract).\"", f);
	member(&o, "oneOf");
	putc('[', f);
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		fputs(i ? "," : "", f);
		newline(f, 2);
		node(f, &records[i], 2);
	}
	newline(f, 1);
	fputs("]\n}\n", f);
}
