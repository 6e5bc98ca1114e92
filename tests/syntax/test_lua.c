/* Tests of the translator through Lua 5.4: what translated code means, the
 * lines its errors report, the <eof> errors of incomplete input, the corpus
 * identity, agreement of our lexer with Lua's, and the loaders of load.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua/runtime/load.h"
#include "syntax/lex.h"
#include "syntax/translate.h"

#ifndef SYNTAX_TEST_DIR
#error "SYNTAX_TEST_DIR must name tests/syntax"
#endif

/* A stand-in asyncio: async is the identity and await multiplies numbers by
 * ten, so tests can see exactly which operand each await got. */
static const char stub[] =
  "local load, loadfile, translate = ...\n"
  "package.preload.asyncio = function() return {\n"
  "  async = function(f) return f end,\n"
  "  await = function(x, ...) if math.type(x) then return x * 10 end return x, ... end,\n"
  "  load = load, loadfile = loadfile, translate = translate,\n"
  "} end\n";

static lua_State *new_state(bool translating) {
  lua_State *L = luaL_newstate();
  cr_assert_not_null(L);
  luaL_openlibs(L);
  if (translating)
    alua__install_loaders(L);
  cr_assert_eq(luaL_loadstring(L, stub), LUA_OK);
  lua_pushcfunction(L, alua__lua_load);
  lua_pushcfunction(L, alua__lua_loadfile);
  lua_pushcfunction(L, alua__lua_translate);
  lua_call(L, 3, 0);
  return L;
}

/* Runs plain Lua test code (not translated) and fails on its errors. */
static void run(lua_State *L, const char *code) {
  int st = luaL_loadstring(L, code);
  if (st == LUA_OK)
    st = lua_pcall(L, 0, 0, 0);
  cr_assert_eq(st, LUA_OK, "%s", lua_tostring(L, -1));
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  cr_assert_not_null(buf);
  cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  buf[n] = '\0';
  *len = (size_t)n;
  return buf;
}

static void write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* A fresh directory for files a test writes; removed by cleanup_dir. */
static char tmpdir[256];

static void make_dir(void) {
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/alua-syntax-XXXXXX", base && *base ? base : "/tmp");
  cr_assert_not_null(mkdtemp(tmpdir));
}

static void cleanup_dir(void) {
  DIR *d = opendir(tmpdir);
  if (!d)
    return;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(tmpdir);
}

/* ---- meaning ---- */

Test(semantics, operands_and_precedence) {
  lua_State *L = new_state(true);
  run(L,
      "local function ev(s) return assert(load('return ' .. s, '=ev'))() end\n"
      "assert(ev('await 2 + 3') == 23)\n"
      "assert(ev('await 2 ^ 2') == 40)\n"
      "assert(ev('await 2 ^ 2 ^ 2 // 3') == 53)\n"
      "assert(ev('-await 2') == -20)\n"
      "assert(ev('await -2') == -20)\n"
      "assert(ev('await await 2') == 200)\n"
      "assert(ev('await #\"abc\"') == 30)\n"
      "assert(ev('await (1) + 1') == 11)\n"
      "assert(ev('await 1 .. 2') == '102')\n"
      "assert(ev('2 ^ await 1 ^ 2') == 2 ^ 10)\n"
      "assert(ev('await 1 == 10 and await 2 < 21'))\n"
      "assert(ev('not await nil'))\n"
      "assert(ev('await ~0') == -10)\n"
      "assert(ev('(function(...) return await ... end)(4, 5)') == 40)\n"
      "t = { f = function(x) return { y = { z = function(self, k) return k end } } end }\n"
      "assert(ev('await t.f(1).y:z(7)') == 70)\n"
      "assert(ev('await t.f(1).y:z(7) + 1') == 71)\n"
      "assert(ev('await (\"ab\"):rep(2)') == 'abab')\n"
      "assert(ev('await function() return 1 end') ~= nil)\n"
      "assert(ev('{await 1, await 2}')[2] == 20)\n"
      "local a, b = ev('await 1, await 2')\n"
      "assert(a == 10 and b == 20)\n");
  lua_close(L);
}

