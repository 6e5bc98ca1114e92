#include <criterion/criterion.h>
#include <stdlib.h>

#include "core/heap.h"

static void nop(ac_timer *t) { (void)t; }

static int before(const ac_timer *a, const ac_timer *b) {
  return a->deadline != b->deadline ? a->deadline < b->deadline : a->seq < b->seq;
}

/* Walks the tree: links agree, parents precede children, count matches. */
static size_t check_subtree(const ac_timer *t, const ac_timer *parent) {
  if (!t) return 0;
  cr_assert_eq(t->parent, parent);
  cr_assert(t->active);
  if (parent) cr_assert(!before(t, parent));
  return 1 + check_subtree(t->left, t) + check_subtree(t->right, t);
}

static void check_heap(const ac_heap *h) {
  cr_assert_eq(check_subtree(h->min, NULL), h->count);
}

/* Deterministic generator so failures reproduce. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static int cmp_timer(const void *a, const void *b) {
  const ac_timer *x = *(ac_timer *const *)a, *y = *(ac_timer *const *)b;
  return before(x, y) ? -1 : before(y, x) ? 1 : 0;
}

Test(heap, empty) {
  ac_heap h;
  ac_heap_init(&h);
  cr_assert_null(ac_heap_min(&h));
  ac_timer t;
  ac_timer_init(&t, nop);
  ac_heap_remove(&h, &t); /* not active: no-op */
  cr_assert_eq(h.count, 0);
  ac_heap_insert(&h, &t, 5);
  cr_assert_eq(ac_heap_min(&h), &t);
  cr_assert_eq(t.active, 1);
  ac_heap_remove(&h, &t);
  cr_assert_null(ac_heap_min(&h));
  cr_assert_eq(t.active, 0);
  cr_assert_null(t.parent);
  ac_heap_remove(&h, &t); /* twice: still a no-op */
  cr_assert_eq(h.count, 0);
}

Test(heap, equal_deadlines_fifo) {
  enum { N = 1000 };
  static ac_timer t[N];
  ac_heap h;
  ac_heap_init(&h);
  /* Insert in a scrambled order of deadlines; within a deadline, index order. */
  for (int i = 0; i < N; i++) {
    ac_timer_init(&t[i], nop);
    ac_heap_insert(&h, &t[i], (uint64_t)(i % 3));
  }
  check_heap(&h);
  for (int d = 0; d < 3; d++)
    for (int i = d; i < N; i += 3) {
      ac_timer *m = ac_heap_min(&h);
      cr_assert_eq(m, &t[i], "deadline %d: expected %d got %ld", d, i, (long)(m - t));
      ac_heap_remove(&h, m);
    }
  cr_assert_eq(h.count, 0);
}

Test(heap, remove_root_leaf_middle) {
  enum { N = 31 }; /* a full tree of depth 5 */
  ac_timer t[N];
  ac_heap h;
  ac_heap_init(&h);
  for (int i = 0; i < N; i++) {
    ac_timer_init(&t[i], nop);
    ac_heap_insert(&h, &t[i], (uint64_t)(i * 10));
  }
  check_heap(&h);
  /* Ascending inserts keep insertion positions: t[0] root, t[30] last leaf,
   * t[4] in the middle (position 5). */
  cr_assert_eq(ac_heap_min(&h), &t[0]);
  cr_assert_null(t[30].left);
  cr_assert_not_null(t[4].left);
  cr_assert_not_null(t[4].parent);

  ac_heap_remove(&h, &t[0]);
  check_heap(&h);
  cr_assert_eq(ac_heap_min(&h), &t[1]);
  ac_heap_remove(&h, &t[30]);
  check_heap(&h);
  ac_heap_remove(&h, &t[4]);
  check_heap(&h);
  /* A non-last leaf, and the parent of the current last leaf. */
  ac_heap_remove(&h, &t[16]);
  check_heap(&h);
  ac_timer *last_parent = NULL;
  for (int i = 0; i < N; i++)
    if (t[i].active && t[i].left && !t[i].right) last_parent = &t[i];
  if (last_parent) {
    ac_heap_remove(&h, last_parent);
    check_heap(&h);
  }
  cr_assert_eq(h.count, (size_t)(last_parent ? N - 5 : N - 4));

  int prev = -1;
  while (ac_heap_min(&h)) {
    ac_timer *m = ac_heap_min(&h);
    int i = (int)(m - t);
    cr_assert_gt(i, prev);
    cr_assert(i != 0 && i != 30 && i != 4 && i != 16 && m != last_parent);
    prev = i;
    ac_heap_remove(&h, m);
  }
}

