/* Copying values between Lua states (the loop's and a worker's), through a
 * byte buffer that any thread can hand to another.
 *
 * What can be copied: nil, booleans, numbers (integers stay integers),
 * strings (any bytes), and tables of those without metatables, keys included.
 * Tables are copied faithfully: a table reached twice (shared subtables,
 * cycles) is one table in the copy too. Nesting deeper than MAX_DEPTH is
 * refused, as are functions, userdata, threads and tables with metatables.
 *
 * Encoding: a count of values, then each value as a tag byte and its payload:
 * integers and floats as their 8 bytes, strings as a size_t length and the
 * bytes, a table as its array-size hint and pair count followed by the pairs,
 * a table seen before as T_REF and its number (tables are numbered in the
 * order they are first met, which decoding follows too). */
#include <stdlib.h>
#include <string.h>

#include "lua/internal.h"

#define MAX_DEPTH 100

enum { T_NIL, T_FALSE, T_TRUE, T_INT, T_FLT, T_STR, T_TABLE, T_REF };

/* State of one alua__marshal. */
typedef struct mctx {
  alua__mbuf *b;    /* where values go */
  int seen;        /* stack index of {[table] = number} */
  uint32_t ntables;/* tables numbered so far */
  char *err;       /* failure message */
  size_t errlen;   /* its size */
  char path[96];   /* where the failing value is, built while unwinding */
  int cut;         /* outer steps of the path did not fit */
} mctx;

void alua__mbuf_free(alua__mbuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Appends n bytes; raises a memory error (inside the protected call). */
static void put(lua_State *L, mctx *c, const void *p, size_t n) {
  alua__mbuf *b = c->b;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n) {
      if (cap > ((size_t)-1) / 2) luaL_error(L, "not enough memory");
      cap *= 2;
    }
    char *data = realloc(b->data, cap);
    if (!data) luaL_error(L, "not enough memory");
    b->data = data;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void put1(lua_State *L, mctx *c, int tag) {
  unsigned char t = (unsigned char)tag;
  put(L, c, &t, 1);
}

/* Prepends one path step for the key at kidx (while unwinding a failure). */
static void prepend_key(lua_State *L, mctx *c, int kidx) {
  char step[96];
  switch (lua_type(L, kidx)) {
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, kidx, &len);
    int ident = len > 0 && len < 60 && !(s[0] >= '0' && s[0] <= '9');
    for (size_t i = 0; ident && i < len; i++)
      ident = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
    if (ident) snprintf(step, sizeof step, ".%s", s);
    else snprintf(step, sizeof step, "[\"%.40s%s\"]", s, len > 40 ? "..." : "");
    break;
  }
  case LUA_TNUMBER:
    if (lua_isinteger(L, kidx)) snprintf(step, sizeof step, "[%lld]", (long long)lua_tointeger(L, kidx));
    else snprintf(step, sizeof step, "[%.14g]", (double)lua_tonumber(L, kidx));
    break;
  case LUA_TBOOLEAN:
    snprintf(step, sizeof step, "[%s]", lua_toboolean(L, kidx) ? "true" : "false");
    break;
  default:
    snprintf(step, sizeof step, "[%s key]", luaL_typename(L, kidx));
    break;
  }
  size_t sl = strlen(step), pl = strlen(c->path);
  if (c->cut || sl + pl >= sizeof c->path) {
    c->cut = 1; /* keep the innermost steps that fit */
    return;
  }
  memmove(c->path + sl, c->path, pl + 1);
  memcpy(c->path, step, sl);
}

static int fail(lua_State *L, mctx *c, const char *what) {
  snprintf(c->err, c->errlen, "%s", what);
  c->path[0] = '\0';
  c->cut = 0;
  return -1;
}

/* Encodes the value at idx (absolute); -1 on a value that cannot be copied. */
static int encode(lua_State *L, mctx *c, int idx, int depth) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    put1(L, c, T_NIL);
    return 0;
  case LUA_TBOOLEAN:
    put1(L, c, lua_toboolean(L, idx) ? T_TRUE : T_FALSE);
    return 0;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      lua_Integer i = lua_tointeger(L, idx);
      put1(L, c, T_INT);
      put(L, c, &i, sizeof i);
    } else {
      lua_Number n = lua_tonumber(L, idx);
      put1(L, c, T_FLT);
      put(L, c, &n, sizeof n);
    }
    return 0;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    put1(L, c, T_STR);
    put(L, c, &len, sizeof len);
    put(L, c, s, len);
    return 0;
  }
  case LUA_TTABLE:
    break;
  case LUA_TFUNCTION:
    return fail(L, c, "a function");
  default:
    return fail(L, c, lua_type(L, idx) == LUA_TLIGHTUSERDATA ? "a light userdata" : lua_type(L, idx) == LUA_TTHREAD ? "a coroutine" : "a userdata");
  }
  if (lua_getmetatable(L, idx)) {
    lua_pop(L, 1);
    return fail(L, c, "a table with a metatable");
  }
  lua_pushvalue(L, idx);
  if (lua_rawget(L, c->seen) == LUA_TNUMBER) {
    uint32_t id = (uint32_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
    put1(L, c, T_REF);
    put(L, c, &id, sizeof id);
    return 0;
  }
  lua_pop(L, 1);
  if (depth >= MAX_DEPTH) return fail(L, c, "a table nested more than 100 levels deep");
  luaL_checkstack(L, 4, "table nesting");
  lua_pushvalue(L, idx);
  lua_pushinteger(L, ++c->ntables);
  lua_rawset(L, c->seen);
  uint32_t narr = (uint32_t)lua_rawlen(L, idx);
  uint32_t count = 0;
  put1(L, c, T_TABLE);
  put(L, c, &narr, sizeof narr);
  size_t countpos = c->b->len;
  put(L, c, &count, sizeof count);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int k = lua_gettop(L) - 1;
    if (encode(L, c, k, depth + 1) < 0) {
      size_t used = strlen(c->err);
      if (used + 10 < c->errlen) memcpy(c->err + used, " as a key", 10);
      c->path[0] = '\0'; /* the path is the table's: nothing to add here */
      lua_pop(L, 2);
      return -1;
    }
    if (encode(L, c, k + 1, depth + 1) < 0) {
      prepend_key(L, c, k);
      lua_pop(L, 2);
      return -1;
    }
    count++;
    lua_pop(L, 1);
  }
  memcpy(c->b->data + countpos, &count, sizeof count);
  return 0;
}

