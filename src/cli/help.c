/* `help` at the prompt (SPEC 4): a global whose value prints as the list of
 * what asyncio offers, one line each, and which, called with an asyncio
 * function, method, object or name, prints that entry. The entries are
 * generated at build time from docs/api.md (gen_help.py), so they say what
 * the reference says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli/repl.h"

/* Columns of the terminal, or 80. */
static size_t screen_width(void) {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) return ws.ws_col;
  return 80;
}

/* Bytes of s that fit in n bytes without cutting a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t n) {
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return n;
}

/* Adds one listing line: "  title  summary", cut to the width. */
static void add_line(luaL_Buffer *b, const struct cli_help_entry *e, size_t width) {
  char line[1024];
  /* short titles line their summaries up */
  const char *title = CLI_HELP_STR(e->title);
  int n = snprintf(line, sizeof line, "  %-*s  %s", strlen(title) < 36 ? 36 : 0, title, CLI_HELP_STR(e->summary));
  size_t len = n < 0 ? 0 : (size_t)n >= sizeof line ? sizeof line - 1 : (size_t)n;
  if (len > width - 1) {
    len = utf8_cut(line, width - 4);
    memcpy(line + len, "...", 3);
    len += 3;
  }
  luaL_addlstring(b, line, len);
  luaL_addchar(b, '\n');
}

/* Pushes the whole list, by section. */
static void push_list(lua_State *L) {
  size_t width = screen_width();
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "What asyncio offers (help(asyncio.sleep), help(q.put), help(\"gather\") show one entry;\n"
                     "the reference is docs/api.md):\n");
  const char *section = NULL;
  for (int i = 0; i < cli_help_count; i++) {
    const struct cli_help_entry *e = &cli_help_entries[i];
    if (!section || strcmp(section, CLI_HELP_STR(e->section)) != 0) {
      section = CLI_HELP_STR(e->section);
      luaL_addchar(&b, '\n');
      luaL_addstring(&b, section);
      luaL_addchar(&b, '\n');
    }
    add_line(&b, e, width);
  }
  luaL_pushresult(&b);
}

/* Prints an entry: its title and section, then its text wrapped at the
 * width and indented. */
static void print_entry(const struct cli_help_entry *e) {
  size_t width = screen_width();
  printf("%s    [%s]\n", CLI_HELP_STR(e->title), CLI_HELP_STR(e->section));
  size_t col = 0;
  const char *p = CLI_HELP_STR(e->text);
  while (*p) {
    while (*p == ' ') p++;
    size_t w = strcspn(p, " ");
    if (w == 0) break;
    if (col > 0 && col + 1 + w > width - 1) {
      putchar('\n');
      col = 0;
    }
    fputs(col == 0 ? "  " : " ", stdout);
    col += col == 0 ? 2 : 1;
    fwrite(p, 1, w, stdout);
    col += w;
    p += w;
  }
  putchar('\n');
}

/* How print_named matches a name. */
enum match {
  WHOLE,  /* the whole name */
  LAST,   /* the last part, after '.' or ':' */
  METHOD, /* the last part, after ':' */
};

/* True when the space-separated list `names` holds `name` (len bytes) as
 * `how` says. */
static int has_name(const char *names, const char *name, size_t len, enum match how) {
  const char *p = names;
  while (*p) {
    size_t w = strcspn(p, " ");
    const char *part = p;
    if (how != WHOLE) {
      for (const char *q = p; q < p + w; q++)
        if (*q == ':' || (*q == '.' && how == LAST)) part = q + 1;
      if (how == METHOD && part == p) part = p + w + 1; /* no ':': no match */
    }
    if ((size_t)(p + w - part) == len && memcmp(part, name, len) == 0) return 1;
    p += w;
    while (*p == ' ') p++;
  }
  return 0;
}

/* Prints the entries naming `name` in their titles, else those whose text
 * shows it called; with last_part, names that end in it. Returns how many. */
static int print_named(const char *name, size_t len, enum match how) {
  int found = 0;
  for (int pass = 0; pass < 2 && !found; pass++) {
    for (int i = 0; i < cli_help_count; i++) {
      const struct cli_help_entry *e = &cli_help_entries[i];
      if (!has_name(CLI_HELP_STR(pass == 0 ? e->names : e->also), name, len, how)) continue;
      if (found++) putchar('\n');
      print_entry(e);
    }
  }
  return found;
}

/* Prints the entries for a string: an exact name, else (for a plain word)
 * the names it ends. */
static int print_for_string(const char *s, size_t len) {
  int found = print_named(s, len, WHOLE);
  if (!found && !memchr(s, '.', len) && !memchr(s, ':', len)) found = print_named(s, len, LAST);
  return found;
}

/* Pushes "asyncio.k" when asyncio holds the value at idx under the name
 * k, or returns 0. Raw reads only. */
static int push_module_name(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushliteral(L, "asyncio");
  if (lua_istable(L, -2) && lua_rawget(L, -2) == LUA_TTABLE) {
    int mod = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, mod)) {
      if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx)) {
        lua_pushfstring(L, "asyncio.%s", lua_tostring(L, -2));
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return 1;
      }
      lua_pop(L, 1);
    }
  }
  lua_settop(L, top);
  return 0;
}