Test(semantics, async_functions) {
  lua_State *L = new_state(true);
  run(L,
      "local f = assert(load([[\n"
      "  local t = { n = 1 }\n"
      "  async function t.a(x) return x end\n"
      "  async function t:m(x) return self.n + x end\n"
      "  local async function fact(n) if n <= 1 then return 1 end return n * fact(n - 1) end\n"
      "  async function glob(...) return select('#', ...) end\n"
      "  local e = async function (x) return await x end\n"
      "  return t.a(5), t:m(2), fact(5), glob(1, 2, 3), e(3)\n"
      "]], '=t'))\n"
      "local a, m, f5, g, e = f()\n"
      "assert(a == 5 and m == 3 and f5 == 120 and g == 3 and e == 30)\n"
      "assert(glob and not fact)\n");
  lua_close(L);
}

Test(semantics, await_as_a_name) {
  lua_State *L = new_state(true);
  run(L,
      "local f = assert(load([[\n"
      "  local await = function(x) return x + 1 end\n"
      "  local t = { await = 2, async = 3 }\n"
      "  return await(1), t.await + t.async, await - 1 == nil\n"
      "]], '=t'))\n"
      "assert(not pcall(f))\n"
      "local g = assert(load('local await = 5 return await - 1'))\n"
      "assert(g() == 4)\n"
      "local h = assert(load('x = await\\nreturn x'))\n"
      "await = 9\n"
      "assert(h() == 9)\n");
  lua_close(L);
}

Test(semantics, await_calls_with_call_only_parens) {
  lua_State *L = new_state(true);
  run(L,
      "function await(...) return select('#', ...), ... end\n"
      "local f = assert(load([[\n"
      "  local n0 = await()\n"
      "  local n2, a, b = await('a', 'b')\n"
      "  local k = await(4)\n"
      "  return n0, n2, a, b, k\n"
      "]], '=t'))\n"
      "local n0, n2, a, b, k = f()\n"
      "assert(n0 == 0 and n2 == 2 and a == 'a' and b == 'b', tostring(n0))\n"
      "assert(k == 40, tostring(k)) -- await(4) is the keyword: the stub's await\n");
  lua_close(L);
}

/* ---- lines ---- */

Test(lines, runtime_errors_point_at_the_source) {
  lua_State *L = new_state(true);
  run(L,
      "local src = 'local x = 1\\n'\n"
      "  .. 'async function g(a,\\n'\n"
      "  .. '    b)\\n'\n"
      "  .. '  local y = await f(\\n'\n"
      "  .. '    1,\\n'\n"
      "  .. '    a + nil)\\n'\n"
      "  .. 'end\\n'\n"
      "  .. 'local async function h() error(\"boom\") end\\n'\n"
      "  .. 'return g, h\\n'\n"
      "local g, h = assert(load(src, '=t'))()\n"
      "local ok, e = pcall(g, 1, 2)\n"
      "assert(not ok and e:find('^t:6: attempt to perform arithmetic'), e)\n"
      "ok, e = pcall(h)\n"
      "assert(not ok and e == 't:8: boom', e)\n"
      "local tb\n"
      "xpcall(h, function(m) tb = debug.traceback(m) end)\n"
      "assert(tb:find('t:8: in'), tb)\n");
  lua_close(L);
}

