/*
 * session.h - the decoder's per-session state (private to decode/).
 *
 * session.c owns the life of a session (open, gaps, close, verdict),
 * client.c reads what the client sends, server.c reads the replies, pair.c
 * says which waiting command each answers, starttls.c follows the TLS
 * handshake through tls/.
 */
#ifndef SMTPSCOPE_DECODE_SESSION_H
#define SMTPSCOPE_DECODE_SESSION_H

#include "arena.h"
#include "body.h"
#include "line.h"
#include "smtp.h"

/*
 * A command waiting for its reply: which verb, its entry (-1 if not
 * recorded), and its transaction (-1 if none), so that the reply moves the
 * session on even when the entry could not be recorded.
 */
struct pending {
	uint8_t verb;
	int32_t idx;
	int32_t msg;
};

/* A whole reply as read, before (or without) the command it answers. */
struct reply_seen {
	int code;
	uint32_t lines;
	const char *text; /* in the session's arena */
	size_t len;
	uint64_t ts;
	char enhanced[12]; /* parsed once: pair.c and the entry both need it */
};

#define EARLY_MAX 4 /* replies kept for a command not seen yet */

enum client_mode {
	CM_COMMAND, /* lines are commands (or AUTH answers) */
	CM_BODY,    /* DATA: message until the lone "." */
	CM_CHUNK,   /* BDAT: a counted number of bytes */
	CM_TLS,     /* encrypted: the bytes go to tls/ (starttls.c) */
	CM_NOT_SMTP, /* another protocol: the client's bytes are counted, not read */
};

/* An HTTP CONNECT proxy in front of the SMTP server (the preamble is skipped). */
enum proxy_state { PROXY_NONE, PROXY_REQUEST, PROXY_SENT, PROXY_RESPONSE, PROXY_DONE };

struct smtp_priv {
	/* 8-byte members first, then 4, then 1: a session is kept per open flow */
	struct smtp_decoder *dec;
	struct arena arena;
	struct linebuf cline, sline;
	struct body body;
	uint64_t chunk_left;
	/* commands awaiting replies: a ring that grows up to max_pending */
	struct pending *pend;
	size_t pend_head, pend_n, pend_cap;
	/* client bytes held while a reply decides what they are */
	uint8_t *hold;
	size_t hold_len, hold_cap;
	/* the reply being gathered */
	struct linebuf rtext;
	uint64_t reply_seen_ts; /* when the server's last bytes before these came */
	const char *helo_sent;
	size_t cap_cmds, cap_msgs;
	size_t arrays_held; /* what its arrays take, drawn from the process's budget (capture.h) */
	uint64_t ts;	      /* capture time of the event being handled */
	struct tls_conn *tls; /* starttls.c, once TLS began */
	/* pair.c: replies that came before any command they can answer (capture order) */
	struct reply_seen *early; /* room for EARLY_MAX, allocated when first needed */

	enum client_mode mode;
	int cur_msg;  /* the open transaction, or -1 */
	int cur_cmd;  /* the command entry being read, or -1 */
	int turn_msg;
	int body_msg; /* the transaction whose body is being read, or -1 */
	int reply_code;
	uint32_t reply_lines;
	uint32_t reply_cut_cmds; /* command entries when a gap fell inside the reply */
	/* pair.c: what gaps may have hidden */
	uint32_t loss_max;      /* replies lost in server gaps beyond the ones settled */
	uint32_t client_unsure; /* commands lost in client gaps whose replies may still come */
	int unsure_from;	/* the first command entry after the last client gap */
	enum proxy_state proxy;
	int proxy_status; /* the proxy's HTTP status code */

	bool chunk_last;
	uint8_t turn_verb;  /* the command the client is waiting on (when blocked) */
	bool body_gap;	    /* bytes of that body were lost */
	bool body_assumed;  /* it began without a 354 seen: the client went on regardless */
	bool blocked;	    /* the client waits for a reply: its bytes are held */
	bool in_reply;
	bool reply_cut;	    /* a gap fell inside the reply being gathered */
	bool skip_line[2];  /* after a gap: drop the rest of the cut line, by enum rsm_dir */
	bool cut_counted;   /* the client line cut by that gap already has its "?" entry */
	bool greeted;
	bool any_reply;
	bool tls_check;	     /* after 220 to STARTTLS: is the next thing TLS? */
	bool tls_on;	     /* the bytes on the wire are TLS: they go to tls/ first */
	bool tls_plain;      /* tls/ has handed on decrypted SMTP (starttls.c) */
	bool tls_lost;	     /* ... and then a record it could not decrypt */
	uint8_t in_plain;    /* decrypted bytes are being read: not TLS again */
	bool auth_expect;    /* the next client line answers a 334 */
	bool auth_assumed;   /* ... only because the 334 was not seen */
	uint8_t auth_lines;  /* answers sent in the current AUTH exchange */
	uint8_t auth_initial; /* 1: the AUTH command carried the first answer */
	bool client_gapped;   /* commands may have been lost */
	bool gap_pending;     /* a server gap since the last reply */
	bool gap_first_cont;  /* ... and the reply after it began in it (a "ddd-" line first) */
	bool gap_since_pair;  /* a server gap since a reply last paired with a command */
	bool drift;	      /* pairs rest on an earlier choice among several places */
	bool orphan_354;      /* a 354 came for a DATA not seen (yet) */
	bool client_spoke;    /* a client line was read */
	uint8_t n_early;
};

