# smtpscope - passive SMTP analyzer. See README.md.
#
#   make run      install missing build deps, build, analyse a bundled sample
#   make test     install missing deps, build twice (plain, ASan+UBSan), run every test in both,
#                 then --threads under ThreadSanitizer (a third tree, build/tsan/)
#   make install  PREFIX=/usr/local DESTDIR=
#   make sslkeylog, make install-sslkeylog   the optional key log preload (sslkeylog/README.md)
#
# Two build trees: build/ (plain, -O2) and build/san/ (AddressSanitizer and
# UndefinedBehaviorSanitizer). The same rules build both, through $(B).

PREFIX ?= /usr/local
DESTDIR ?=
PKG_CONFIG ?= pkg-config
VERSION := 0.1.0
SAMPLE ?= samples/seed-exchange-errors.pcap

CFLAGS ?= -O2 -g
TSAN_FLAGS := -O1 -g -fsanitize=thread
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wcast-qual -Wformat=2 -Wundef
# glibc's pcap/bpf.h needs u_int, which plain -std=c11 hides: hence _DEFAULT_SOURCE.
STD := -std=c11 -pthread -D_DEFAULT_SOURCE -DSMTPSCOPE_VERSION='"$(VERSION)"'

PCAP_CFLAGS = $(shell $(PKG_CONFIG) --cflags libpcap 2>/dev/null)
PCAP_LIBS = $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null || echo -lpcap)
# --probe starts TLS itself (STARTTLS): libssl beside libcrypto
CRYPTO_CFLAGS = $(shell $(PKG_CONFIG) --cflags libssl libcrypto 2>/dev/null)
CRYPTO_LIBS = $(shell $(PKG_CONFIG) --libs libssl libcrypto 2>/dev/null || echo -lssl -lcrypto)
# --probe asks the system resolver (res_nquery, ns_initparse: libc6-dev's libresolv)
RESOLV_LIBS := -lresolv
CMOCKA_CFLAGS = $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

B ?= build
XFLAGS ?= $(CFLAGS)
ALL_CFLAGS = $(STD) $(WARN) $(XFLAGS) $(PCAP_CFLAGS) $(CRYPTO_CFLAGS)