/* Adds the value on top (popped) to the search queue unless seen. */
static void enqueue(lua_State *L, int seen, int queue, lua_Integer *tail) {
  if (!lua_istable(L, -1) && !lua_isfunction(L, -1) && !lua_isuserdata(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, -1);
  if (lua_rawget(L, seen) != LUA_TNIL) {
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  lua_pushvalue(L, -1);
  lua_pushboolean(L, 1);
  lua_rawset(L, seen);
  lua_rawseti(L, queue, ++*tail);
}

/* True when the values at a and b are the same function, or closures of
 * the same C function (objects may carry their own closures of a method). */
static int same_function(lua_State *L, int a, int b) {
  if (lua_rawequal(L, a, b)) return 1;
  lua_CFunction fa = lua_tocfunction(L, a);
  return fa != NULL && fa == lua_tocfunction(L, b);
}

/* How many tables and functions the method search looks into. */
#define SEARCH_LIMIT 4000

/* For a method: pushes the key under which some table reachable from the
 * asyncio module, the asyncio metatables of the registry, or the function
 * at idx itself (through fields, metatables and upvalues, nearest first,
 * raw reads only) holds that function, or returns 0. The function's own
 * upvalues find the methods an object binds to itself (a queue's put). */
static int push_method_name(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  int top = lua_gettop(L);
  lua_newtable(L);
  int seen = top + 1;
  lua_newtable(L);
  int queue = top + 2;
  lua_Integer head = 1, tail = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushliteral(L, "asyncio");
  lua_rawget(L, -2);
  lua_remove(L, -2);
  enqueue(L, seen, queue, &tail);
  lua_pushnil(L);
  while (lua_next(L, LUA_REGISTRYINDEX)) {
    if (lua_type(L, -2) == LUA_TSTRING && strncmp(lua_tostring(L, -2), "asyncio.", 8) == 0)
      enqueue(L, seen, queue, &tail);
    else
      lua_pop(L, 1);
  }
  lua_pushvalue(L, idx);
  enqueue(L, seen, queue, &tail);
  while (head <= tail && head <= SEARCH_LIMIT) {
    lua_rawgeti(L, queue, head++);
    int v = lua_gettop(L);
    if (lua_istable(L, v)) {
      lua_pushnil(L);
      while (lua_next(L, v)) {
        if (lua_type(L, -2) == LUA_TSTRING && same_function(L, -1, idx)) {
          lua_pushvalue(L, -2);
          lua_replace(L, top + 1);
          lua_settop(L, top + 1);
          return 1;
        }
        enqueue(L, seen, queue, &tail);
      }
      if (lua_getmetatable(L, v)) enqueue(L, seen, queue, &tail);
    } else if (lua_isuserdata(L, v)) {
      if (lua_getmetatable(L, v)) enqueue(L, seen, queue, &tail);
    } else {
      for (int i = 1; lua_getupvalue(L, v, i) != NULL; i++) enqueue(L, seen, queue, &tail);
    }
    lua_settop(L, v - 1);
  }
  lua_settop(L, top);
  return 0;
}

/* help(x): the entry of x, or the list without an argument. */
static int l_help_call(lua_State *L) {
  int x = 2; /* 1 is the help table itself */
  if (lua_isnoneornil(L, x)) {
    push_list(L);
    fputs(lua_tostring(L, -1), stdout);
    fflush(stdout);
    return 0;
  }
  int found = 0;
  size_t len;
  if (lua_type(L, x) == LUA_TSTRING) {
    const char *s = lua_tolstring(L, x, &len);
    found = print_for_string(s, len);
  } else if (push_module_name(L, x)) {
    const char *s = lua_tolstring(L, -1, &len);
    found = print_named(s, len, WHOLE);
    lua_pop(L, 1);
  } else if (lua_isfunction(L, x) && push_method_name(L, x)) {
    const char *m = lua_tolstring(L, -1, &len);
    found = print_named(m, len, METHOD);
    lua_pop(L, 1);
  } else if (luaL_getmetafield(L, x, "__name") != LUA_TNIL) {
    /* an asyncio object: its type's entry ("asyncio.Queue (failed)" too) */
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *t = lua_tostring(L, -1);
      found = print_named(t, strcspn(t, " "), WHOLE);
    }
    lua_pop(L, 1);
  }
  if (!found) {
    const char *what = luaL_tolstring(L, x, NULL);
    printf("no help for %s; type help for the list\n", what);
  }
  fflush(stdout);
  return 0;
}

static int l_help_tostring(lua_State *L) {
  push_list(L);
  return 1;
}

void cli_help_install(lua_State *L) {
  if (lua_getglobal(L, "help") != LUA_TNIL) {
    lua_pop(L, 1); /* the program's own help stays */
    return;
  }
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 3);
  lua_pushcfunction(L, l_help_call);
  lua_setfield(L, -2, "__call");
  lua_pushcfunction(L, l_help_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_setmetatable(L, -2);
  lua_setglobal(L, "help");
}