Test(lines, syntax_errors_point_at_the_source) {
  lua_State *L = new_state(true);
  run(L,
      "local function err(s) local f, e = load(s, '=t') assert(not f) return e end\n"
      "local e = err('async function f()\\n  local x = = 1\\nend')\n"
      "assert(e:find('^t:2:'), e)\n"
      "e = err('x = await f(1,\\n\\n)')\n"
      "assert(e:find('^t:3:'), e)\n"
      "e = err('async function f()\\nend\\nend')\n"
      "assert(e:find('^t:3:'), e)\n"
      "e = err('local async function f()\\n  return await\\nend x')\n"
      "assert(e:find('^t:3:'), e)\n"
      "e = err('#!shebang\\nawait x\\n+')\n"
      "assert(e:find('^t:1:'), e)\n");
  lua_close(L);
}

Test(lines, incomplete_input_ends_in_eof) {
  static const char *inputs[] = {
    "async function f()",
    "async function t.a:m(x)\n  return 1",
    "local async function f(a,",
    "local f = async function (",
    "x = await f(",
    "x = await f(1) +",
    "return await (",
    "x = await a ^",
    "x = await a.",
    "x = { await y,",
    "f(async function() await x",
    "async function f() if x then",
    "x = await function()",
    "x = await [[unfinished",
    "await x --[[ unfinished",
  };
  lua_State *L = new_state(true);
  for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
    int st = alua_loadbufferx(L, inputs[i], strlen(inputs[i]), "=t", NULL);
    cr_expect_eq(st, LUA_ERRSYNTAX, "%s", inputs[i]);
    const char *msg = lua_tostring(L, -1);
    size_t n = strlen(msg);
    cr_expect(n >= 5 && strcmp(msg + n - 5, "<eof>") == 0, "input %s gave %s", inputs[i], msg);
    lua_pop(L, 1);
  }
  lua_close(L);
}

/* ---- corpus ---- */

/* Calls fn on every .lua file of the corpus. */
static void each_corpus_file(void (*fn)(const char *path, const char *src, size_t len)) {
  const char *dir = SYNTAX_TEST_DIR "/corpus";
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "no corpus at %s", dir);
  struct dirent *e;
  int count = 0;
  char path[1024];
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".lua") != 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    size_t len;
    char *src = read_file(path, &len);
    fn(path, src, len);
    free(src);
    count++;
  }
  closedir(d);
  cr_assert_geq(count, 8);
}

static void identity(const char *path, const char *src, size_t len) {
  char *out;
  size_t outlen;
  cr_assert_eq(at_translate(src, len, &out, &outlen), 0);
  cr_expect_eq(outlen, len, "%s changed length", path);
  cr_expect(outlen == len && memcmp(out, src, len) == 0, "%s changed", path);
  free(out);
}

Test(corpus, plain_lua_translates_to_itself) {
  each_corpus_file(identity);
}

/* Rebuilds src from our tokens alone: comments dropped, one space between
 * tokens, line breaks kept, and every string literal re-encoded by Lua with
 * %q (so a token that wrongly swallowed code cannot pass as itself). Lua
 * must compile the result to the same stripped bytecode as the original:
 * then our token boundaries are Lua's. */
