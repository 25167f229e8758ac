/*
 * budget.c - one memory budget for the whole process.
 *
 * What grows with the traffic draws on it, counted by what it really takes
 * (its bytes, its header, the allocator's overhead): out-of-order segments
 * (reassembly/stream.c), IP fragments (frag.c), the sessions' records
 * (decode/arena.c and their arrays) and the TLS handshake messages kept
 * (tls/tls.c), from every thread, and with --threads the sessions' written
 * text waiting for its turn (shard/shard.c). Each has its own caps besides; when the
 * budget refuses, each gives up what it would have held in its own way
 * (a hole becomes a gap, a datagram is dropped, a record is not kept), and
 * that is counted where it happens and here.
 */
#include "capture.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic size_t used, limit = CAP_DEFAULT_BUDGET;
static _Atomic uint64_t refused;

void
cap_budget_set(size_t max)
{
	atomic_store(&limit, max);
}

/* Added only if it fits: another thread never sees a total that was going to be taken back. */
bool
cap_budget_try(size_t n)
{
	size_t cur = atomic_load(&used), lim = atomic_load(&limit);

	do {
		if (n > lim || cur > lim - n)
			return false;
	} while (!atomic_compare_exchange_weak(&used, &cur, cur + n));
	return true;
}

bool
cap_budget_take(size_t n)
{
	if (cap_budget_try(n))
		return true;
	atomic_fetch_add(&refused, 1);
	return false;
}

void *
cap_budget_malloc(size_t size, size_t cost)
{
	void *p;

	if (!cap_budget_take(cost))
		return NULL;
	if (!(p = malloc(size)))
		cap_budget_give(cost);
	return p;
}

void
cap_budget_give(size_t n)
{
	atomic_fetch_sub(&used, n);
}

size_t
cap_budget_used(void)
{
	return atomic_load(&used);
}

uint64_t
cap_budget_refused(void)
{
	return atomic_load(&refused);
}
