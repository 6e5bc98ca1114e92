/* How the prompt shows values (SPEC 4), after Node's util.inspect: a table
 * becomes a readable constructor, `{ 1, 2, name = "x", sub = { ... } }`,
 * on one line when it fits and one entry per line otherwise (short array
 * items in columns), with the array part first and the other keys sorted
 * (numbers, then strings in natural order, booleans, then the rest), so the
 * same table always reads the same. Limits keep a
 * huge or deep table from flooding the terminal; a table met again on the
 * way down is a cycle, shown as Node does: `<ref *1> { self = [Circular *1] }`.
 *
 * Only raw reads: no __index, __pairs or __len runs. __tostring does, in
 * protected mode (a failing one shows the default `table: 0x...`): it is
 * how asyncio objects and errors describe themselves. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "cli/repl.h"

/* Levels of nested tables shown; deeper ones read `{...}`. */
#define MAX_DEPTH 4
/* Entries shown per table; the rest are counted: `... (12 more)`. */
#define MAX_ITEMS 100
/* Bytes of a string inside a table; the rest are counted. */
#define MAX_STRING 200
/* Values rendered in all; past it, tables read `{...}`. */
#define MAX_TOTAL 2000
/* A table goes on one line when the line stays this short. */
#define WIDTH 80
/* Array items this short go in columns when the table takes lines. */
#define COLUMN_ITEM 16

struct ictx {
  lua_State *L;
  int path;   /* stack index: table -> 0 while being rendered, or its ref id */
  int nextid; /* the next ref id */
  int budget; /* values that may still be rendered */
};

static void render(struct ictx *c, int idx, int depth, size_t indent);

/* Protected: luaL_tolstring of the value at 1. */
static int p_tostring(lua_State *L) {
  luaL_tolstring(L, 1, NULL);
  return 1;
}

/* Pushes tostring(v) for the value at idx; when __tostring fails or gives
 * no string, the default `type: 0x...`. */
static void push_tostring(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, p_tostring);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) return;
  lua_pop(L, 1);
  lua_pushfstring(L, "%s: %p", luaL_typename(L, idx), lua_topointer(L, idx));
}

static int has_meta(lua_State *L, int idx, const char *field) {
  int t = luaL_getmetafield(L, idx, field);
  if (t != LUA_TNIL) lua_pop(L, 1);
  return t != LUA_TNIL;
}

/* Pushes the string at idx as a Lua literal in double quotes, cut after
 * MAX_STRING bytes (at a UTF-8 character boundary). */
static void push_quoted(lua_State *L, int idx) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  size_t shown = len;
  if (shown > MAX_STRING) {
    shown = MAX_STRING;
    while (shown > 0 && ((unsigned char)s[shown] & 0xC0) == 0x80) shown--;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '"');
  for (size_t i = 0; i < shown; i++) {
    unsigned char ch = (unsigned char)s[i];
    switch (ch) {
    case '"': luaL_addstring(&b, "\\\""); break;
    case '\\': luaL_addstring(&b, "\\\\"); break;
    case '\n': luaL_addstring(&b, "\\n"); break;
    case '\r': luaL_addstring(&b, "\\r"); break;
    case '\t': luaL_addstring(&b, "\\t"); break;
    default:
      if (ch < 32 || ch == 127) {
        char esc[8];
        /* three digits, so a digit after it cannot join the escape */
        snprintf(esc, sizeof esc, "\\%03d", ch);
        luaL_addstring(&b, esc);
      } else {
        luaL_addchar(&b, (char)ch);
      }
    }
  }
  luaL_addchar(&b, '"');
  if (shown < len) {
    lua_pushfstring(L, "... (%I more bytes)", (lua_Integer)(len - shown));
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
}

