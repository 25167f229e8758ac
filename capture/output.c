/*
 * output.c - files smtpscope writes (-w, --output, --extract), created so that a local
 * user who can plant files cannot turn them against it, and the privileges it
 * gives up once everything is open.
 *
 * A file is opened through its directory's descriptor with O_NOFOLLOW (a
 * planted symbolic link is refused, not followed), mode 0600 (a capture holds
 * credentials), and a file that is replaced must be a regular file of ours
 * with no other name (a planted hard link is refused). Running as root, a
 * directory that others may write to is refused: they could swap what is in
 * it between our checks and our writes. The capabilities left after the drop
 * of root (file capabilities, or -Z root) are all given up, as tcpdump does
 * with libcap-ng; the kernel interface is used directly, so no library is
 * needed.
 */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Others (or a group other than root's) may write here: refused as root. */
static bool
open_to_others(const struct stat *st)
{
	return (st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != 0);
}

int
cap_output_dir(const char *dir, bool must_not_be_link, char err[CAP_ERRLEN])
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (must_not_be_link ? O_NOFOLLOW : 0));
	struct stat st;

	if (fd < 0) {
		snprintf(err, CAP_ERRLEN, "%s: %s", dir,
			 errno == ELOOP || errno == ENOTDIR ? "not a directory (a symbolic link is "
							      "not followed)"
							    : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (geteuid() == 0 && open_to_others(&st))) {
		/* (fstat of an open descriptor fails only on a broken system: said the same way) */
		snprintf(err, CAP_ERRLEN, "%s: others may write to this directory; as root, "
					  "smtpscope writes only where they cannot", dir);
		close(fd);
		return -1;
	}
	return fd;
}

/* A file just opened must be a regular file of ours with one name: else -1 (errno EPERM). */
static int
ours(int fd, const char *name, char err[CAP_ERRLEN])
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, CAP_ERRLEN, "%s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		snprintf(err, CAP_ERRLEN, "%s: not replaced: %s", name,
			 !S_ISREG(st.st_mode)	  ? "not a regular file"
			 : st.st_uid != geteuid() ? "it belongs to another user"
						  : "it has other names (hard links)");
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static int
open_at(int dirfd, const char *name, int flags, char err[CAP_ERRLEN])
{
	int fd = openat(dirfd, name, flags | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		int e = errno; /* kept for the caller: EEXIST means "try another name" */

		snprintf(err, CAP_ERRLEN, "%s: %s", name,
			 e == ELOOP ? "a symbolic link; not followed" : strerror(e));
		errno = e;
		return -1;
	}
	return ours(fd, name, err);
}

int
cap_output_create(int dirfd, const char *name, bool replace, char err[CAP_ERRLEN])
{
	int fd = open_at(dirfd, name, O_CREAT | (replace ? 0 : O_EXCL), err);

	if (fd >= 0 && ((replace && ftruncate(fd, 0) < 0) || fchmod(fd, 0600) < 0)) {
		snprintf(err, CAP_ERRLEN, "%s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The directory of path, opened by cap_output_dir, and where its last name begins. */
static int
path_dir(const char *path, const char **base, char err[CAP_ERRLEN])
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	*base = slash ? slash + 1 : path;
	if (!**base || strlen(path) >= sizeof(dir)) {
		snprintf(err, CAP_ERRLEN, "%s: not a file name", path);
		return -1;
	}
	if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	return cap_output_dir(dir, false, err);
}

FILE *
cap_output_file(const char *path, char err[CAP_ERRLEN])
{
	const char *base;
	int dfd, fd;
	FILE *f;

	if ((dfd = path_dir(path, &base, err)) < 0)
		return NULL;
	fd = cap_output_create(dfd, base, true, err);
	close(dfd);
	if (fd < 0 || !(f = fdopen(fd, "wb"))) {
		if (fd >= 0) {
			snprintf(err, CAP_ERRLEN, "%s: %s", path, strerror(errno));
			close(fd);
		}
		return NULL;
	}
	return f;
}

int
cap_output_append(const char *path, char err[CAP_ERRLEN])
{
	const char *base;
	int dfd, fd;

	if ((dfd = path_dir(path, &base, err)) < 0)
		return -1;
	/* an existing file keeps its mode: logrotate's "create 0640" is the admin's choice */
	fd = open_at(dfd, base, O_CREAT | O_APPEND, err);
	close(dfd);
	return fd;
}

int
cap_drop_capabilities(char err[CAP_ERRLEN])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];

	memset(none, 0, sizeof(none));
	/* ambient capabilities would be handed to a program run later: none is, but clear them */
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &h, none) < 0) {
		snprintf(err, CAP_ERRLEN, "cannot give up capabilities: %s", strerror(errno));
		return -1;
	}
	/* nothing run from here on could gain privileges (set-user-ID, file capabilities) */
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}
