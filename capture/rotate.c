/*
 * rotate.c - the files a service keeps writing: -w with tcpdump's rotation
 * (-C size, -G seconds, -W count), and both -w and --output begun again on
 * SIGHUP once logrotate has moved them away.
 *
 * Names follow tcpdump's MakeFilename(): with -G the name given is a strftime(3)
 * pattern, expanded in local time at the start of each interval; with -C a
 * file number is appended from the second file on (FILE, FILE1, FILE2 ...),
 * or, with -W, from the first and as wide as the largest (FILE0 ... FILE9),
 * the numbers going round. -C is checked before each packet, as tcpdump does,
 * so a file ends past the size by at most one packet; -G is checked against
 * the wall clock before each packet (no packet, no new file).
 *
 * A reopen or rotation that fails keeps writing into the file it had: no
 * packet is lost for a full directory or a bad name, and the failure is said
 * once (cap_write_news) and makes the run's status 1 (cap_write_done).
 */
#include "capture.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source.h"

/* Decimal digits of n (0 for 0), tcpdump's getWflagChars(count) is digits(count - 1). */
static int
digits(unsigned n)
{
	int d = 0;

	for (; n; n /= 10)
		d++;
	return d;
}

/* The name of the file to write now, into buf; -1 and err when it cannot be made. */
static int
file_name(const struct cap_source *src, char *buf, size_t n, char err[CAP_ERRLEN])
{
	char base[sizeof(src->dump_path)];
	int width = src->rot.size && src->rot.count ? digits(src->rot.count - 1) : 0;
	int w;

	if (src->rot.seconds) {
		struct tm tm;
		time_t t = src->interval_start;

		/* strftime gives 0 for an empty result too: a pattern of only "%p" in some locales */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* the user's pattern, as tcpdump's -G */
		size_t len = localtime_r(&t, &tm) ? strftime(base, sizeof(base), src->dump_name, &tm) : 0;
#pragma GCC diagnostic pop

		if (len == 0) {
			snprintf(err, CAP_ERRLEN, "%.300s: the -G name is empty or too long once expanded",
				 src->dump_name);
			return -1;
		}
	} else if (snprintf(base, sizeof(base), "%s", src->dump_name) >= (int)sizeof(base)) {
		snprintf(err, CAP_ERRLEN, "%.300s: file name too long", src->dump_name);
		return -1;
	}
	if (src->file_no == 0 && width == 0)
		w = snprintf(buf, n, "%s", base);
	else
		w = snprintf(buf, n, "%s%0*u", base, width, src->file_no);
	if (w < 0 || (size_t)w >= n) {
		snprintf(err, CAP_ERRLEN, "%.300s: file name too long", base);
		return -1;
	}
	return 0;
}