static int is_identifier(const char *s, size_t len) {
  static const char *const reserved[] = {"and", "break", "do", "else", "elseif", "end", "false", "for",
                                         "function", "goto", "if", "in", "local", "nil", "not", "or",
                                         "repeat", "return", "then", "true", "until", "while", NULL};
  if (len == 0 || !(s[0] == '_' || ((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z'))) return 0;
  for (size_t i = 1; i < len; i++) {
    char ch = s[i];
    if (!(ch == '_' || (ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'z'))) return 0;
  }
  for (const char *const *r = reserved; *r; r++)
    if (strlen(*r) == len && memcmp(*r, s, len) == 0) return 0;
  return 1;
}

/* Pushes `name = `, `["a b"] = `, `[2] = ` ... for the key at idx. */
static void push_key(lua_State *L, int idx) {
  size_t len;
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *s = lua_tolstring(L, idx, &len);
    if (is_identifier(s, len)) {
      lua_pushfstring(L, "%s = ", s);
      return;
    }
    push_quoted(L, idx);
  } else {
    push_tostring(L, idx);
  }
  lua_pushfstring(L, "[%s] = ", lua_tostring(L, -1));
  lua_remove(L, -2);
}

/* A key of a table's hash part, for sorting. */
struct key {
  int rank;          /* numbers, strings, booleans, other types */
  lua_Number num;    /* a number's value */
  const char *str;   /* a string's bytes (anchored in the key list) */
  size_t len;        /* their length */
  const void *ptr;   /* any other key's identity */
  int type;          /* its type, for the order between types */
  lua_Integer slot;  /* its index in the key list */
};

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* Compares strings with runs of digits as numbers: "key2" < "key10". */
static int natural_cmp(const char *a, size_t alen, const char *b, size_t blen) {
  size_t i = 0, j = 0;
  while (i < alen && j < blen) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      size_t si = i, sj = j;
      while (si < alen && a[si] == '0') si++;
      while (sj < blen && b[sj] == '0') sj++;
      size_t ei = si, ej = sj;
      while (ei < alen && is_digit(a[ei])) ei++;
      while (ej < blen && is_digit(b[ej])) ej++;
      if (ei - si != ej - sj) return ei - si < ej - sj ? -1 : 1;
      int r = memcmp(a + si, b + sj, ei - si);
      if (r) return r;
      if (ei - i != ej - j) return ei - i < ej - j ? -1 : 1; /* fewer leading zeros first */
      i = ei;
      j = ej;
      continue;
    }
    if (a[i] != b[j]) return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
    i++;
    j++;
  }
  return (alen - i > blen - j) - (alen - i < blen - j);
}

static int key_cmp(const void *pa, const void *pb) {
  const struct key *a = pa, *b = pb;
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  switch (a->rank) {
  case 0:
    return a->num < b->num ? -1 : a->num > b->num;
  case 1:
    return natural_cmp(a->str, a->len, b->str, b->len);
  case 2:
    return (int)a->num - (int)b->num;
  default:
    if (a->type != b->type) return a->type < b->type ? -1 : 1;
    return (a->ptr > b->ptr) - (a->ptr < b->ptr);
  }
}

/* Pushes the entries of the table at t (array part first, then the other
 * keys in order) as strings, at most MAX_ITEMS of them, and a last
 * `... (N more)` when some are left out. Returns how many it pushed; sets
 * *array when all of them are array items and *more when the last one is
 * that `... (N more)`. */
static int push_entries(struct ictx *c, int t, int depth, size_t indent, int *array, int *more) {
  lua_State *L = c->L;
  lua_Integer narray = 0;
  while (narray < LUA_MAXINTEGER && lua_rawgeti(L, t, narray + 1) != LUA_TNIL) {
    lua_pop(L, 1);
    narray++;
  }
  lua_pop(L, 1);
  /* the other keys, in a list that anchors them while sorting */
  lua_newtable(L);
  int list = lua_gettop(L);
  lua_Integer nkeys = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_isinteger(L, -1)) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k >= 1 && k <= narray) continue;
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, list, ++nkeys);
  }
  struct key *keys = NULL;
  if (nkeys > 0) {
    keys = lua_newuserdatauv(L, (size_t)nkeys * sizeof *keys, 0); /* freed with the stack */
    for (lua_Integer i = 0; i < nkeys; i++) {
      struct key *k = &keys[i];
      memset(k, 0, sizeof *k);
      k->slot = i + 1;
      k->type = lua_rawgeti(L, list, i + 1);
      switch (k->type) {
      case LUA_TNUMBER: k->rank = 0; k->num = lua_tonumber(L, -1); break;
      case LUA_TSTRING: k->rank = 1; k->str = lua_tolstring(L, -1, &k->len); break;
      case LUA_TBOOLEAN: k->rank = 2; k->num = lua_toboolean(L, -1); break;
      default: k->rank = 3; k->ptr = lua_topointer(L, -1); break;
      }
      lua_pop(L, 1);
    }
    qsort(keys, (size_t)nkeys, sizeof *keys, key_cmp);
  }
  int keysidx = lua_gettop(L);
  lua_Integer total = narray + nkeys;
  lua_Integer shown = total < MAX_ITEMS ? total : MAX_ITEMS;
  luaL_checkstack(L, (int)shown + LUA_MINSTACK, "too many entries to show");
  int n = 0;
  lua_Integer i;
  for (i = 0; i < shown && c->budget > 0; i++) {
    if (i < narray) {
      lua_rawgeti(L, t, i + 1);
      render(c, lua_gettop(L), depth + 1, indent + 2);
      lua_remove(L, -2);
    } else {
      lua_rawgeti(L, list, keys[i - narray].slot);
      push_key(L, -1);
      lua_pushvalue(L, -2);
      lua_rawget(L, t);
      render(c, lua_gettop(L), depth + 1, indent + 2);
      lua_remove(L, -2);
      lua_concat(L, 2);
      lua_remove(L, -2);
    }
    n++;
  }
  *array = nkeys == 0;
  *more = i < total;
  if (i < total) {
    lua_pushfstring(L, "... (%I more)", (lua_Integer)(total - i));
    n++;
  }
  /* drop the key list (and the sorted keys) from under the entries */
  lua_rotate(L, list, n);
  lua_settop(L, lua_gettop(L) - (keysidx - list + 1));
  return n;
}

static void add_spaces(luaL_Buffer *b, size_t n) {
  while (n-- > 0) luaL_addchar(b, ' ');
}

