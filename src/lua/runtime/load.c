/* Loaders that run text chunks through the async/await translator. The Lua
 * functions mirror lbaselib.c and loadlib.c of Lua 5.4, so that replacing
 * the stock ones changes nothing but the syntax accepted. */
#include "lua/runtime/load.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "syntax/translate.h"

#define BOX_META "alua.loadbox"

/* A malloc'd block owned by a userdata, so that it is freed even if a Lua
 * error (out of memory) unwinds the C stack while we hold it. */
struct box {
  char *p; /* the block, or NULL */
};

static int box_gc(lua_State *L) {
  struct box *b = lua_touserdata(L, 1);
  free(b->p);
  b->p = NULL;
  return 0;
}

/* Pushes an empty box. */
static struct box *box_new(lua_State *L) {
  struct box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->p = NULL;
  if (luaL_newmetatable(L, BOX_META)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

static void box_free(struct box *b) {
  free(b->p);
  b->p = NULL;
}

int alua_translate(const char *src, size_t len, char **out, size_t *outlen) {
  return at_translate(src, len, out, outlen);
}

static bool is_binary(const char *s, size_t len) {
  return len > 0 && s[0] == LUA_SIGNATURE[0];
}

/* Never raises: lua_load is protected, and "not enough memory" is the
 * state's preallocated message, so pushing it allocates nothing. */
int alua_loadbufferx(lua_State *L, const char *buf, size_t len,
                     const char *chunkname, const char *mode) {
  if (is_binary(buf, len))
    return luaL_loadbufferx(L, buf, len, chunkname, mode);
  char *out = NULL;
  size_t outlen = 0;
  if (at_translate(buf, len, &out, &outlen) != 0) {
    lua_pushliteral(L, "not enough memory");
    return LUA_ERRMEM;
  }
  int status = luaL_loadbufferx(L, out, outlen, chunkname, mode);
  free(out);
  return status;
}

/* Reads all of f into b->p (length in *len). Returns 0, ENOMEM, or the
 * errno of a read error. */
static int read_all(FILE *f, struct box *b, size_t *len) {
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16384;
      char *q = ncap > cap ? realloc(b->p, ncap) : NULL;
      if (!q)
        return ENOMEM;
      b->p = q;
      cap = ncap;
    }
    size_t got = fread(b->p + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f))
        return errno ? errno : EIO;
      break;
    }
  }
  *len = n;
  return 0;
}

/* Replaces the file name at fnameindex and everything above it with
 * "cannot <what> <file>: <reason>", as luaL_loadfilex does. */
static int errfile(lua_State *L, const char *what, int fnameindex, int err) {
  const char *filename = lua_tostring(L, fnameindex) + 1;
  if (err != 0)
    lua_pushfstring(L, "cannot %s %s: %s", what, filename, strerror(err));
  else
    lua_pushfstring(L, "cannot %s %s", what, filename);
  lua_replace(L, fnameindex);
  lua_settop(L, fnameindex);
  return LUA_ERRFILE;
}

/* Loads file contents the way luaL_loadfilex does: a byte order mark is
 * skipped, a '#' first line becomes an empty line (so lines keep their
 * numbers) and a binary chunk after either is loaded as it is. */
static int load_contents(lua_State *L, const char *s, size_t n,
                         const char *chunkname, const char *mode) {
  bool skipped = false;
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
    s += 3;
    n -= 3;
  }
  if (n > 0 && s[0] == '#') {
    const char *nl = memchr(s, '\n', n);
    skipped = true;
    if (nl) {
      n -= (size_t)(nl - s);
      s = nl;
    } else {
      s = "\n";
      n = 1;
    }
  }
  if (skipped && is_binary(s + 1, n - 1))
    return luaL_loadbufferx(L, s + 1, n - 1, chunkname, mode);
  return alua_loadbufferx(L, s, n, chunkname, mode);
}

/* What alua_loadfilex hands to its protected part. */
struct fileload {
  const char *path; /* file name, NULL for stdin */
  const char *mode; /* as luaL_loadfilex's */
  int status;       /* the load's status */
};

/* Protected part of alua_loadfilex: leaves one value, the chunk or the
 * message. Lua allocates (and may raise) only while no file is open; the
 * contents are in a box, so a raise frees them too. */