Test(heap, removal_moves_last_up) {
  /* Removing a node whose replacement (the last leaf) is smaller than the
   * removed node's parent must sift up, not just down. */
  ac_timer t[7];
  ac_heap h;
  ac_heap_init(&h);
  uint64_t d[7] = {0, 100, 1, 101, 102, 2, 3};
  for (int i = 0; i < 7; i++) {
    ac_timer_init(&t[i], nop);
    ac_heap_insert(&h, &t[i], d[i]);
  }
  check_heap(&h);
  ac_heap_remove(&h, &t[4]); /* a leaf under t[1]; last leaf t[6] (3) replaces it */
  check_heap(&h);
  ac_heap_remove(&h, &t[3]);
  check_heap(&h);
  uint64_t prev = 0;
  while (ac_heap_min(&h)) {
    cr_assert_geq(ac_heap_min(&h)->deadline, prev);
    prev = ac_heap_min(&h)->deadline;
    ac_heap_remove(&h, ac_heap_min(&h));
  }
}

Test(heap, random_100k_against_reference) {
  enum { N = 2048, OPS = 100000 };
  static ac_timer t[N];
  static ac_timer *sorted[N];
  ac_heap h;
  ac_heap_init(&h);
  for (int i = 0; i < N; i++) ac_timer_init(&t[i], nop);
  size_t active = 0;
  for (int op = 0; op < OPS; op++) {
    ac_timer *x = &t[rnd() % N];
    switch (rnd() % 4) {
    case 0:
    case 1:
      if (x->active) ac_heap_remove(&h, x), active--;
      /* Small range: plenty of equal deadlines. */
      ac_heap_insert(&h, x, rnd() % 512);
      active++;
      break;
    case 2:
      if (x->active) active--;
      ac_heap_remove(&h, x);
      cr_assert_not(x->active);
      break;
    case 3: {
      /* The reference minimum: a linear scan. */
      ac_timer *ref = NULL;
      for (int i = 0; i < N; i++)
        if (t[i].active && (!ref || before(&t[i], ref))) ref = &t[i];
      cr_assert_eq(ac_heap_min(&h), ref, "op %d", op);
      if (ref) ac_heap_remove(&h, ref), active--;
      break;
    }
    }
    cr_assert_eq(h.count, active);
    if (op % 4096 == 0) check_heap(&h);
  }
  check_heap(&h);
  /* Drain and compare with a sort of what is left. */
  size_t n = 0;
  for (int i = 0; i < N; i++)
    if (t[i].active) sorted[n++] = &t[i];
  cr_assert_eq(n, h.count);
  qsort(sorted, n, sizeof sorted[0], cmp_timer);
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(ac_heap_min(&h), sorted[i], "drain %zu", i);
    ac_heap_remove(&h, sorted[i]);
  }
  cr_assert_null(ac_heap_min(&h));
  cr_assert_eq(h.count, 0);
}

Test(heap, seq_increases_per_heap) {
  ac_heap a, b;
  ac_timer x, y;
  ac_heap_init(&a);
  ac_heap_init(&b);
  ac_timer_init(&x, nop);
  ac_timer_init(&y, nop);
  ac_heap_insert(&a, &x, 1);
  ac_heap_insert(&b, &y, 1);
  cr_assert_eq(x.seq, 0);
  cr_assert_eq(y.seq, 0);
  ac_heap_remove(&a, &x);
  ac_heap_insert(&a, &x, 1);
  cr_assert_eq(x.seq, 1);
  cr_assert_eq(a.next_seq, 2);
}