/* The -r input, which writing would destroy. */
static bool
is_input(const struct cap_source *src, const char *path)
{
	FILE *in = src->live ? NULL : pcap_file(src->pcap);
	struct stat a, b;

	return in && fstat(fileno(in), &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Begin the file of the current name, then let go of the one before it (if any). */
static int
begin_file(struct cap_source *src, char err[CAP_ERRLEN])
{
	char path[sizeof(src->dump_path)];
	pcap_dumper_t *d;
	FILE *f;

	if (file_name(src, path, sizeof(path), err) < 0)
		return -1;
	if (is_input(src, path)) {
		snprintf(err, CAP_ERRLEN, "%.300s: is the capture being read (-r); -w would destroy it",
			 path);
		return -1;
	}
	if (!(f = cap_output_file(path, err)))
		return -1;
	/* the header at once: a file just begun is a whole pcap, for whoever looks */
	if (!(d = pcap_dump_fopen(src->pcap, f)) || pcap_dump_flush(d) < 0) {
		snprintf(err, CAP_ERRLEN, "cannot write %.300s (-w): %s", path,
			 d ? strerror(errno) : pcap_geterr(src->pcap));
		if (d)
			pcap_dump_close(d);
		else
			fclose(f);
		return -1;
	}
	if (src->dump && pcap_dump_flush(src->dump) < 0 && !src->dump_failed) {
		snprintf(src->dump_err, CAP_ERRLEN, "cannot write %.300s (-w): %s", src->dump_path,
			 strerror(errno));
		src->dump_failed = true;
	}
	if (src->dump)
		pcap_dump_close(src->dump);
	src->dump = d;
	memcpy(src->dump_path, path, sizeof(path));
	return 0;
}

int
cap_write_to(struct cap_source *src, const char *path, const struct cap_rotate *rot,
	     char err[CAP_ERRLEN])
{
	src->dump_name = path;
	if (rot)
		src->rot = *rot;
	src->interval_start = time(NULL);
	return begin_file(src, err);
}

/* A rotation that failed: said once by cap_write_news, the packets go on into the old file. */
static void
rotation_failed(struct cap_source *src, const char *why)
{
	if (!src->dump_err[0])
		snprintf(src->dump_err, CAP_ERRLEN, "-w: %.300s; still writing %.150s", why, src->dump_path);
	src->dump_failed = true;
}

void
dump_packet(struct cap_source *src, const struct pcap_pkthdr *h, const u_char *bytes)
{
	const struct cap_rotate *r = &src->rot;
	char err[CAP_ERRLEN];
	time_t now;

	if (src->dump_done)
		return;
	if (r->seconds && (now = time(NULL)) - src->interval_start >= (time_t)r->seconds) {
		if (r->count && ++src->intervals >= r->count) {
			/* tcpdump -G -W: the last file is full, the run is over */
			src->dump_done = true;
			cap_stop(src);
			return;
		}
		src->interval_start = now;
		src->file_no = 0;
		if (begin_file(src, err) < 0)
			rotation_failed(src, err);
	} else if (r->size && (uint64_t)pcap_dump_ftell64(src->dump) > r->size) {
		unsigned before = src->file_no;

		src->file_no = r->count && src->file_no + 1 >= r->count ? 0 : src->file_no + 1;
		if (begin_file(src, err) < 0) {
			src->file_no = before;
			rotation_failed(src, err);
		}
	}
	pcap_dump((u_char *)src->dump, h, bytes);
}

int
cap_write_reopen(struct cap_source *src, char err[CAP_ERRLEN])
{
	struct stat now, open;

	if (!src->dump)
		return 0;
	/* still at its name: nothing moved it, and beginning it again would empty it */
	if (fstat(fileno(pcap_dump_file(src->dump)), &open) == 0 && stat(src->dump_path, &now) == 0 &&
	    now.st_dev == open.st_dev && now.st_ino == open.st_ino)
		return 0;
	if (begin_file(src, err) < 0) {
		rotation_failed(src, err);
		return -1;
	}
	return 0;
}

int
cap_write_news(struct cap_source *src, char err[CAP_ERRLEN])
{
	if (!src || !src->dump_err[0])
		return 0;
	snprintf(err, CAP_ERRLEN, "%.300s", src->dump_err);
	src->dump_err[0] = '\0';
	return 1;
}

int
cap_write_done(struct cap_source *src, char err[CAP_ERRLEN])
{
	if (!src || !src->dump)
		return 0;
	if (pcap_dump_flush(src->dump) == 0 && !ferror(pcap_dump_file(src->dump)) &&
	    !src->dump_failed)
		return 0;
	if (src->dump_failed)
		snprintf(err, CAP_ERRLEN, "-w: a new file could not be begun during the run (said "
					  "then); the packets went on into the file before it");
	else
		snprintf(err, CAP_ERRLEN, "cannot write %.300s (-w): %s", src->dump_path,
			 errno ? strerror(errno) : "write error");
	return -1;
}

int
cap_output_redirect(int fd, const char *path, char err[CAP_ERRLEN])
{
	struct stat now, open;
	int nfd;

	if (fstat(fd, &open) == 0 && stat(path, &now) == 0 && now.st_dev == open.st_dev &&
	    now.st_ino == open.st_ino)
		return 0; /* still the file we write: a SIGHUP with nothing rotated */
	if ((nfd = cap_output_append(path, err)) < 0)
		return -1;
	if (dup2(nfd, fd) < 0) {
		snprintf(err, CAP_ERRLEN, "%.300s: %s", path, strerror(errno));
		close(nfd);
		return -1;
	}
	close(nfd);
	return 0;
}
