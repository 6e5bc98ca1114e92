/* Fault injection for tests: make requests for resources (memory, threads,
 * kernel watch slots) fail from the Nth one on, so every error path can be
 * reached on purpose.
 *
 * Compiled in only when ALUA_FAULT_INJECTION is defined (meson option
 * fault_injection, on by default in sanitizer builds); otherwise
 * ac_fault_hit() is the constant 0 and costs nothing. In a fault build
 * every malloc, calloc, realloc, strdup and strndup of alua's own code goes
 * through ac_fault_hit() (the link wraps them, see fault.c), and so do the
 * Lua states' allocator and the explicit points below in the core.
 *
 * Only the thread that armed injection counts requests and sees failures,
 * so a run is deterministic even when worker threads allocate. */
#ifndef ALUA_CORE_FAULT_H
#define ALUA_CORE_FAULT_H

#ifdef ALUA_FAULT_INJECTION

#include <stddef.h>

/* Counts this thread's requests from now on; the nth one (1-based) and the
 * `count` after it fail (count 0: every one from the nth on). nth 0 only
 * counts. Resets both counters. */
void ac_fault_arm(unsigned long nth, unsigned long count);

/* Stops counting and failing in this thread. */
void ac_fault_disarm(void);

/* Called before a request is served: 1 if it must fail. */
int ac_fault_hit(void);

/* Requests counted and failed since ac_fault_arm (this thread). */
unsigned long ac_fault_requests(void);
unsigned long ac_fault_failures(void);

/* From now on the nth request counted since arming fails, and the `count`
 * after it (count 0: every one); unlike ac_fault_arm, keeps the count of
 * requests so far. Resets the failures. */
void ac_fault_retarget(unsigned long nth, unsigned long count);

/* The fault server of the out-of-memory sweeps (fault_server.c). Called
 * where every run of a sweep is still the same, in a process with one
 * thread, it reads requests "NTH COUNT DIR\n" on stdin until its end and
 * forks a run for each: the child returns 0 here with DIR in dir (size
 * bytes), its stdin /dev/null, stdout and stderr the files DIR/stdout and
 * DIR/stderr, ALUA_OOM_TMPDIR=DIR, and its NTH request (counted since
 * arming, as one run of its own would count it) failing with the COUNT
 * after it. The server answers each request with two lines on stdout: the
 * child's pid, then its exit status or minus the signal that ended it.
 * The server itself never returns but with -errno when it cannot serve
 * (-EBUSY: more than one thread); it exits at the end of its input. */
int ac_fault_serve(char *dir, size_t size);

#else

static inline int ac_fault_hit(void) { return 0; }

#endif

#endif
