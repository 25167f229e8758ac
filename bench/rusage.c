/*
 * rusage.c - run one command and write down exactly what it cost.
 *
 *   rusage RESULT_FILE COMMAND [ARG...]
 *
 * Forks, execs COMMAND (standard input, output and error inherited), waits for it with
 * wait4() and writes one line to RESULT_FILE:
 *
 *   status S user U sys Y maxrss_kb M wall W
 *
 * (exit status, or 128+signal; user and system CPU seconds; peak resident set in KiB;
 * wall seconds from fork to reaping).
 *
 * Why not os.wait4() from Python directly: Linux records, in the child's ru_maxrss, the
 * peak RSS of the address space that exec() replaced, and a child forked from a Python
 * process starts with Python's 15-20 MB resident, so every figure would be at least that.
 * Forked from this small program, the command's own peak is what is reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status = 0;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage RESULT_FILE COMMAND [ARG...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("rusage: wait4");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	fprintf(out, "status %d user %ld.%06ld sys %ld.%06ld maxrss_kb %ld wall %.6f\n",
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		(long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec,
		(long)ru.ru_stime.tv_usec, ru.ru_maxrss,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return fclose(out) == 0 ? 0 : 1;
}
