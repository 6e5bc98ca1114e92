/* The parts of the module made on first use (lazy.c), and the map from
 * names to those parts that the build generates (lazymap_gen.c). */
#ifndef ALUA_LUA_LAZY_H
#define ALUA_LUA_LAZY_H

#include "lua/internal.h"

/* Opens a C part of the module into (module, internals), as luaopen_asyncio
 * does with the parts every program gets. */
typedef void (*alua__opener)(lua_State *L, rt *r, int module, int internals);

/* A part of the module made on first use: C parts, then library files, run
 * in the order given (each may use what the ones before defined). */
typedef struct alua__lazy_group {
  const char *name;              /* for messages, e.g. "streams" */
  const alua__opener *open;      /* C parts, NULL-ended */
  const char *const *libs;       /* library files (embedded names), NULL-ended */
} alua__lazy_group;

/* The base of the module, group 0: what every program that uses asyncio
 * needs (runtime.c). */
extern const alua__opener alua__base_openers[];

/* The groups, in the order a program that used all of them made them before
 * they were lazy (the generator loads them in this order); ended by a NULL
 * name. At most 32. */
extern const alua__lazy_group alua__lazy_groups[];

/* One name a group defines: the key `key` of the table registry[table]
 * (the module "alua.module", the internals "alua.internals", the error
 * classes "alua.errors", or a metatable of another part, "asyncio.Loop").
 * The strings are offsets into alua__lazy_strings, not pointers: a table of
 * pointers would be relocated, so copied, at every start of the program. */
typedef struct alua__lazy_name {
  unsigned short table; /* registry key of the table (offset) */
  unsigned short key;   /* the name (offset) */
  unsigned char group;  /* index into alua__lazy_groups */
} alua__lazy_name;

/* Every name of every group, sorted by (table, key) with strcmp; there are
 * alua__lazy_count of them. Generated at build time
 * (src/lua/runtime/lazymap_gen.c). */
extern const alua__lazy_name alua__lazy_names[];
extern const int alua__lazy_count;
/* The strings of the map, each ended by a NUL; LAZY_STR(e->key) is one. */
extern const char alua__lazy_strings[];
#define LAZY_STR(offset) (alua__lazy_strings + (offset))

/* Gives the tables the map names (those that exist so far) the __index that
 * makes a group on a missing name, and the module its __pairs. Run when
 * the module is built and after each group. */
void alua__lazy_install(lua_State *L, rt *r);

/* Makes group g (index into alua__lazy_groups) unless it is made or being
 * made. Raises what making it raised. Group 0 is the base: C that makes
 * objects of the module without looking up a name first (a new loop)
 * makes it with alua__lazy_load(L, r, 0). */
void alua__lazy_load(lua_State *L, rt *r, int g);

/* Makes every group not made yet. */
void alua__lazy_load_all(lua_State *L, rt *r);

/* Runs the embedded library file `name` with (module, internals) at those
 * stack indices (runtime.c). */
void alua__run_lib(lua_State *L, const char *name, int module, int internals);

#endif
