/*
 * test_replies.c - real reply lines against the reasons smtpscope gives.
 *
 * The .tsv files of tests/replies hold reply lines that providers, gateways, block lists
 * and MTAs send, copied from public sources, each with the reason its text
 * states and whether a retry can pass by itself (README.md there). Every
 * line is explained as the decoder would explain it, after the command it
 * answers; the reason and the class must be the expected ones. The share
 * right is printed per family (file); the whole corpus must be at least 97%
 * right and hold at least 400 lines.
 */
#include <dirent.h>
#include <stdlib.h>

#include "testutil.h"

#define REPLIES_DIR "tests/replies"
#define LINE_MAX_ 4096

struct tally {
	unsigned lines, right;
};

static enum smtp_verb
verb_of(const char *cmd)
{
	if (strcmp(cmd, "CONNECT") == 0)
		return SMTP_CONNECT;
	if (strcmp(cmd, ".") == 0)
		return SMTP_DOT;
	if (strcmp(cmd, "ANY") == 0)
		return SMTP_OTHER;
	return smtp_verb_lookup(cmd, strlen(cmd));
}

/*
 * The reply as the decoder keeps it: the text of every line after its
 * "ddd " or "ddd-", joined by '\n'. The file writes line breaks as "\n".
 */
static bool
reply_of(const char *wire, int *code, char *text, size_t textsz)
{
	size_t o = 0;
	const char *p = wire;
	bool first = true, last;

	while (*p) {
		const char *end = strstr(p, "\\n");
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int c;

		if (!smtp_parse_reply_line(p, n, &c, &last))
			return false;
		if (first)
			*code = c;
		if (!first && o + 1 < textsz)
			text[o++] = '\n';
		for (size_t i = 4; i < n && o + 1 < textsz; i++)
			text[o++] = p[i];
		first = false;
		p += n + (end ? 2 : 0);
	}
	text[o] = '\0';
	return !first;
}

/* One line of a .tsv: true when smtpscope gives its reason and class. */
static bool
check_line(const char *family, char *line, unsigned lineno)
{
	char *col[5], *save = NULL, text[LINE_MAX_], enh[12], out[1024];
	struct smtp_finding f;
	int code = 0;
	size_t n = 0;

	for (char *tok = strtok_r(line, "\t", &save); tok && n < 5; tok = strtok_r(NULL, "\t", &save))
		col[n++] = tok;
	if (n != 5 || !reply_of(col[1], &code, text, sizeof(text))) {
		fprintf(stderr, "%s.tsv:%u: not a corpus line\n", family, lineno);
		fail();
	}
	smtp_parse_enhanced(text, strlen(text), enh);
	smtp_explain(verb_of(col[0]), code, enh, text, out, sizeof(out), &f);
	const char *cls = smtp_failure_class(code, f.lasting);
	bool reason_ok = strcmp(smtp_reason_name(f.reason), col[2]) == 0;
	bool class_ok = strcmp(cls ? cls : "-", col[3]) == 0;

	if (!reason_ok || !class_ok) /* one line a miss, tab-separated, for grep and sort */
		printf("miss\t%s.tsv:%u\t%s\twant %s/%s\tgot %s/%s by %s\t%s\n", family, lineno,
		       col[0], col[2], col[3], smtp_reason_name(f.reason), cls ? cls : "-",
		       smtp_match_name(f.matched), col[1]);
	return reason_ok && class_ok;
}

static struct tally
check_file(const char *path, const char *family)
{
	struct tally t = {0, 0};
	char line[LINE_MAX_];
	unsigned lineno = 0;
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		t.lines++;
		t.right += check_line(family, line, lineno);
	}
	fclose(fp);
	return t;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_corpus(void **state)
{
	(void)state;
	/* another directory of the same form (a held-out set) when asked */
	const char *where = getenv("SMTPSCOPE_REPLIES") ? getenv("SMTPSCOPE_REPLIES") : REPLIES_DIR;
	DIR *dir = opendir(where);
	char *names[64];
	size_t n = 0;
	struct tally all = {0, 0};
	struct dirent *de;

	assert_non_null(dir);
	while ((de = readdir(dir)) && n < 64) {
		size_t len = strlen(de->d_name);

		if (len > 4 && strcmp(de->d_name + len - 4, ".tsv") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(dir);
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		char path[512], family[256];

		snprintf(path, sizeof(path), "%s/%s", where, names[i]);
		snprintf(family, sizeof(family), "%.*s", (int)(strlen(names[i]) - 4), names[i]);
		struct tally t = check_file(path, family);

		printf("replies: %-16s %3u of %3u right (%.1f%%)\n", family, t.right, t.lines,
		       t.lines ? 100.0 * t.right / t.lines : 0.0);
		all.lines += t.lines;
		all.right += t.right;
		free(names[i]);
	}
	printf("replies: %-16s %3u of %3u right (%.1f%%)\n", "all", all.right, all.lines,
	       all.lines ? 100.0 * all.right / all.lines : 0.0);
	assert_true(all.lines >= (getenv("SMTPSCOPE_REPLIES") ? 1u : 400u));
	assert_true(all.right * 100 >= all.lines * 97);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