static int p_loadfile(lua_State *L) {
  struct fileload *a = lua_touserdata(L, 1);
  int fnameindex = lua_gettop(L) + 1;
  FILE *f = stdin;
  size_t len = 0;
  if (a->path)
    lua_pushfstring(L, "@%s", a->path);
  else
    lua_pushliteral(L, "=stdin");
  struct box *b = box_new(L);
  if (a->path) {
    errno = 0;
    f = fopen(a->path, "r");
    if (!f) {
      a->status = errfile(L, "open", fnameindex, errno);
      return 1;
    }
  }
  int err = read_all(f, b, &len);
  if (a->path)
    fclose(f);
  if (err == ENOMEM) {
    lua_pushliteral(L, "not enough memory");
    a->status = LUA_ERRMEM;
    return 1;
  }
  if (err) {
    a->status = errfile(L, "read", fnameindex, err);
    return 1;
  }
  a->status = load_contents(L, b->p ? b->p : "", len,
                            lua_tostring(L, fnameindex), a->mode);
  box_free(b);
  return 1;
}

/* Never raises: the work runs protected, and a memory error there becomes
 * the status. Pushes the chunk or the message, as luaL_loadfilex. */
int alua_loadfilex(lua_State *L, const char *path, const char *mode) {
  struct fileload a = {path, mode, LUA_OK};
  lua_pushcfunction(L, p_loadfile);
  lua_pushlightuserdata(L, &a);
  int status = lua_pcall(L, 1, 1, 0);
  return status != LUA_OK ? status : a.status;
}

/* The common tail of load and loadfile (load_aux in lbaselib.c). */
static int load_result(lua_State *L, int status, int envidx) {
  if (status == LUA_OK) {
    if (envidx != 0) {
      lua_pushvalue(L, envidx);
      if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    }
    return 1;
  }
  luaL_pushfail(L);
  lua_insert(L, -2);
  return 2;
}

/* Calls the reader function (argument 1) until it returns nil or "", and
 * returns the pieces joined. Run protected, so that errors become load's
 * (nil, message) as they do inside lua_load. */
static int read_pieces(lua_State *L) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    size_t len;
    if (!lua_tolstring(L, -1, &len)) { /* a number becomes its text */
      /* level 2: the caller of load, as in lbaselib's generic_reader */
      luaL_where(L, 2);
      lua_pushliteral(L, "reader function must return a string");
      lua_concat(L, 2);
      return lua_error(L);
    }
    if (len == 0) {
      lua_pop(L, 1);
      break;
    }
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  return 1;
}

int alua__lua_load(lua_State *L) {
  int status;
  size_t len;
  const char *s = lua_tolstring(L, 1, &len);
  const char *mode = luaL_optstring(L, 3, "bt");
  int env = !lua_isnone(L, 4) ? 4 : 0;
  if (s != NULL) {
    const char *chunkname = luaL_optstring(L, 2, s);
    status = alua_loadbufferx(L, s, len, chunkname, mode);
  } else {
    const char *chunkname = luaL_optstring(L, 2, "=(load)");
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushcfunction(L, read_pieces);
    lua_pushvalue(L, 1);
    status = lua_pcall(L, 1, 1, 0);
    if (status == LUA_OK) {
      s = lua_tolstring(L, -1, &len);
      status = alua_loadbufferx(L, s, len, chunkname, mode);
      lua_remove(L, -2);
    }
  }
  return load_result(L, status, env);
}

int alua__lua_loadfile(lua_State *L) {
  const char *fname = luaL_optstring(L, 1, NULL);
  const char *mode = luaL_optstring(L, 2, NULL);
  int env = !lua_isnone(L, 3) ? 3 : 0;
  int status = alua_loadfilex(L, fname, mode);
  return load_result(L, status, env);
}

static int dofile_cont(lua_State *L, int status, lua_KContext ctx) {
  (void)status;
  (void)ctx;
  return lua_gettop(L) - 1;
}

static int base_dofile(lua_State *L) {
  const char *fname = luaL_optstring(L, 1, NULL);
  lua_settop(L, 1);
  if (alua_loadfilex(L, fname, NULL) != LUA_OK)
    return lua_error(L);
  /* a continuation, so that the file's code may yield (await) */
  lua_callk(L, 0, LUA_MULTRET, 0, dofile_cont);
  return dofile_cont(L, 0, 0);
}

/* package.searchers[2] (searcher_Lua in loadlib.c), translating. Upvalues:
 * the package table, and the original package.searchpath, which does the
 * same search with the same messages. */