static void same_tokens(const char *path, const char *src, size_t len) {
  luaL_Buffer b;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  run(L, "function canon(tok)\n"
         "  local f, e = load('return ' .. tok, '=token')\n"
         "  assert(f, e)\n"
         "  local v = f()\n"
         "  assert(type(v) == 'string', tok)\n"
         "  return (string.format('%q', v):gsub('\\\\\\n', '\\\\n'))\n"
         "end\n");
  size_t start = 0;
  if (len > 0 && src[0] == '#')
    start = strcspn(src, "\n");
  struct token t;
  size_t pos = start;
  luaL_buffinit(L, &b);
  for (;;) {
    at_lex_next(src, len, pos, &t);
    for (size_t i = t.gap; i < t.start; i++) {
      if (src[i] != '\n' && src[i] != '\r')
        continue;
      luaL_addchar(&b, '\n');
      if (i + 1 < t.start && (src[i + 1] == '\n' || src[i + 1] == '\r') && src[i + 1] != src[i])
        i++;
    }
    if (t.kind == TK_EOF)
      break;
    cr_assert(t.end > t.start && t.end <= len);
    luaL_addchar(&b, ' ');
    if (t.kind == TK_STRING) {
      lua_getglobal(L, "canon");
      lua_pushlstring(L, src + t.start, t.end - t.start);
      if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        cr_assert_fail("%s: bad string token at offset %zu: %s", path, t.start,
                       lua_tostring(L, -1));
      luaL_addvalue(&b);
      /* keep the token's line breaks, so later functions keep their lines */
      for (size_t i = t.start; i < t.end; i++) {
        if (src[i] != '\n' && src[i] != '\r')
          continue;
        luaL_addchar(&b, '\n');
        if (i + 1 < t.end && (src[i + 1] == '\n' || src[i + 1] == '\r') && src[i + 1] != src[i])
          i++;
      }
    } else {
      luaL_addlstring(&b, src + t.start, t.end - t.start);
    }
    pos = t.end;
  }
  luaL_pushresult(&b);
  lua_setglobal(L, "rebuilt");
  lua_pushlstring(L, src + start, len - start);
  lua_setglobal(L, "original");
  lua_pushstring(L, path);
  lua_setglobal(L, "path");
  run(L,
      "local a = assert(load(original, '=x'))\n"
      "local b = assert(load(rebuilt, '=x'))\n"
      "assert(string.dump(a, true) == string.dump(b, true), path)\n");
  lua_close(L);
}

/* src with every "\n" replaced by eol. */
static char *with_line_ends(const char *src, size_t len, const char *eol, size_t *outlen) {
  size_t n = 0, elen = strlen(eol);
  char *out = malloc(len * elen + 1);
  cr_assert_not_null(out);
  for (size_t i = 0; i < len; i++) {
    if (src[i] == '\n') {
      memcpy(out + n, eol, elen);
      n += elen;
    } else {
      out[n++] = src[i];
    }
  }
  *outlen = n;
  return out;
}

Test(corpus, lexer_agrees_with_lua) {
  each_corpus_file(same_tokens);
  size_t len;
  char *src = read_file(SYNTAX_TEST_DIR "/golden/tasks.lua", &len);
  same_tokens("golden/tasks.lua", src, len);
  free(src);
  src = read_file(SYNTAX_TEST_DIR "/corpus/lexing.lua", &len);
  static const char *eols[] = { "\r\n", "\r", "\n\r" };
  for (size_t i = 0; i < 3; i++) {
    size_t n;
    char *conv = with_line_ends(src, len, eols[i], &n);
    same_tokens(i == 0 ? "lexing.lua (CRLF)" : i == 1 ? "lexing.lua (CR)" : "lexing.lua (LFCR)", conv, n);
    identity("lexing.lua with other line ends", conv, n);
    free(conv);
  }
  free(src);
}

Test(corpus, own_files_run) {
  lua_State *L = new_state(true);
  lua_pushstring(L, SYNTAX_TEST_DIR);
  lua_setglobal(L, "dir");
  run(L,
      "for _, name in ipairs{'names-declared', 'names-global', 'lexing', 'coroutines'} do\n"
      "  assert(loadfile(dir .. '/corpus/' .. name .. '.lua'))()\n"
      "end\n");
  lua_close(L);
}

Test(corpus, golden_translation) {
  size_t in_len, want_len, out_len;
  char *in = read_file(SYNTAX_TEST_DIR "/golden/tasks.alua", &in_len);
  char *want = read_file(SYNTAX_TEST_DIR "/golden/tasks.lua", &want_len);
  char *out;
  cr_assert_eq(at_translate(in, in_len, &out, &out_len), 0);
  cr_expect_eq(out_len, want_len);
  cr_expect(out_len == want_len && memcmp(out, want, out_len) == 0,
            "golden/tasks.alua translates to:\n%s", out);
  free(out);
  free(in);
  free(want);
}

