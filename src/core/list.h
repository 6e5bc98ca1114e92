/* Intrusive circular doubly-linked list. The link lives inside the owning
 * record; ac_container_of() gets back to the record. A node that is not on
 * any list points to itself, so removal is idempotent. */
#ifndef ALUA_CORE_LIST_H
#define ALUA_CORE_LIST_H

#include <stddef.h>

typedef struct ac_list {
  struct ac_list *next; /* next node, or the head itself at the end */
  struct ac_list *prev; /* previous node, or the head itself at the start */
} ac_list;

#define ac_container_of(ptr, type, member) \
  ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void ac_list_init(ac_list *h) { h->next = h->prev = h; }

static inline int ac_list_empty(const ac_list *h) { return h->next == h; }

/* True when n is on some list (only meaningful for nodes set up by
 * ac_list_init or taken off with ac_list_remove). */
static inline int ac_list_linked(const ac_list *n) { return n->next != n; }

static inline void ac_list_push_back(ac_list *h, ac_list *n) {
  n->prev = h->prev;
  n->next = h;
  h->prev->next = n;
  h->prev = n;
}

static inline void ac_list_push_front(ac_list *h, ac_list *n) {
  n->next = h->next;
  n->prev = h;
  h->next->prev = n;
  h->next = n;
}

/* Unlinks n from whatever list holds it and leaves it self-linked. */
static inline void ac_list_remove(ac_list *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;
}

/* Removes and returns the first node, or NULL when the list is empty. */
static inline ac_list *ac_list_pop_front(ac_list *h) {
  ac_list *n = h->next;
  if (n == h) return NULL;
  ac_list_remove(n);
  return n;
}

/* Moves every node of `from` to the end of `to`, in order; `from` ends empty. */
static inline void ac_list_splice(ac_list *to, ac_list *from) {
  if (ac_list_empty(from)) return;
  from->next->prev = to->prev;
  to->prev->next = from->next;
  from->prev->next = to;
  to->prev = from->prev;
  ac_list_init(from);
}

#endif
