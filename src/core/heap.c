/* Pointer-based binary heap (the layout libuv uses): the tree is complete, so
 * the node at 1-based position n is reached from the root by the bits of n
 * below its highest set bit, read from the most significant down (0 = left,
 * 1 = right). Nodes never move in memory; swaps relink them. */
#include "heap.h"

static int less(const ac_timer *a, const ac_timer *b) {
  if (a->deadline != b->deadline) return a->deadline < b->deadline;
  return a->seq < b->seq;
}

void ac_heap_init(ac_heap *h) {
  h->min = NULL;
  h->count = 0;
  h->next_seq = 0;
}

void ac_timer_init(ac_timer *t, void (*fn)(ac_timer *t)) {
  t->deadline = 0;
  t->seq = 0;
  t->parent = t->left = t->right = NULL;
  t->fn = fn;
  t->active = 0;
}

/* Returns the slot (h->min or a child pointer) that holds position n >= 1,
 * and its parent in *parent. The slot may be empty when n == count + 1. */
static ac_timer **slot_of(ac_heap *h, size_t n, ac_timer **parent) {
  size_t path = 0;
  unsigned len = 0;
  /* Collect the steps reversed, so the first step ends up in the low bit. */
  for (; n >= 2; n >>= 1, len++) path = (path << 1) | (n & 1);
  ac_timer **slot = &h->min;
  *parent = NULL;
  for (; len > 0; len--, path >>= 1) {
    *parent = *slot;
    slot = (path & 1) ? &(*slot)->right : &(*slot)->left;
  }
  return slot;
}

/* Exchanges the positions of p and its child c; data stays with the nodes. */
static void swap_with_child(ac_heap *h, ac_timer *p, ac_timer *c) {
  ac_timer *gp = p->parent, *cl = c->left, *cr = c->right;
  if (p->left == c) {
    c->left = p;
    c->right = p->right;
    if (c->right) c->right->parent = c;
  } else {
    c->right = p;
    c->left = p->left;
    if (c->left) c->left->parent = c;
  }
  c->parent = gp;
  if (!gp)
    h->min = c;
  else if (gp->left == p)
    gp->left = c;
  else
    gp->right = c;
  p->parent = c;
  p->left = cl;
  p->right = cr;
  if (cl) cl->parent = p;
  if (cr) cr->parent = p;
}

static void sift_up(ac_heap *h, ac_timer *t) {
  while (t->parent && less(t, t->parent)) swap_with_child(h, t->parent, t);
}

static void sift_down(ac_heap *h, ac_timer *t) {
  for (;;) {
    ac_timer *m = t;
    if (t->left && less(t->left, m)) m = t->left;
    if (t->right && less(t->right, m)) m = t->right;
    if (m == t) return;
    swap_with_child(h, t, m);
  }
}

void ac_heap_insert(ac_heap *h, ac_timer *t, uint64_t deadline) {
  ac_timer *parent;
  ac_timer **slot = slot_of(h, h->count + 1, &parent);
  t->deadline = deadline;
  t->seq = h->next_seq++;
  t->parent = parent;
  t->left = t->right = NULL;
  t->active = 1;
  *slot = t;
  h->count++;
  sift_up(h, t);
}

void ac_heap_remove(ac_heap *h, ac_timer *t) {
  if (!t->active) return;
  ac_timer *parent;
  ac_timer **slot = slot_of(h, h->count, &parent);
  ac_timer *last = *slot;
  *slot = NULL; /* detach the last leaf first: it may be t's own child */
  h->count--;
  if (last != t) {
    /* The last leaf takes t's place, then moves whichever way order needs. */
    last->parent = t->parent;
    last->left = t->left;
    last->right = t->right;
    if (last->left) last->left->parent = last;
    if (last->right) last->right->parent = last;
    if (!t->parent)
      h->min = last;
    else if (t->parent->left == t)
      t->parent->left = last;
    else
      t->parent->right = last;
    sift_down(h, last);
    sift_up(h, last);
  }
  t->parent = t->left = t->right = NULL;
  t->active = 0;
}