/* ---- loaders ---- */

Test(loaders, loadbufferx, .init = make_dir, .fini = cleanup_dir) {
  lua_State *L = new_state(false);
  const char *src = "return await 4";
  cr_assert_eq(alua_loadbufferx(L, src, strlen(src), "=t", NULL), LUA_OK);
  lua_call(L, 0, 1);
  cr_assert_eq(lua_tointeger(L, -1), 40);
  lua_pop(L, 1);
  cr_assert_eq(alua_loadbufferx(L, src, strlen(src), "=t", "b"), LUA_ERRSYNTAX);
  cr_assert_str_eq(lua_tostring(L, -1), "attempt to load a text chunk (mode is 'b')");
  lua_pop(L, 1);
  /* a binary chunk passes through */
  run(L, "bin = string.dump(function() return 7 end)");
  lua_getglobal(L, "bin");
  size_t n;
  const char *bin = lua_tolstring(L, -1, &n);
  cr_assert_eq(alua_loadbufferx(L, bin, n, "=b", NULL), LUA_OK);
  lua_call(L, 0, 1);
  cr_assert_eq(lua_tointeger(L, -1), 7);
  lua_settop(L, 0);
  lua_close(L);
}

Test(loaders, loadfilex, .init = make_dir, .fini = cleanup_dir) {
  lua_State *L = new_state(false);
  char path[512], missing[512];
  snprintf(path, sizeof path, "%s/m.lua", tmpdir);
  snprintf(missing, sizeof missing, "%s/missing.lua", tmpdir);

  const char *shebang = "#!/usr/bin/env alua\nlocal x = await 2\nreturn x, debug.getinfo(1, 'l').currentline";
  write_file(path, shebang, strlen(shebang));
  cr_assert_eq(alua_loadfilex(L, path, NULL), LUA_OK, "%s", lua_tostring(L, -1));
  lua_call(L, 0, 2);
  cr_assert_eq(lua_tointeger(L, -2), 20);
  cr_assert_eq(lua_tointeger(L, -1), 3);
  lua_settop(L, 0);

  const char *bom = "\xEF\xBB\xBF" "return await 3";
  write_file(path, bom, strlen(bom));
  cr_assert_eq(alua_loadfilex(L, path, NULL), LUA_OK, "%s", lua_tostring(L, -1));
  lua_call(L, 0, 1);
  cr_assert_eq(lua_tointeger(L, -1), 30);
  lua_settop(L, 0);

  /* '#' line then a binary chunk, as luaL_loadfilex allows */
  run(L, "bin = string.dump(function() return 8 end)");
  lua_getglobal(L, "bin");
  size_t n;
  const char *bin = lua_tolstring(L, -1, &n);
  char *data = malloc(n + 4);
  memcpy(data, "#x\n", 3);
  memcpy(data + 3, bin, n);
  write_file(path, data, n + 3);
  free(data);
  lua_pop(L, 1);
  cr_assert_eq(alua_loadfilex(L, path, NULL), LUA_OK, "%s", lua_tostring(L, -1));
  lua_call(L, 0, 1);
  cr_assert_eq(lua_tointeger(L, -1), 8);
  lua_settop(L, 0);

  /* errors read exactly like luaL_loadfilex's */
  const char *paths[] = { missing, tmpdir };
  for (size_t i = 0; i < 2; i++) {
    cr_assert_eq(luaL_loadfilex(L, paths[i], NULL), LUA_ERRFILE);
    cr_assert_eq(alua_loadfilex(L, paths[i], NULL), LUA_ERRFILE);
    cr_assert_str_eq(lua_tostring(L, -1), lua_tostring(L, -2));
    cr_assert_eq(lua_gettop(L), 2);
    lua_settop(L, 0);
  }
  lua_close(L);
}