struct explain_memo;

struct smtp_decoder {
	struct smtp_config cfg;
	smtp_session_fn *done;
	void *arg;
	struct smtp_stats stats;
	struct explain_memo *memo; /* explain.c: recent replies and their explanations */
};

/* session.c */
/* Does the client wait for this command's reply before it goes on (DATA, AUTH, STARTTLS)? */
bool session_verb_turns(enum smtp_verb v);
void session_flag(struct smtp_session *s, enum smtp_anomaly a);
/* len bytes of dir's SMTP were lost (a gap, or TLS records not decrypted): flagged why. */
void session_lose(struct smtp_session *s, enum smtp_anomaly why, enum rsm_dir dir, size_t len);
/* Room for one more item in a growing array, within max items (doubling from 2). */
/*
 * Room for one more item of `size` bytes, within max items and the shared
 * budget: 1, or 0 past max, or -1 when the budget or malloc refused (flagged
 * memory_budget or memory_cap here).
 */
int session_grow(struct smtp_session *s, void **arr, size_t *cap, size_t have, size_t size,
		 size_t max);
int session_add_command(struct smtp_session *s, enum smtp_verb v, const char *name, size_t nlen,
			const char *arg, size_t alen);
int session_new_message(struct smtp_session *s);
void session_push_pending(struct smtp_session *s, enum smtp_verb v, int idx);
bool session_pop_pending(struct smtp_session *s, struct pending *out);
/* The arena refused a copy: flagged memory_budget or memory_cap, as it was. */
void session_memory_refused(struct smtp_session *s);
const char *session_strdup(struct smtp_session *s, const char *p, size_t n);
/* Text from the wire: NUL kept, as arena_wiredup() stores it. */
const char *session_wiredup(struct smtp_session *s, const char *p, size_t n);

/* client.c */
void client_gap(struct smtp_session *s, size_t len);
void client_end_body(struct smtp_session *s);
void client_abort_body(struct smtp_session *s);
void client_data(struct smtp_session *s, const uint8_t *p, size_t n);
void client_release(struct smtp_session *s, bool forced);
void client_open_body(struct smtp_session *s, int msg);

/* pair.c */
bool pair_reply(struct smtp_session *s, int code, const char *enhanced, enum smtp_pairing *how,
		struct pending *out);
bool pair_early(struct smtp_session *s, int code, struct pending *out);
struct pending pair_stray(struct smtp_session *s);
void pair_server_gap(struct smtp_session *s, size_t len);
void pair_server_gap_more(struct smtp_session *s, size_t len);
void pair_client_gap(struct smtp_session *s, size_t len);

/* starttls.c */
bool starttls_begin(struct smtp_session *s);
void starttls_feed(struct smtp_session *s, enum rsm_dir dir, const uint8_t *data, size_t n);
void starttls_gap(struct smtp_session *s, enum rsm_dir dir, size_t len);
void starttls_settle(struct smtp_session *s, const struct rsm_conn *c);

/* server.c */
void server_data(struct smtp_session *s, const uint8_t *p, size_t n);
void server_gap(struct smtp_session *s, size_t len);
/* A command v is about to be recorded: early replies it cannot get had none (in order). */
void server_early_strays(struct smtp_session *s, enum smtp_verb v);
/* A command was read: replies that came before it may be its own (early). */
void server_take_early(struct smtp_session *s);
/* The end: replies still waiting for their command had none. */
void server_flush_early(struct smtp_session *s);

/* explain.c */
const char *explain_silence(const struct smtp_session *s, const struct smtp_command *c);
void explain_verdict(struct smtp_session *s, char *buf, size_t bufsz);
/*
 * The shared explanation of one reply (kept for the process's life). Replies
 * repeat ("250 2.1.0 Ok" all day long): the decoder remembers recent ones.
 */
const char *explain_reply(struct smtp_decoder *d, enum smtp_verb verb, int code,
			  const char *enhanced, const char *text, size_t len, struct smtp_finding *f);
void explain_memo_free(struct smtp_decoder *d);
/* Notes that depend on the session (an earlier failure it follows from, a slow reply), into buf. */
bool explain_context(const struct smtp_session *s, const struct smtp_command *c, char *buf,
		     size_t bufsz);

#endif