/* Protected body of alua__marshal: ctx at 1, the values from 2 on. */
static int marshal(lua_State *L) {
  mctx *c = lua_touserdata(L, 1);
  int n = lua_gettop(L) - 1;
  uint32_t count = (uint32_t)n;
  lua_newtable(L);
  c->seen = lua_gettop(L);
  put(L, c, &count, sizeof count);
  for (int i = 1; i <= n; i++) {
    if (encode(L, c, i + 1, 0) < 0) {
      lua_pushinteger(L, i);
      return 1;
    }
  }
  return 0;
}

int alua__marshal(lua_State *L, int idx, int n, alua__mbuf *b, char *err, size_t errlen, int *which) {
  idx = lua_absindex(L, idx);
  mctx c;
  memset(&c, 0, sizeof c);
  c.b = b;
  c.err = err;
  c.errlen = errlen;
  *which = 0;
  if (!lua_checkstack(L, n + 3)) {
    snprintf(err, errlen, "too many values");
    return -1;
  }
  int top = lua_gettop(L);
  lua_pushcfunction(L, marshal);
  lua_pushlightuserdata(L, &c);
  for (int i = 0; i < n; i++) lua_pushvalue(L, idx + i);
  int status = lua_pcall(L, n + 1, 1, 0);
  if (status != LUA_OK) {
    snprintf(err, errlen, "%s", status == LUA_ERRMEM ? "not enough memory" : lua_tostring(L, -1));
    lua_settop(L, top);
    return -1;
  }
  if (!lua_isnil(L, -1)) {
    *which = (int)lua_tointeger(L, -1);
    if (c.path[0]) {
      size_t used = strlen(err);
      snprintf(err + used, errlen - used, " at %s%s", c.cut ? "..." : "", c.path);
    }
    lua_settop(L, top);
    return -1;
  }
  lua_settop(L, top);
  return 0;
}

/* Reading side: position in the buffer. */
typedef struct rdr {
  const char *p;   /* next byte */
  const char *end; /* end of the data */
  int refs;        /* stack index of {[number] = table} */
  uint32_t ntables;/* tables made so far */
} rdr;

static void get(lua_State *L, rdr *r, void *out, size_t n) {
  if ((size_t)(r->end - r->p) < n) luaL_error(L, "corrupt marshalled data");
  memcpy(out, r->p, n);
  r->p += n;
}

static void decode(lua_State *L, rdr *r) {
  unsigned char tag;
  get(L, r, &tag, 1);
  switch (tag) {
  case T_NIL:
    lua_pushnil(L);
    return;
  case T_FALSE:
  case T_TRUE:
    lua_pushboolean(L, tag == T_TRUE);
    return;
  case T_INT: {
    lua_Integer i;
    get(L, r, &i, sizeof i);
    lua_pushinteger(L, i);
    return;
  }
  case T_FLT: {
    lua_Number n;
    get(L, r, &n, sizeof n);
    lua_pushnumber(L, n);
    return;
  }
  case T_STR: {
    size_t len;
    get(L, r, &len, sizeof len);
    if ((size_t)(r->end - r->p) < len) luaL_error(L, "corrupt marshalled data");
    lua_pushlstring(L, r->p, len);
    r->p += len;
    return;
  }
  case T_REF: {
    uint32_t id;
    get(L, r, &id, sizeof id);
    lua_rawgeti(L, r->refs, id);
    return;
  }
  case T_TABLE: {
    uint32_t narr, count;
    get(L, r, &narr, sizeof narr);
    get(L, r, &count, sizeof count);
    luaL_checkstack(L, 4, "table nesting");
    lua_createtable(L, (int)(narr < count ? narr : count), (int)(count > narr ? count - narr : 0));
    lua_pushvalue(L, -1);
    lua_rawseti(L, r->refs, ++r->ntables);
    for (uint32_t i = 0; i < count; i++) {
      decode(L, r);
      decode(L, r);
      lua_rawset(L, -3);
    }
    return;
  }
  default:
    luaL_error(L, "corrupt marshalled data");
  }
}

int alua__unmarshal(lua_State *L, const alua__mbuf *b) {
  rdr r = {b->data, b->data + b->len, 0, 0};
  uint32_t n;
  get(L, &r, &n, sizeof n);
  luaL_checkstack(L, (int)n + 2, "too many values");
  lua_newtable(L);
  r.refs = lua_gettop(L);
  for (uint32_t i = 0; i < n; i++) decode(L, &r);
  lua_remove(L, r.refs);
  return (int)n;
}
