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

#else

static inline int ac_fault_hit(void) { return 0; }

#endif

#endif
