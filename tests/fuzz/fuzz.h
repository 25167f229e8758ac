/*
 * fuzz.h - the libFuzzer entry point, declared for the targets and for
 * onefile.c (which replays inputs without libFuzzer, under gcc too).
 */
#ifndef SMTPSCOPE_FUZZ_H
#define SMTPSCOPE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
