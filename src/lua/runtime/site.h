/* Creation sites, the hot part (see site.c): the cache lookup that every
 * awaitable's creation or hand-out makes, inline. Only src/lua/ includes
 * this. */
#ifndef ALUA_LUA_RUNTIME_SITE_H
#define ALUA_LUA_RUNTIME_SITE_H

#include <stdint.h>

#include "lua/internal.h"

#define ALUA_SITE_CACHE 256

/* The start of Lua 5.4's CallInfo (lstate.h): func, top, previous, next,
 * then the saved pc of a Lua function. */
struct alua__ci_prefix {
  void *func;
  void *top;
  struct alua__ci_prefix *previous;
  void *next;
  const void *savedpc;
};

/* The start of Lua 5.4's lua_State: the GC header, status bytes and nci
 * (one word), top, l_G, then the running CallInfo. */
struct alua__state_prefix {
  void *next;
  uintptr_t header;
  void *top;
  void *l_G;
  struct alua__ci_prefix *ci;
};

typedef struct alua__site_entry {
  const void *pc;  /* key: the caller's saved pc, NULL for an empty entry */
  int id;          /* its site */
} alua__site_entry;

/* The runtime's site tables (rt->sites): the cache, and the registry refs
 * of {[id] = "file:line", ["file:line"] = id} and {[slot] = function}. */
struct alua__sites {
  alua__site_entry cache[ALUA_SITE_CACHE];
  int ref_names;   /* interned site names */
  int ref_keep;    /* the function of each cache entry, kept alive */
  int next_id;     /* ids handed out so far */
};

/* 1 when saved pcs can be read (site.c's probe said so). */
extern int alua__site_keys_ok;

/* The slow path: lua_getstack and lua_getinfo. */
int alua__site_lookup(lua_State *L, rt *r);

static inline unsigned alua__site_slot(const void *pc) {
  uintptr_t p = (uintptr_t)pc;
  return (unsigned)((p >> 2) ^ (p >> 10)) & (ALUA_SITE_CACHE - 1);
}

/* The site of the caller of the C function running on L ("file:line" as an
 * id); 0 when there is none. A cache hit costs a few loads. */
static inline int alua__site_fast(lua_State *L, rt *r) {
  struct alua__sites *s = r->sites;
  if (s && alua__site_keys_ok > 0) {
    const struct alua__ci_prefix *ci = ((struct alua__state_prefix *)L)->ci->previous;
    const void *pc = ci ? ci->savedpc : NULL;
    const alua__site_entry *e = &s->cache[alua__site_slot(pc)];
    if (e->pc == pc && pc) return e->id;
  }
  return alua__site_lookup(L, r);
}

/* A shared operation was handed out here, as `what` ("q:get()"); inline,
 * for the hot paths. */
static inline void alua__aw_handout_fast(lua_State *L, alua__awop *op, const char *what) {
  if (op->aw.pending++) return;
  rt *r = op->rt;
  op->aw.site = alua__site_fast(L, r);
  op->aw.pass = r->pass;
  op->what = what;
  r->aw_handed++;
  r->ring[r->ringn++ % ALUA_AW_RING] = op;
}

#endif