Test(loaders, installed_globals, .init = make_dir, .fini = cleanup_dir) {
  lua_State *L = new_state(true);
  lua_pushstring(L, tmpdir);
  lua_setglobal(L, "dir");
  run(L,
      "local function write(name, s) local f = assert(io.open(dir .. '/' .. name, 'w')) f:write(s) f:close() end\n"
      "write('mod_a.lua', 'local name = ...\\nreturn { name = name, v = await 5 }')\n"
      "write('bad_a.lua', 'x = = 1')\n"
      "write('y.lua', 'local a = coroutine.yield(await 1)\\nreturn a, 2, 3')\n"
      /* load: string, chunk name, mode, env, reader function */
      "assert(load('return await 1')() == 10)\n"
      "assert(load('return x', 'c', 't', { x = 42 })() == 42)\n"
      "local f, e = load('x = = 1', '=c')\n"
      "assert(not f and e:find('^c:1:'))\n"
      "local parts, i = { 'return ', 'await ', '6' }, 0\n"
      "assert(load(function() i = i + 1 return parts[i] end)() == 60)\n"
      "i = 0\n"
      "assert(load(function() i = i + 1 if i == 1 then return 'return 1' end return '' end)() == 1)\n"
      "f, e = load(function() error('rd') end)\n"
      "assert(not f and e:find('rd'))\n"
      "i = 0\n"
      "f, e = load(function() i = i + 1 if i == 1 then return 'return 1' end return {} end)\n"
      "assert(not f and e:find('reader function must return a string'))\n"
      "assert(load(string.dump(function() return 9 end))() == 9)\n"
      /* loadfile and dofile */
      "assert(loadfile(dir .. '/mod_a.lua')('m').v == 50)\n"
      "assert(loadfile(dir .. '/mod_a.lua', 't', { }) )\n"
      "f, e = loadfile(dir .. '/none.lua')\n"
      "assert(not f and e == 'cannot open ' .. dir .. '/none.lua: No such file or directory', e)\n"
      "assert(dofile(dir .. '/mod_a.lua').v == 50)\n"
      "local ok, err = pcall(dofile, dir .. '/bad_a.lua')\n"
      "assert(not ok and err:find('bad_a.lua:1:'))\n"
      "local co = coroutine.wrap(function() return dofile(dir .. '/y.lua') end)\n"
      "assert(co() == 10)\n"
      "local a, b, c = co('back')\n"
      "assert(a == 'back' and b == 2 and c == 3)\n"
      /* require through package.searchers[2] */
      "package.path = dir .. '/?.lua;' .. package.path\n"
      "local m, where = require('mod_a')\n"
      "assert(m.v == 50 and m.name == 'mod_a' and where == dir .. '/mod_a.lua')\n"
      "ok, err = pcall(require, 'bad_a')\n"
      "assert(not ok and err:find(\"error loading module 'bad_a' from file '\", 1, true), err)\n"
      "nf_ok, nf_err = pcall(require, 'no_such_mod_x')\n"
      "assert(not nf_ok)\n"
      "assert(require('asyncio').translate('return await x'):find('__alua_await(x)', 1, true))\n"
      "assert(require('asyncio').load('return await 2')() == 20)\n"
      "assert(require('asyncio').loadfile(dir .. '/mod_a.lua')().v == 50)\n");
  lua_getglobal(L, "nf_err");
  const char *ours = lua_tostring(L, -1);
  cr_assert_not_null(ours);

  /* the not-found message is the stock searcher's, word for word */
  lua_State *S = new_state(false);
  lua_pushstring(S, tmpdir);
  lua_setglobal(S, "dir");
  run(S, "package.path = dir .. '/?.lua;' .. package.path\n"
         "nf_ok, nf_err = pcall(require, 'no_such_mod_x')\n");
  lua_getglobal(S, "nf_err");
  cr_assert_str_eq(ours, lua_tostring(S, -1));
  lua_close(S);
  lua_close(L);
}