LIB_SRC := $(wildcard capture/*.c reassembly/*.c decode/*.c report/*.c shard/*.c tls/*.c probe/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(B)/obj/%.o)
HEADERS := $(wildcard */*.h */*.def)
TESTS := $(basename $(notdir $(wildcard tests/test_*.c)))
TEST_BIN = $(TESTS:%=$(B)/tests/%)

.PHONY: coverage all run test install uninstall clean deps-run deps-test bins check-tree stress fuzz tsan-check \
	mutate sslkeylog install-sslkeylog

all: $(B)/smtpscope

$(B)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libsmtpscope.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/smtpscope: $(B)/obj/smtpscope.o $(B)/libsmtpscope.a
	$(CC) $(XFLAGS) -pthread -o $@ $^ $(PCAP_LIBS) $(CRYPTO_LIBS) $(RESOLV_LIBS)

$(B)/tests/%: tests/%.c tests/testutil.h $(B)/libsmtpscope.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< $(B)/libsmtpscope.a $(CMOCKA_LIBS) $(PCAP_LIBS) $(CRYPTO_LIBS) $(RESOLV_LIBS)

bins: $(B)/smtpscope $(TEST_BIN)

# Everything the tests check, in one build tree.
check-tree: bins $(B)/tests/onefile_pcap $(B)/tests/onefile_smtp $(B)/tests/onefile_tls $(B)/libsslkeylog.so
	@set -e; for t in $(TESTS); do $(B)/tests/$$t; done
	$(B)/tests/onefile_pcap tests/regress/pcap
	$(B)/tests/onefile_smtp tests/regress/smtp
	$(B)/tests/onefile_tls tests/regress/tls
	python3 tests/e2e_samples.py --bin $(B)/smtpscope
	python3 tests/secrets_check.py --bin $(B)/smtpscope
	python3 tests/cli_check.py --bin $(B)/smtpscope
	python3 tests/order_check.py --bin $(B)/smtpscope
	python3 tests/doc_examples.py --bin $(B)/smtpscope
	python3 tests/tls_hostile_check.py --bin $(B)/smtpscope
	python3 tests/tty_check.py --bin $(B)/smtpscope
	python3 tests/schema_check.py --bin $(B)/smtpscope
	python3 tests/ecs_check.py --bin $(B)/smtpscope
	python3 tests/analyst_check.py --bin $(B)/smtpscope
	python3 tests/cert_check.py --bin $(B)/smtpscope
	python3 tests/conformance.py --bin $(B)/smtpscope
	tests/live_test.sh $(B)/smtpscope
	python3 tests/probe_check.py --bin $(B)/smtpscope
	python3 tests/metrics_check.py --bin $(B)/smtpscope
	tests/metrics_test.sh $(B)/smtpscope
	python3 tests/extract_check.py --bin $(B)/smtpscope
	python3 tests/privs_check.py --bin $(B)/smtpscope
	python3 tests/rotate_check.py --bin $(B)/smtpscope
	python3 tests/service_test.py --bin $(B)/smtpscope
	python3 tests/soak_test.py --bin $(B)/smtpscope
	python3 tests/escape_check.py --bin $(B)/smtpscope
	python3 tests/audit_check.py --bin $(B)/smtpscope
	python3 tests/audit_flags_check.py --bin $(B)/smtpscope
	python3 tests/rewrite_check.py --bin $(B)/smtpscope
	python3 tests/threads_check.py --bin $(B)/smtpscope --quick
	python3 tests/hash_flood.py --bin $(B)/smtpscope --dir $(B)/hash-flood
	python3 tests/sslkeylog_check.py --lib $(B)/libsslkeylog.so
	@# Every invariant (issue 11) fails the build: pairing (inv1), pairs before the damage
	@# (inv2), message outcomes (inv3), verdicts on unseen replies (inv4), crashes. Every
	@# violation is in $(B)/mutate.json; about 40 s under ASan on 2 cores.
	python3 tests/mutate.py --bin $(B)/smtpscope --max-print 20 --json-out $(B)/mutate.json

# Line coverage of check-tree (tests/coverage.py prints it per file and in all).
coverage: deps-test
	@rm -rf build/cov
	@$(MAKE) --no-print-directory check-tree B=build/cov \
		XFLAGS="-O0 -g --coverage -DSMTPSCOPE_COVERAGE"
	python3 tests/coverage.py --build build/cov

run: deps-run
	@$(MAKE) -s --no-print-directory all
	./build/smtpscope -r $(SAMPLE)

test: deps-test
	@$(MAKE) --no-print-directory check-tree B=build
	@$(MAKE) --no-print-directory check-tree B=build/san XFLAGS="$(SAN_FLAGS)"
	@$(MAKE) --no-print-directory tsan-check
	@echo "make test: all tests passed (plain and ASan+UBSan builds, --threads under TSan)"

# --threads under ThreadSanitizer: every output compared with one thread's, data races fatal;
# and the metrics thread (--metrics, --metrics-file) beside the capture.
# Skipped, with the reason, where the compiler has no TSan runtime or the kernel's address
# layout does not suit it (high mmap randomisation); the plain and ASan runs still compare.
tsan-check:
	@mkdir -p build
	@if ! printf 'int main(void){return 0;}' | $(CC) -fsanitize=thread -x c - -o build/tsan-probe \
		2>/dev/null; then \
		echo "threads: $(CC) has no ThreadSanitizer runtime, TSan check skipped"; \
	elif ! build/tsan-probe; then \
		echo "threads: ThreadSanitizer cannot run on this kernel, TSan check skipped"; \
	else $(MAKE) --no-print-directory B=build/tsan XFLAGS="$(TSAN_FLAGS)" build/tsan/smtpscope && \
		TSAN_OPTIONS=halt_on_error=1 python3 tests/threads_check.py --bin build/tsan/smtpscope && \
		TSAN_OPTIONS=halt_on_error=1 python3 tests/metrics_check.py --bin build/tsan/smtpscope; fi

# Install what a fresh Debian lacks, or print the one command that does.
define ensure_debs
	@missing=""; \
	for pair in $(1); do \
		check=$${pair%%:*}; pkg=$${pair#*:}; \
		sh -c "$$check" >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing build dependencies:$$missing"; \
			log=$$(mktemp); \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $$missing; } >$$log 2>&1 || { cat $$log; rm -f $$log; exit 1; }; \
			rm -f $$log; \
		else \
			echo "smtpscope: missing build dependencies; run: sudo apt-get install -y$$missing" >&2; \
			exit 1; \
		fi; \
	fi
endef

RUN_DEPS := "command -v pkg-config:pkg-config" "$(PKG_CONFIG) --exists libpcap:libpcap-dev" \
	"$(PKG_CONFIG) --exists libcrypto:libssl-dev" "test -e /usr/include/resolv.h:libc6-dev"
TEST_DEPS := $(RUN_DEPS) "$(PKG_CONFIG) --exists cmocka:libcmocka-dev" \
	"command -v python3:python3" "python3 -c 'import yaml':python3-yaml" \
	"command -v openssl:openssl" "command -v tcpreplay:tcpreplay" \
	"test -x /usr/bin/prometheus:prometheus" "command -v logrotate:logrotate" \
	"command -v strace:strace"

deps-run:
	$(call ensure_debs,$(RUN_DEPS))

deps-test:
	$(call ensure_debs,$(TEST_DEPS))

# Every drop and cut position of every capture (make test samples 10 per capture), every
# invariant strict; the violations also go to build/mutate.json. About a minute on 2 cores.
mutate: all
	python3 tests/mutate.py --bin build/smtpscope --all --json-out build/mutate.json

# Hostile inputs (1M SYNs, a 100 MB line, an out-of-order flood, a chosen-collision flood): peak RSS must stay under 200 MB.
stress: all
	python3 bench/stress.py --bin build/smtpscope --dir build/stress

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 build/smtpscope $(DESTDIR)$(PREFIX)/bin/smtpscope
	install -m 644 smtpscope.1 $(DESTDIR)$(PREFIX)/share/man/man1/smtpscope.1
	install -d $(DESTDIR)$(PREFIX)/share/smtpscope
	install -m 644 report/ecs-template.elasticsearch.json report/ecs-template.opensearch.json \
		recipes/filebeat-elasticsearch.yml recipes/vector-elasticsearch.toml \
		recipes/vector-opensearch.toml $(DESTDIR)$(PREFIX)/share/smtpscope/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/smtpscope $(DESTDIR)$(PREFIX)/share/man/man1/smtpscope.1
	rm -f $(DESTDIR)$(PREFIX)/lib/smtpscope/libsslkeylog.so
	rm -rf $(DESTDIR)$(PREFIX)/share/smtpscope

# The key log preload for servers linked with OpenSSL; not in all, as smtpscope needs no libssl.
# Built from plain CFLAGS even in the sanitizer trees: openssl and Postfix, which the test
# preloads it into, carry no sanitizer runtime.
SSL_CFLAGS = $(shell $(PKG_CONFIG) --cflags libssl 2>/dev/null)
SSL_LIBS = $(shell $(PKG_CONFIG) --libs libssl 2>/dev/null || echo -lssl -lcrypto)

sslkeylog: build/libsslkeylog.so

$(B)/libsslkeylog.so: sslkeylog/sslkeylog.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -fPIC -shared $(SSL_CFLAGS) -o $@ $< \
		$(SSL_LIBS) -ldl

install-sslkeylog: sslkeylog
	install -d $(DESTDIR)$(PREFIX)/lib/smtpscope
	install -m 755 build/libsslkeylog.so $(DESTDIR)$(PREFIX)/lib/smtpscope/libsslkeylog.so

clean:
	rm -rf build

# --- fuzzing (begin)
# make fuzz     builds the libFuzzer targets of tests/fuzz/ with clang into build/fuzz/ and
#               runs each for FUZZ_SECONDS; crashes land in build/fuzz/crash-<target>-*.
#               Without clang's libFuzzer it prints one line and succeeds.
# make regress  replays tests/regress/{pcap,smtp}/ through the same targets built with
#               $(CC) in the $(B) tree (onefile.c is the main()).
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1
FUZZ_RUN = -max_total_time=$(FUZZ_SECONDS) -timeout=10
SHARED_CORPUS ?= ../shared/corpus
FZ := build/fuzz

.PHONY: fuzz-run regress

fuzz:
	@mkdir -p $(FZ); \
	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return !d && n; }' | \
	$(FUZZ_CC) -fsanitize=fuzzer -x c - -o $(FZ)/.probe >/dev/null 2>&1 || \
	{ echo "make fuzz: skipped: $(FUZZ_CC) with libFuzzer (-fsanitize=fuzzer) not available"; exit 0; }; \
	$(MAKE) --no-print-directory fuzz-run

$(FZ)/fuzz_pcap $(FZ)/fuzz_smtp $(FZ)/fuzz_tls: $(FZ)/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(LIB_SRC) $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(STD) $(WARN) $(FUZZ_FLAGS) $(PCAP_CFLAGS) -o $@ $< $(LIB_SRC) $(PCAP_LIBS) $(CRYPTO_LIBS) $(RESOLV_LIBS)

# Seeds: the captures under samples/ and the shared corpus, copied flat (libFuzzer takes
# directories; many corpus files are called input.pcap).
fuzz-run: $(FZ)/fuzz_pcap $(FZ)/fuzz_smtp $(FZ)/fuzz_tls
	@rm -rf $(FZ)/seeds-pcap; mkdir -p $(FZ)/seeds-pcap $(FZ)/corpus-fuzz_pcap $(FZ)/corpus-fuzz_smtp \
		$(FZ)/corpus-fuzz_tls
	@python3 tests/fuzz/mktlsseeds.py $(FZ)/seeds-tls
	@find samples $(wildcard $(SHARED_CORPUS)) -type f \( -name '*.pcap' -o -name '*.pcapng' \) | \
	while read -r f; do cp "$$f" "$(FZ)/seeds-pcap/$$(echo "$$f" | tr / _)"; done
	$(FZ)/fuzz_pcap $(FUZZ_RUN) -max_len=65536 -artifact_prefix=$(FZ)/crash-fuzz_pcap- \
		$(FZ)/corpus-fuzz_pcap $(FZ)/seeds-pcap tests/regress/pcap
	$(FZ)/fuzz_smtp $(FUZZ_RUN) -max_len=8192 -artifact_prefix=$(FZ)/crash-fuzz_smtp- \
		$(FZ)/corpus-fuzz_smtp tests/fuzz/smtp_seeds tests/regress/smtp
	$(FZ)/fuzz_tls $(FUZZ_RUN) -max_len=16384 -artifact_prefix=$(FZ)/crash-fuzz_tls- \
		$(FZ)/corpus-fuzz_tls $(FZ)/seeds-tls tests/regress/tls

$(B)/tests/onefile_pcap $(B)/tests/onefile_smtp $(B)/tests/onefile_tls: $(B)/tests/onefile_%: tests/fuzz/fuzz_%.c \
		tests/fuzz/onefile.c tests/fuzz/fuzz.h $(B)/libsmtpscope.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/onefile.c $(B)/libsmtpscope.a $(PCAP_LIBS) $(CRYPTO_LIBS) $(RESOLV_LIBS)

regress: $(B)/tests/onefile_pcap $(B)/tests/onefile_smtp $(B)/tests/onefile_tls
	$(B)/tests/onefile_pcap tests/regress/pcap
	$(B)/tests/onefile_smtp tests/regress/smtp
	$(B)/tests/onefile_tls tests/regress/tls
# --- fuzzing (end)

# --- bench (begin)
# make bench   writes realistic captures of BENCH_SIZES MB with their ground truth
#              (bench/gen.py, seeded, into build/bench/; kept for the next run), times
#              smtpscope against the libpcap read floor (bench/pcap_floor.c) and tshark,
#              medians of BENCH_RUNS runs, and checks every session and reply code against
#              the truth: a mismatch fails, a missed speed target does not.
#              BENCH_TSHARK=once (smallest file, one run) | all | none.
BENCH_SIZES ?= 100 1000
BENCH_RUNS ?= 5
BENCH_TSHARK ?= once
BENCH_SEED ?= 1
BENCH_THREADS ?= 2

.PHONY: bench

build/bench/pcap_floor: bench/pcap_floor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 $(STD) $(WARN) $(PCAP_CFLAGS) -o $@ $< $(PCAP_LIBS)

build/bench/rusage: bench/rusage.c
	@mkdir -p $(dir $@)
	$(CC) -O2 $(STD) $(WARN) -o $@ $<

bench: all build/bench/pcap_floor build/bench/rusage
	python3 bench/run.py --bin $(B)/smtpscope --floor build/bench/pcap_floor \
		--rusage build/bench/rusage --dir build/bench \
		--sizes $(BENCH_SIZES) --runs $(BENCH_RUNS) --tshark $(BENCH_TSHARK) --seed $(BENCH_SEED) --threads $(BENCH_THREADS)
	@for n in $(BENCH_SIZES); do python3 bench/audit_check.py --bin $(B)/smtpscope \
		--capture build/bench/mix-$$n.pcap || exit 1; done
	python3 bench/tlsbench.py --bin $(B)/smtpscope --rusage build/bench/rusage --dir build/bench
# --- bench (end)