/* Replaces the n strings on top (a table's entries) with its constructor:
 * on one line if that fits, else one entry per line, or, for an array of
 * short items, as many per line as fit, in columns (a last `... (N more)`,
 * when `more`, on a line of its own). */
static void join_entries(lua_State *L, int n, size_t indent, int array, int more) {
  size_t width = indent + 4, longest = 0;
  int multiline = 0;
  for (int i = n; i >= 1; i--) {
    size_t len;
    const char *s = lua_tolstring(L, -i, &len);
    width += len + 2;
    if (len > longest && !(more && i == 1)) longest = len;
    if (memchr(s, '\n', len)) multiline = 1;
  }
  int columns = 1;
  if (width > WIDTH) {
    if (!multiline && array && longest <= COLUMN_ITEM && n > 6) {
      columns = (int)((WIDTH - indent - 2) / (longest + 2));
      if (columns < 1) columns = 1;
    }
    multiline = 1;
  }
  luaL_Buffer b;
  int first = lua_gettop(L) - n + 1;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, multiline ? "{\n" : "{ ");
  for (int i = 0; i < n; i++) {
    size_t len;
    lua_tolstring(L, first + i, &len);
    int col = i % columns;
    if (more && i == n - 1) col = 0; /* the line before ended at the last item */
    if (multiline && col == 0) add_spaces(&b, indent + 2);
    lua_pushvalue(L, first + i);
    luaL_addvalue(&b);
    if (!multiline) {
      if (i + 1 < n) luaL_addstring(&b, ", ");
    } else if (col + 1 == columns || i + 1 == n || (more && i == n - 2)) {
      luaL_addstring(&b, ",\n");
    } else {
      luaL_addchar(&b, ',');
      add_spaces(&b, longest + 1 - len);
    }
  }
  if (multiline) {
    for (size_t k = 0; k < indent; k++) luaL_addchar(&b, ' ');
    luaL_addchar(&b, '}');
  } else {
    luaL_addstring(&b, " }");
  }
  luaL_pushresult(&b);
  lua_replace(L, first);
  lua_settop(L, first);
}

/* Pushes the rendering of the table at t: `name { ... }` when its
 * metatable has a __name, as Node shows a class name. */
static void render_table(struct ictx *c, int t, int depth, size_t indent) {
  lua_State *L = c->L;
  lua_pushvalue(L, t);
  if (lua_rawget(L, c->path) != LUA_TNIL) {
    /* met on the way down to here: a cycle; the table gets a ref id */
    lua_Integer id = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (id == 0) {
      id = ++c->nextid;
      lua_pushvalue(L, t);
      lua_pushinteger(L, id);
      lua_rawset(L, c->path);
    }
    lua_pushfstring(L, "[Circular *%I]", id);
    return;
  }
  lua_pop(L, 1);
  int tt = luaL_getmetafield(L, t, "__name");
  if (tt == LUA_TSTRING) {
    lua_pushliteral(L, " ");
    lua_concat(L, 2);
  } else {
    if (tt != LUA_TNIL) lua_pop(L, 1);
    lua_pushliteral(L, "");
  }
  lua_pushnil(L);
  int empty = !lua_next(L, t);
  if (!empty) lua_pop(L, 2);
  if (empty) {
    lua_pushliteral(L, "{}");
  } else if (depth >= MAX_DEPTH || c->budget <= 0) {
    lua_pushliteral(L, "{...}");
  } else {
    lua_pushvalue(L, t);
    lua_pushinteger(L, 0);
    lua_rawset(L, c->path);
    int array, more;
    int n = push_entries(c, t, depth, indent, &array, &more);
    join_entries(L, n, indent, array, more);
    lua_pushvalue(L, t);
    lua_rawget(L, c->path);
    lua_Integer id = lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushvalue(L, t);
    lua_pushnil(L);
    lua_rawset(L, c->path);
    if (id > 0) {
      lua_pushfstring(L, "<ref *%I> ", id);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
  }
  lua_concat(L, 2); /* after the __name */
}

/* Pushes the rendering of the value at idx inside a table. */
static void render(struct ictx *c, int idx, int depth, size_t indent) {
  lua_State *L = c->L;
  c->budget--;
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    push_quoted(L, idx);
    return;
  case LUA_TTABLE:
    if (!has_meta(L, idx, "__tostring")) {
      render_table(c, idx, depth, indent);
      return;
    }
    /* FALLTHROUGH */
  default:
    push_tostring(L, idx);
  }
}

/* Protected: pushes the rendering of the value at 1 at the top level:
 * strings as they are (as lua5.4 prints them), tables as constructors,
 * anything else as tostring shows it. */
static int p_inspect(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING) {
    lua_settop(L, 1);
    return 1;
  }
  lua_newtable(L);
  struct ictx c = {.L = L, .path = lua_gettop(L), .nextid = 0, .budget = MAX_TOTAL};
  render(&c, 1, 0, 0);
  return 1;
}

int cli_inspect(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, p_inspect);
  lua_pushvalue(L, idx);
  return lua_pcall(L, 1, 1, 0);
}
