/*
 * extract.c - every message seen, written as a .eml file (--extract DIR).
 *
 * The decoder hands over each message's bytes as they are read (struct
 * smtp_sink): headers and body as sent, dot-stuffing removed, BDAT chunks
 * joined. A file is named by session and transaction; a message that did not
 * arrive whole (a gap, a cut connection) ends up as NAME.eml.partial. Files
 * are created exclusively, never overwritten: a name already taken gets a
 * numbered suffix. When a session ends, its messages are listed in
 * index.jsonl with what the session says of them. Open files are capped, and
 * so are the files and bytes written in all (--limit extract-files,
 * extract-bytes): what is not written is counted.
 *
 * Files are created through the directory's descriptor (capture/output.c):
 * mode 0600, never through a symbolic link, and as root only in a directory
 * others cannot write to. A directory that does not exist yet is created,
 * mode 0700, in a parent that does. A write that fails (a full disk) is
 * remembered, for the run to end with it.
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

struct written {
	struct written *next;
	uint64_t session;
	int msg;
	bool whole;
	char name[128];
};

struct rpt_extract {
	int dfd;
	FILE *index;
	unsigned open;
	struct rpt_extract_limits lim;
	uint64_t files, partial, skipped, bytes, cut_bytes;
	int error; /* errno of the first write that failed */
	struct written *done; /* written, not yet in the index */
	struct smtp_sink sink;
};

struct handle {
	struct rpt_extract *x;
	FILE *f;
	bool cut; /* bytes went unwritten: the bytes cap was reached */
	char name[128];
};

/* The first write that failed is the one told; 0 is none. */
static void
write_failed(struct rpt_extract *x, int e)
{
	if (!x->error)
		x->error = e;
}

/* Close f: 0, or the errno of what it could not write. */
static int
close_checked(FILE *f)
{
	int e = 0;

	errno = 0;
	if (fflush(f) != 0 || ferror(f))
		e = errno ? errno : EIO;
	if (fclose(f) != 0 && !e)
		e = errno ? errno : EIO;
	return e;
}

/* Create base (or base-2, base-3 ...) in the directory, new; the name chosen goes to out. */
static FILE *
create_new(int dfd, const char *base, const char *ext, char *out, size_t outsz)
{
	char err[CAP_ERRLEN];

	for (int i = 1; i < 1000; i++) {
		int fd;

		if (i == 1)
			snprintf(out, outsz, "%s%s", base, ext);
		else
			snprintf(out, outsz, "%s-%d%s", base, i, ext);
		fd = cap_output_create(dfd, out, false, err);
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

	if (x->open >= MAX_OPEN || x->files + x->open >= x->lim.files || x->bytes >= x->lim.bytes ||
	    !(h = calloc(1, sizeof(*h)))) {
		x->skipped++;
		return NULL;
	}
	snprintf(base, sizeof(base), "session-%" PRIu64 "-msg-%d", s->id, msg + 1);
	h->x = x;
	h->f = create_new(x->dfd, base, ".eml", h->name, sizeof(h->name));
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
	struct rpt_extract *x = h->x;
	size_t room = x->bytes < x->lim.bytes ? (size_t)(x->lim.bytes - x->bytes) : 0;

	if (n > room) { /* the rest of this message, and of any other, is not written */
		x->cut_bytes += n - room;
		h->cut = true;
		n = room;
	}
	x->bytes += n;
	if (fwrite(p, 1, n, h->f) != n)
		write_failed(x, errno ? errno : EIO);
}

/* A message not whole becomes NAME.eml.partial: link() refuses to overwrite, rename() would not. */
static void
mark_partial(struct rpt_extract *x, char *name, size_t namesz)
{
	char newname[160];

	if (snprintf(newname, sizeof(newname), "%s.partial", name) >= (int)sizeof(newname))
		return;
	if (strlen(newname) < namesz && linkat(x->dfd, name, x->dfd, newname, 0) == 0 &&
	    unlinkat(x->dfd, name, 0) == 0)
		memcpy(name, newname, strlen(newname) + 1);
}

static void
sink_close(void *arg, void *handle, const struct smtp_session *s, int msg, bool whole)
{
	struct rpt_extract *x = arg;
	struct handle *h = handle;
	struct written *w = calloc(1, sizeof(*w));

	write_failed(x, close_checked(h->f));
	x->open--;
	x->files++;
	whole = whole && !h->cut;
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

struct rpt_extract_limits
rpt_extract_default_limits(void)
{
	return (struct rpt_extract_limits){.files = 100000, .bytes = 1ull << 30};
}

/*
 * The directory, created mode 0700 when it does not exist (its parent must).
 * mkdir() never follows a symbolic link, and cap_output_dir() refuses one; a
 * directory just created must still be ours once opened (not swapped).
 */
static int
open_dir(const char *dir, char *err, size_t errsz)
{
	char why[CAP_ERRLEN];
	bool created = mkdir(dir, 0700) == 0;
	struct stat st;
	int dfd;

	if (!created && errno != EEXIST) {
		snprintf(err, errsz, "%s: cannot create the directory: %s (--extract)", dir,
			 strerror(errno));
		return -1;
	}
	if ((dfd = cap_output_dir(dir, true, why)) < 0) {
		snprintf(err, errsz, "%s (--extract)", why);
		return -1;
	}
	if (faccessat(dfd, ".", W_OK | X_OK, 0) < 0 ||
	    (created && (fstat(dfd, &st) < 0 || st.st_uid != geteuid()))) {
		snprintf(err, errsz, "%s: not a directory smtpscope may write to (--extract)", dir);
		close(dfd);
		return -1;
	}
	return dfd;
}

int
rpt_extract_open(struct rpt_extract **out, const char *dir, const struct rpt_extract_limits *lim,
		 char *err, size_t errsz)
{
	struct rpt_extract *x;
	char name[64];
	int dfd;

	*out = NULL;
	if ((dfd = open_dir(dir, err, errsz)) < 0)
		return -1;
	if (!(x = calloc(1, sizeof(*x)))) {
		close(dfd);
		snprintf(err, errsz, "%s: out of memory (--extract)", dir);
		return -1;
	}
	x->dfd = dfd;
	x->lim = lim ? *lim : rpt_extract_default_limits();
	x->index = create_new(dfd, "index", ".jsonl", name, sizeof(name));
	if (!x->index) {
		snprintf(err, errsz, "%s: cannot create the index: %s", dir, strerror(errno));
		close(dfd);
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
	errno = 0;
	if (fflush(x->index) != 0 || ferror(x->index))
		write_failed(x, errno ? errno : EIO);
}

int
rpt_extract_error(const struct rpt_extract *x)
{
	return x ? x->error : 0;
}

void
rpt_extract_counts(const struct rpt_extract *x, uint64_t *files, uint64_t *partial,
		   uint64_t *skipped, uint64_t *cut_bytes)
{
	*files = x ? x->files : 0;
	*partial = x ? x->partial : 0;
	*skipped = x ? x->skipped : 0;
	*cut_bytes = x ? x->cut_bytes : 0;
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
	close(x->dfd);
	free(x);
}
