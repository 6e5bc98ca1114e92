/* Min-heap of timers ordered by (deadline, seq).
 *
 * The timer node lives inside its owner (a task, a handle); the heap itself
 * is an array of (deadline, node) slots laid out as a 4-ary tree, so the
 * comparisons of a sift read one cache line per level and never the nodes
 * (which are spread over the Lua heap), and the tree is half as deep as a
 * binary one. Each node remembers its slot, so removing any timer is
 * O(log n). `seq` is assigned at insertion from a per-heap counter, which
 * makes timers with equal deadlines come out in the order they were
 * inserted.
 *
 * The array grows by doubling and shrinks when it is mostly empty. Growing
 * can fail; the insertion then still succeeds: the timer waits on a short
 * unordered "spill" list (linked through the node) that ac_heap_min also
 * looks at, and moves into the array as soon as there is room. So starting
 * a timer never fails. */
#ifndef ALUA_CORE_HEAP_H
#define ALUA_CORE_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ac_timer {
  uint64_t deadline;               /* monotonic ns at which the timer is due */
  uint64_t seq;                    /* insertion order, tie-breaker for equal deadlines */
  void (*fn)(struct ac_timer *t);  /* called by the loop when due (after removal) */
  uintptr_t where;                 /* heap.c: its slot, the next spilled node, or idle */
} ac_timer;

typedef struct ac_heap_slot {
  uint64_t deadline;               /* copy of timer->deadline, read by the sifts */
  ac_timer *timer;
} ac_heap_slot;

typedef struct ac_heap {
  ac_heap_slot *slots; /* the 4-ary tree; slots[0] is the earliest */
  size_t count;        /* timers in `slots` */
  size_t cap;          /* slots allocated */
  void *mem;           /* the allocation `slots` is aligned inside */
  ac_timer *spilled;   /* timers that found no room in `slots`, unordered */
  size_t nspilled;     /* timers on `spilled` */
  uint64_t next_seq;   /* next insertion sequence number */
} ac_heap;

void ac_heap_init(ac_heap *h);

/* Frees the array. Timers still in the heap are dropped, not touched (their
 * owners may be gone); removing one later is a no-op. */
void ac_heap_close(ac_heap *h);

/* Sets up a node that is not in any heap; `fn` is what the loop calls. */
void ac_timer_init(ac_timer *t, void (*fn)(ac_timer *t));

/* 1 while t is in a heap. */
int ac_timer_active(const ac_timer *t);

/* Inserts t with the given deadline and a new seq; moves it if it is in
 * the heap already. Never fails (see above). */
void ac_heap_insert(ac_heap *h, ac_timer *t, uint64_t deadline);

/* Removes t if it is in the heap; a no-op otherwise. */
void ac_heap_remove(ac_heap *h, ac_timer *t);

/* Timers in the heap. */
static inline size_t ac_heap_size(const ac_heap *h) { return h->count + h->nspilled; }

ac_timer *ac_heap_min_spilled(const ac_heap *h);

/* The earliest timer, or NULL when the heap is empty. */
static inline ac_timer *ac_heap_min(const ac_heap *h) {
  if (__builtin_expect(h->nspilled != 0, 0)) return ac_heap_min_spilled(h);
  return h->count ? h->slots[0].timer : NULL;
}

#endif
