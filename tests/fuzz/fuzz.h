/*
 * fuzz.h - the libFuzzer entry point and the report sink, for the targets and
 * for onefile.c (which replays inputs without libFuzzer, under gcc too).
 */
#ifndef SMTPSCOPE_FUZZ_H
#define SMTPSCOPE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the report goes: /dev/null, or stdout with FUZZ_STDOUT set (to look at an input). */
static inline FILE *
fuzz_sink(void)
{
	static FILE *out;

	if (!out)
		out = getenv("FUZZ_STDOUT") ? stdout : fopen("/dev/null", "w");
	return out;
}

#endif
