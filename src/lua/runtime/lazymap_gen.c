/* Build-time tool: writes the name map of the parts of the module made on
 * first use (runtime/lazy.c), so that it cannot drift from what they define.
 *
 * usage: lazymap_gen OUT.c
 * Linked against the bindings with an empty map (so every group is made
 * only when asked), it builds the module, then makes each group in order
 * and records the keys it added to the module, the internals, the table
 * of error classes and the asyncio.* metatables that existed before it. It fails (and the build
 * with it) when a group changes a value that was there before it, adds to
 * a table that has a metatable, or adds methods to a metatable whose
 * __index is not the metatable itself: those could not be made on first
 * use without changing what programs see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "alua.h"
#include "lua/runtime/lazy.h"

const alua__lazy_name alua__lazy_names[] = {{0, 0, 0}};
const int alua__lazy_count = 0;
const char alua__lazy_strings[] = "";

typedef struct entry {
  char *table, *key;
  int group;
} entry;

static entry *entries;
static size_t nentries, capentries;

static int watched(const char *name) {
  return strcmp(name, "alua.module") == 0 || strcmp(name, "alua.internals") == 0 || strcmp(name, "alua.errors") == 0 ||
         strncmp(name, "asyncio.", 8) == 0;
}

static void fail(const char *fmt, const char *a, const char *b, const char *c) {
  fprintf(stderr, "lazymap_gen: ");
  fprintf(stderr, fmt, a, b, c);
  fprintf(stderr, "\n");
  exit(1);
}

/* Pushes {[registry name] = {[key] = value}} of the watched tables. */
static void snapshot(lua_State *L) {
  lua_newtable(L);
  int snap = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, LUA_REGISTRYINDEX)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1) && watched(lua_tostring(L, -2))) {
      int t = lua_gettop(L);
      lua_newtable(L);
      lua_pushnil(L);
      while (lua_next(L, t)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, t + 1);
      }
      lua_pushvalue(L, -3);
      lua_insert(L, -2);
      lua_rawset(L, snap);
    }
    lua_pop(L, 1);
  }
}

static int is_name(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))) return 0;
  return 1;
}

/* Records what group g added to the tables of the snapshot at snap. */
static void diff(lua_State *L, int snap, int g) {
  const char *gname = alua__lazy_groups[g].name;
  lua_pushnil(L);
  while (lua_next(L, snap)) {
    const char *tname = lua_tostring(L, -2);
    int before = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, tname);
    int now = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, now)) {
      lua_pushvalue(L, -2);
      int was = lua_rawget(L, before);
      if (was != LUA_TNIL) {
        if (!lua_rawequal(L, -1, -2)) {
          fail("the part '%s' changes %s.%s, which was there before it", gname, tname,
               lua_type(L, -3) == LUA_TSTRING ? lua_tostring(L, -3) : "?");
        }
        lua_pop(L, 2);
        continue;
      }
      lua_pop(L, 1);
      if (lua_type(L, -2) != LUA_TSTRING || !is_name(lua_tostring(L, -2)))
        fail("the part '%s' adds a key to %s that is not a name%s", gname, tname, "");
      if (lua_getmetatable(L, now)) fail("the part '%s' adds to %s, which has a metatable%s", gname, tname, "");
      if (strncmp(tname, "asyncio.", 8) == 0) {
        lua_getfield(L, now, "__index");
        if (!lua_rawequal(L, -1, now))
          fail("the part '%s' adds to %s, whose __index is not itself%s", gname, tname, "");
        lua_pop(L, 1);
      }
      if (nentries == capentries) {
        capentries = capentries ? 2 * capentries : 256;
        entries = realloc(entries, capentries * sizeof *entries);
        if (!entries) fail("out of memory%s%s%s", "", "", "");
      }
      entries[nentries].table = strdup(tname);
      entries[nentries].key = strdup(lua_tostring(L, -2));
      entries[nentries].group = g;
      nentries++;
      lua_pop(L, 1);
    }
    lua_settop(L, before - 1);
  }
}

/* Writes s as one line of the strings' literal, with its NUL; returns the
 * bytes it takes. */
static size_t put_string(FILE *out, const char *s) {
  for (const char *p = s; *p; p++)
    if (*p == '"' || *p == '\\' || *p < ' ' || *p > '~') fail("a name of the map needs escaping: %s%s%s", s, "", "");
  fprintf(out, "    \"%s\\0\"\n", s);
  return strlen(s) + 1;
}

static int by_name(const void *a, const void *b) {
  const entry *x = a, *y = b;
  int c = strcmp(x->table, y->table);
  return c ? c : strcmp(x->key, y->key);
}

/* Protected: builds the module, then makes each group in order. */
static int run(lua_State *L) {
  luaL_openlibs(L);
  luaL_requiref(L, "asyncio", luaopen_asyncio, 1);
  rt *r = alua__rt_state(L);
  for (int g = 0; alua__lazy_groups[g].name; g++) {
    if (g >= 32) fail("more than 32 parts%s%s%s", "", "", "");
    snapshot(L);
    alua__lazy_load(L, r, g);
    diff(L, lua_gettop(L), g);
    lua_pop(L, 1);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: lazymap_gen OUT.c\n");
    return 2;
  }
  lua_State *L = luaL_newstate();
  if (!L) return 1;
  lua_pushcfunction(L, run);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    fprintf(stderr, "lazymap_gen: %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_close(L);
  qsort(entries, nentries, sizeof *entries, by_name);
  FILE *out = fopen(argv[1], "w");
  if (!out) {
    perror(argv[1]);
    return 1;
  }
  fprintf(out, "/* generated by src/lua/runtime/lazymap_gen.c; do not edit */\n");
  fprintf(out, "#include \"lua/runtime/lazy.h\"\n\n");
  /* the strings, each once (a table name repeats: it is given once) */
  fprintf(out, "const char alua__lazy_strings[] =\n");
  size_t *table_at = malloc((nentries + 1) * sizeof *table_at);
  size_t *key_at = malloc((nentries + 1) * sizeof *key_at);
  if (!table_at || !key_at) fail("out of memory%s%s%s", "", "", "");
  size_t at = 0;
  for (size_t i = 0; i < nentries; i++) {
    if (i > 0 && strcmp(entries[i].table, entries[i - 1].table) == 0) {
      table_at[i] = table_at[i - 1];
    } else {
      table_at[i] = at;
      at += put_string(out, entries[i].table);
    }
    key_at[i] = at;
    at += put_string(out, entries[i].key);
  }
  fprintf(out, "    \"\";\n\n");
  if (at > 0xFFFF) fail("the strings of the map take more than 64 KiB%s%s%s", "", "", "");
  fprintf(out, "const alua__lazy_name alua__lazy_names[] = {\n");
  for (size_t i = 0; i < nentries; i++) {
    fprintf(out, "    {%zu, %zu, %d}, /* %s %s: %s */\n", table_at[i], key_at[i], entries[i].group, entries[i].table,
            entries[i].key, alua__lazy_groups[entries[i].group].name);
    free(entries[i].table);
    free(entries[i].key);
  }
  fprintf(out, "};\nconst int alua__lazy_count = %zu;\n", nentries);
  free(table_at);
  free(key_at);
  free(entries);
  return fclose(out) == 0 ? 0 : 1;
}
