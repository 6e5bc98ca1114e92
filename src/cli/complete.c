/* Tab completion at the prompt: globals and keywords, `a.b.<TAB>` fields of
 * tables, `obj:<TAB>` methods. Names are found by raw lookups through
 * tables and the `__index` tables of metatables (asyncio objects, strings,
 * instances of Lua classes); no function or metamethod is ever called, so
 * completing can have no side effect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "cli/repl.h"
#include "cli/rl.h"

/* How many __index tables a lookup follows. */
#define INDEX_DEPTH 16

static lua_State *CL;       /* state whose globals are completed */
static const char **cands;  /* candidates of the completion in progress */
static int ncands;          /* their number */

static const char *const keywords[] = {
    "and",  "async", "await", "break",  "do",   "else", "elseif", "end",   "false", "for",   "function",
    "goto", "if",    "in",    "local",  "nil",  "not",  "or",     "repeat", "return", "then", "true",
    "until", "while", NULL};

/* True for Lua's reserved words (async and await stay usable as names,
 * SPEC 3, so they are not reserved). s has len bytes. */
static int is_reserved(const char *s, size_t len) {
  for (const char *const *k = keywords; *k; k++)
    if (strlen(*k) == len && memcmp(*k, s, len) == 0) return strcmp(*k, "async") != 0 && strcmp(*k, "await") != 0;
  return 0;
}

static int is_letter(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int is_identifier(const char *s, size_t len) {
  if (len == 0 || !is_letter(s[0])) return 0;
  for (size_t i = 1; i < len; i++)
    if (!is_letter(s[i]) && !(s[i] >= '0' && s[i] <= '9')) return 0;
  return !is_reserved(s, len);
}

/* Pushes the __index table of the value at idx's metatable, or returns 0
 * (and pushes nothing) when there is none or it is not a table. */
static int push_index_table(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  lua_pushliteral(L, "__index");
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_istable(L, -1)) return 1;
  lua_pop(L, 1);
  return 0;
}

/* Replaces the value on top with its field `key` (key of klen bytes), as
 * indexing would find it through tables and __index tables; nil when it
 * cannot be found without calling anything. */
static void lookup(lua_State *L, const char *key, size_t klen) {
  for (int depth = 0; depth < INDEX_DEPTH; depth++) {
    int obj = lua_gettop(L);
    if (lua_istable(L, obj)) {
      lua_pushlstring(L, key, klen);
      lua_rawget(L, obj);
      if (!lua_isnil(L, -1)) {
        lua_remove(L, obj);
        return;
      }
      lua_pop(L, 1);
    }
    if (!push_index_table(L, obj)) break;
    lua_remove(L, obj);
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

/* Adds to the set at `set` prefix..key for every name reachable from the
 * value on top (its own keys if a table, then its __index tables') that
 * starts with `part`; with methods, only names of functions. Pops the
 * value. Names starting with "__" show only once "_" was typed. */
static void add_names(lua_State *L, int set, const char *prefix, const char *part, int methods) {
  size_t plen = strlen(part);
  lua_newtable(L); /* tables already listed: __index may loop */
  lua_insert(L, -2);
  int seen = lua_gettop(L) - 1;
  for (int depth = 0; depth < INDEX_DEPTH; depth++) {
    int obj = lua_gettop(L);
    if (lua_istable(L, obj)) {
      lua_pushvalue(L, obj);
      if (lua_rawget(L, seen) != LUA_TNIL) break;
      lua_pop(L, 1);
      lua_pushvalue(L, obj);
      lua_pushboolean(L, 1);
      lua_rawset(L, seen);
      lua_pushnil(L);
      while (lua_next(L, obj)) {
        size_t klen;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &klen) : NULL;
        int wanted = k && klen >= plen && memcmp(k, part, plen) == 0 && is_identifier(k, klen) &&
                     (part[0] == '_' || strncmp(k, "__", 2) != 0) && (!methods || lua_isfunction(L, -1));
        lua_pop(L, 1);
        if (wanted) {
          lua_pushfstring(L, "%s%s", prefix, k);
          lua_pushboolean(L, 1);
          lua_rawset(L, set);
        }
      }
    }
    if (!push_index_table(L, obj)) break;
    lua_remove(L, obj);
  }
  lua_settop(L, seen - 1);
}

/* Protected: completions of the word at 1; returns them as a sequence. */
static int collect(lua_State *L) {
  const char *word = lua_tostring(L, 1);
  lua_newtable(L);
  int set = lua_gettop(L);
  const char *sep = NULL;
  for (const char *p = word; *p; p++)
    if (*p == '.' || *p == ':') sep = p;
  lua_pushglobaltable(L);
  if (!sep) {
    add_names(L, set, "", word, 0);
    size_t wlen = strlen(word);
    for (const char *const *k = keywords; *k; k++) {
      if (strncmp(*k, word, wlen) != 0) continue;
      lua_pushstring(L, *k);
      lua_pushboolean(L, 1);
      lua_rawset(L, set);
    }
  } else {
    /* the dotted path before the separator: names only, no ':' inside */
    const char *p = word;
    int ok = 1;
    while (ok && p < sep) {
      const char *end = p;
      while (end < sep && *end != '.') end++;
      ok = is_identifier(p, (size_t)(end - p)); /* "a:b.c" fails here */
      if (ok) lookup(L, p, (size_t)(end - p));
      p = end + 1;
    }
    if (ok && !lua_isnil(L, -1)) {
      lua_pushlstring(L, word, (size_t)(sep - word + 1));
      lua_insert(L, -2);
      add_names(L, set, lua_tostring(L, -2), sep + 1, *sep == ':');
    }
  }
  lua_createtable(L, 0, 0);
  int list = lua_gettop(L);
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, set)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, list, ++n);
  }
  return 1;
}

static char *generator(const char *text, int state) {
  static int next;
  if (state == 0) next = 0;
  size_t len = strlen(text);
  while (next < ncands) {
    const char *c = cands[next++];
    if (strncmp(c, text, len) == 0) return strdup(c);
  }
  return NULL;
}

static char **attempt(const char *text, int start, int end) {
  (void)start;
  (void)end;
  RL(rl_attempted_completion_over) = 1; /* never fall back to file names */
  RL(rl_completion_append_character) = '\0';
  lua_State *L = CL;
  int top = lua_gettop(L);
  char **matches = NULL;
  lua_pushcfunction(L, collect);
  lua_pushstring(L, text);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
    ncands = (int)lua_rawlen(L, -1);
    cands = calloc((size_t)ncands + 1, sizeof *cands);
    if (cands) {
      /* the strings stay alive in the list on the stack until the end */
      for (int i = 1; i <= ncands; i++) {
        lua_rawgeti(L, -1, i);
        cands[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
      }
      matches = RL(rl_completion_matches)(text, generator);
      free(cands);
    }
    cands = NULL;
    ncands = 0;
  }
  lua_settop(L, top);
  return matches;
}

void cli_complete_init(lua_State *L) {
  CL = L;
  RL(rl_attempted_completion_function) = attempt;
  /* '.' and ':' are part of the word: a completion covers the whole path */
  RL(rl_completer_word_break_characters) = " \t\n\"\\'`@$><=;|&{(,)}[]+-*/%^~#!";
}
