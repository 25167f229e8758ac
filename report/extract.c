/*
 * extract.c - every message seen, written as a .eml file (--extract DIR).
 *
 * The decoder hands over each message's bytes as they are read (struct
 * smtp_sink): headers and body as sent, dot-stuffing removed, BDAT chunks
 * joined. A file is named by session and transaction; a message that did not
 * arrive whole (a gap, a cut connection) ends up as NAME.eml.partial. Files
 * are created exclusively, never overwritten: a name already taken gets a
 * numbered suffix. When a session ends, its messages are listed in
 * index.jsonl with what the session says of them. Open files are capped.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_private.h"

#define MAX_OPEN 256
#define PATH_LEN 4096

struct written {
	struct written *next;
	uint64_t session;
	int msg;
	bool whole;
	char name[128];
};

struct rpt_extract {
	char dir[PATH_LEN];
	FILE *index;
	unsigned open;
	uint64_t files, partial, skipped;
	struct written *done; /* written, not yet in the index */
	struct smtp_sink sink;
};

struct handle {
	FILE *f;
	char name[128];
};

/* Create DIR/base (or base-2, base-3 ...) that did not exist; the name chosen goes to out. */
static FILE *
create_new(const char *dir, const char *base, const char *ext, char *out, size_t outsz)
{
	char path[PATH_LEN];

	for (int i = 1; i < 1000; i++) {
		int fd;

		if (i == 1)
			snprintf(out, outsz, "%s%s", base, ext);
		else
			snprintf(out, outsz, "%s-%d%s", base, i, ext);
		if (snprintf(path, sizeof(path), "%s/%s", dir, out) >= (int)sizeof(path))
			return NULL;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0)
			return fdopen(fd, "wb");
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}

static void *
sink_open(void *arg, const struct smtp_session *s, int msg)
{
	struct rpt_extract *x = arg;
	struct handle *h;
	char base[96];

	if (x->open >= MAX_OPEN || !(h = calloc(1, sizeof(*h)))) {
		x->skipped++;
		return NULL;
	}
	snprintf(base, sizeof(base), "session-%" PRIu64 "-msg-%d", s->id, msg + 1);
	h->f = create_new(x->dir, base, ".eml", h->name, sizeof(h->name));
	if (!h->f) {
		free(h);
		x->skipped++;
		return NULL;
	}
	x->open++;
	return h;
}

static void
sink_write(void *handle, const uint8_t *p, size_t n)
{
	struct handle *h = handle;

	fwrite(p, 1, n, h->f);
}

/* A message not whole becomes NAME.eml.partial: link() refuses to overwrite, rename() would not. */
static void
mark_partial(struct rpt_extract *x, char *name, size_t namesz)
{
	char from[PATH_LEN + 160], to[PATH_LEN + 160], newname[160];

	/* x->dir is shorter than PATH_LEN - 200 (checked at open), names are short */
	if (snprintf(newname, sizeof(newname), "%s.partial", name) >= (int)sizeof(newname) ||
	    snprintf(from, sizeof(from), "%s/%s", x->dir, name) >= (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s/%s", x->dir, newname) >= (int)sizeof(to))
		return;
	if (strlen(newname) < namesz && link(from, to) == 0 && unlink(from) == 0)
		memcpy(name, newname, strlen(newname) + 1);
}

static void
sink_close(void *arg, void *handle, const struct smtp_session *s, int msg, bool whole)
{
	struct rpt_extract *x = arg;
	struct handle *h = handle;
	struct written *w = calloc(1, sizeof(*w));

	fclose(h->f);
	x->open--;
	x->files++;
	if (!whole) {
		x->partial++;
		mark_partial(x, h->name, sizeof(h->name));
	}
	if (w) {
		w->session = s->id;
		w->msg = msg;
		w->whole = whole;
		snprintf(w->name, sizeof(w->name), "%s", h->name);
		w->next = x->done;
		x->done = w;
	}
	free(h);
}

int
rpt_extract_open(struct rpt_extract **out, const char *dir, char *err, size_t errsz)
{
	struct rpt_extract *x;
	struct stat st;
	char name[64];

	*out = NULL;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) < 0) {
		snprintf(err, errsz, "%s: not a writable directory (--extract)", dir);
		return -1;
	}
	if (!(x = calloc(1, sizeof(*x))) || strlen(dir) >= sizeof(x->dir) - 200) {
		free(x);
		snprintf(err, errsz, "%s: path too long (--extract)", dir);
		return -1;
	}
	snprintf(x->dir, sizeof(x->dir), "%s", dir);
	x->index = create_new(dir, "index", ".jsonl", name, sizeof(name));
	if (!x->index) {
		snprintf(err, errsz, "%s: cannot create the index: %s", dir, strerror(errno));
		free(x);
		return -1;
	}
	x->sink = (struct smtp_sink){sink_open, sink_write, sink_close, x};
	*out = x;
	return 0;
}

const struct smtp_sink *
rpt_extract_sink(struct rpt_extract *x)
{
	return &x->sink;
}

static void
index_line(struct rpt_extract *x, const struct smtp_session *s, const struct written *w)
{
	const struct smtp_message *m = &s->msgs[w->msg];
	FILE *f = x->index;

	fprintf(f, "{\"file\":");
	rpt_json_string(f, w->name);
	fprintf(f, ",\"session\":%" PRIu64 ",\"message\":%d,\"complete\":%s,\"size\":", s->id,
		w->msg + 1, w->whole ? "true" : "false");
	if (m->size >= 0)
		fprintf(f, "%" PRId64, m->size);
	else
		fputs("null", f);
	fputs(",\"mail_from\":", f);
	rpt_json_string(f, m->mail_from);
	fputs(",\"rcpt_to\":[", f);
	for (size_t i = 0, n = 0; i < m->n_rcpt; i++) {
		if (SMTP_RCPT_REFUSED(m->rcpt[i].status))
			continue;
		if (n++)
			putc(',', f);
		rpt_json_string(f, m->rcpt[i].addr ? m->rcpt[i].addr : "");
	}
	fputs("],\"subject\":", f);
	rpt_json_string(f, m->subject);
	fputs(",\"message_id\":", f);
	rpt_json_string(f, m->message_id);
	fprintf(f, ",\"outcome\":\"%s\"}\n", smtp_outcome_name(m->outcome));
}

/* The session is over: its messages go into the index, in order. */
void
rpt_extract_session(struct rpt_extract *x, const struct smtp_session *s)
{
	struct written **pp = &x->done, *mine = NULL;

	while (*pp) { /* take this session's entries out, reversing them back to order */
		struct written *w = *pp;

		if (w->session == s->id) {
			*pp = w->next;
			w->next = mine;
			mine = w;
		} else {
			pp = &w->next;
		}
	}
	while (mine) {
		struct written *w = mine;

		mine = w->next;
		if (w->msg < (int)s->n_msgs)
			index_line(x, s, w);
		free(w);
	}
	fflush(x->index);
}

void
rpt_extract_counts(const struct rpt_extract *x, uint64_t *files, uint64_t *partial,
		   uint64_t *skipped)
{
	*files = x ? x->files : 0;
	*partial = x ? x->partial : 0;
	*skipped = x ? x->skipped : 0;
}

void
rpt_extract_close(struct rpt_extract *x)
{
	if (!x)
		return;
	while (x->done) {
		struct written *w = x->done;

		x->done = w->next;
		free(w);
	}
	fclose(x->index);
	free(x);
}