static int searcher_lua(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getfield(L, lua_upvalueindex(1), "path");
  const char *path = lua_tostring(L, -1);
  if (path == NULL)
    return luaL_error(L, "'package.path' must be a string");
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushstring(L, name);
  lua_pushstring(L, path);
  lua_call(L, 2, 2);
  if (lua_isnil(L, -2))
    return 1; /* the "no file" list */
  lua_pop(L, 1);
  const char *filename = lua_tostring(L, -1);
  if (alua_loadfilex(L, filename, NULL) == LUA_OK) {
    lua_pushstring(L, filename);
    return 2;
  }
  return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s",
                    lua_tostring(L, 1), filename, lua_tostring(L, -1));
}

static void install_searcher(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "package") == LUA_TTABLE) {
    int pkg = lua_gettop(L);
    if (lua_getfield(L, pkg, "searchers") == LUA_TTABLE &&
        lua_getfield(L, pkg, "searchpath") == LUA_TFUNCTION) {
      lua_pushvalue(L, pkg);
      lua_insert(L, -2);
      lua_pushcclosure(L, searcher_lua, 2);
      lua_rawseti(L, pkg + 1, 2);
    }
  }
}

/* Pushes the table where strings find the hidden fields: the __index of
 * the metatable of the string library table (the __index of strings),
 * created as needed. Pushes nil when strings index through a function. */
static void push_hidden(lua_State *L) {
  lua_pushliteral(L, "");
  if (!lua_getmetatable(L, -1)) {
    /* no string library: strings get a metatable of their own */
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setmetatable(L, -3);
  }
  lua_remove(L, -2);
  lua_pushliteral(L, "__index");
  if (lua_rawget(L, -2) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  }
  lua_remove(L, -2);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  /* the string library table: the fields go one level further, in a
   * metatable of its own, so that pairs(string) does not list them */
  if (!lua_getmetatable(L, -1)) {
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setmetatable(L, -3);
  }
  lua_pushliteral(L, "__index");
  int t = lua_rawget(L, -2);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  } else if (t != LUA_TTABLE) {
    /* someone else's metatable with an __index function: use the string
     * library table itself */
    lua_pop(L, 2);
    return;
  }
  lua_remove(L, -2);
  lua_remove(L, -2);
}

/* __index of the hidden table (upvalue 1: the module): looks up the
 * module's async or await the first time translated code needs it, which
 * makes the module's base (runtime/lazy.c) only then, and keeps it. */
static int prelude_index(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  const char *k = lua_tostring(L, 2), *field = NULL;
  if (strcmp(k, ALUA_SYNTAX_ASYNC) == 0) field = "async";
  else if (strcmp(k, ALUA_SYNTAX_AWAIT) == 0) field = "await";
  else return 0;
  lua_getfield(L, lua_upvalueindex(1), field);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);
  return 1;
}

void alua__install_prelude(lua_State *L, int module) {
  module = lua_absindex(L, module);
  push_hidden(L);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  if (!lua_getmetatable(L, -1)) {
    /* ours: made on first use */
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, module);
    lua_pushcclosure(L, prelude_index, 1);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
  } else {
    lua_getfield(L, -1, "__index");
    int ours = lua_tocfunction(L, -1) == prelude_index;
    lua_pop(L, 2);
    /* someone else's table with a metatable: the fields go in now */
    if (!ours) {
      lua_pushliteral(L, ALUA_SYNTAX_ASYNC);
      lua_getfield(L, module, "async");
      lua_rawset(L, -3);
      lua_pushliteral(L, ALUA_SYNTAX_AWAIT);
      lua_getfield(L, module, "await");
      lua_rawset(L, -3);
    }
  }
  lua_pop(L, 1);
}

void alua__install_loaders(lua_State *L) {
  int top = lua_gettop(L);
  lua_pushglobaltable(L);
  lua_pushcfunction(L, alua__lua_load);
  lua_setfield(L, -2, "load");
  lua_pushcfunction(L, alua__lua_loadfile);
  lua_setfield(L, -2, "loadfile");
  lua_pushcfunction(L, base_dofile);
  lua_setfield(L, -2, "dofile");
  install_searcher(L);
  lua_settop(L, top);
}

int alua__lua_install_loaders(lua_State *L) {
  alua__install_loaders(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "alua.module");
  if (lua_istable(L, -1))
    alua__install_prelude(L, -1);
  return 0;
}

int alua__lua_translate(lua_State *L) {
  size_t len, outlen = 0;
  const char *src = luaL_checklstring(L, 1, &len);
  struct box *b = box_new(L);
  if (at_translate(src, len, &b->p, &outlen) != 0)
    return luaL_error(L, "not enough memory");
  lua_pushlstring(L, b->p, outlen);
  box_free(b);
  return 1;
}
