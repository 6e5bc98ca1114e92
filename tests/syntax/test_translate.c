/* Unit tests of the async/await translator: every form, the keyword rule,
 * tricky lexing, line keeping, and hostile input. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "syntax/translate.h"

#define P                                                                     \
  "local __alua_async, __alua_await = (\"\").__alua_async or "                  \
  "require(\"asyncio\").async, (\"\").__alua_await or require(\"asyncio\").await; "

/* Translates s[0..n); the result is freed at the end of the test process. */
static char *trn(const char *s, size_t n, size_t *outlen) {
  char *out = NULL;
  size_t len = 0;
  int rc = at_translate(s, n, &out, &len);
  cr_assert_eq(rc, 0, "at_translate failed: %d", rc);
  cr_assert_not_null(out);
  cr_assert_eq(out[len], '\0');
  if (outlen)
    *outlen = len;
  return out;
}

static char *tr(const char *s) { return trn(s, strlen(s), NULL); }

/* Lines as Lua counts them: "\r\n" and "\n\r" are one break. */
static size_t lines(const char *s, size_t n) {
  size_t count = 1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\n' && s[i] != '\r')
      continue;
    count++;
    if (i + 1 < n && (s[i + 1] == '\n' || s[i + 1] == '\r') && s[i + 1] != s[i])
      i++;
  }
  return count;
}

#define EXPECT(src, want)                                                 \
  do {                                                                    \
    char *got_ = tr(src);                                                 \
    cr_expect_str_eq(got_, want, "\n  input: %s\n  got:   %s\n  want:  %s", \
                     src, got_, want);                                    \
    cr_expect_eq(lines(got_, strlen(got_)), lines(src, strlen(src)));     \
    free(got_);                                                           \
  } while (0)

#define SAME(src) EXPECT(src, src)

/* ---- async function forms ---- */

Test(forms, statement) {
  EXPECT("async function f(a, b) return a end",
         P "f = __alua_async(function(a, b) return a end, \"f\")");
}

Test(forms, local) {
  EXPECT("local async function f(n) return f(n) end",
         P "local f; f = __alua_async(function(n) return f(n) end, \"f\")");
}

Test(forms, dotted) {
  EXPECT("async function t.a.b(x) end",
         P "t.a.b = __alua_async(function(x) end, \"t.a.b\")");
}

Test(forms, method) {
  EXPECT("async function t:m(a, ...) end",
         P "t.m = __alua_async(function(self, a, ...) end, \"t:m\")");
  EXPECT("async function t.a:m() end",
         P "t.a.m = __alua_async(function(self) end, \"t.a:m\")");
  EXPECT("async function t:m( ) end",
         P "t.m = __alua_async(function(self ) end, \"t:m\")");
}

Test(forms, expression) {
  EXPECT("local f = async function (x) return x end",
         P "local f = __alua_async(function (x) return x end)");
  EXPECT("g(async function() end, 1)",
         P "g(__alua_async(function() end), 1)");
  EXPECT("return { a = async function() end }",
         P "return { a = __alua_async(function() end) }");
}

Test(forms, nested_blocks) {
  EXPECT("async function f()\n"
         "  if x then do end elseif y then while z do end end\n"
         "  for i = 1, 2 do repeat until true end\n"
         "  local g = function() end\n"
         "end\n"
         "x = 1",
         P "f = __alua_async(function()\n"
         "  if x then do end elseif y then while z do end end\n"
         "  for i = 1, 2 do repeat until true end\n"
         "  local g = function() end\n"
         "end, \"f\")\n"
         "x = 1");
}

Test(forms, nested_async) {
  EXPECT("async function f() async function g() end local async function h() end end",
         P "f = __alua_async(function() g = __alua_async(function() end, \"g\") local h; h = "
           "__alua_async(function() end, \"h\") end, \"f\")");
}

Test(forms, header_across_lines) {
  EXPECT("async function\n  t.\n  a(x)\nend",
         P "\nt.\n  a = __alua_async(function(x)\nend, \"t.a\")");
  EXPECT("local\nasync function --[[c]] f\n(x) end",
         P "local\nf; f = __alua_async(function\n(x) end, \"f\")");
  EXPECT("async function t:\nm() end",
         P "t.\nm = __alua_async(function(self) end, \"t:m\")");
}

Test(forms, after_statements) {
  EXPECT("x = 1 async function f() end",
         P "x = 1 f = __alua_async(function() end, \"f\")");
  EXPECT("do async function f() end end",
         P "do f = __alua_async(function() end, \"f\") end");
  EXPECT("local x <const> = 1\nasync function f() end",
         P "local x <const> = 1\nf = __alua_async(function() end, \"f\")");
  EXPECT("::top:: async function f() end",
         P "::top:: f = __alua_async(function() end, \"f\")");
}

/* ---- await ---- */

Test(await, suffixes) {
  EXPECT("local x = await f(x).y:z()",
         P "local x = __alua_await(f(x).y:z())");
  EXPECT("x = await a.b[c](d):e \"s\" {t} [[l]]",
         P "x = __alua_await(a.b[c](d):e \"s\" {t} [[l]])");
  EXPECT("x = await f\n(y)", P "x = __alua_await(f\n(y))");
}

Test(await, unary_chains) {
  EXPECT("x = await await x", P "x = __alua_await(__alua_await(x))");
  EXPECT("x = -await x", P "x = -__alua_await(x)");
  EXPECT("x = await -x", P "x = __alua_await(-x)");
  EXPECT("x = not await x", P "x = not __alua_await(x)");
  EXPECT("x = await #t", P "x = __alua_await(#t)");
  EXPECT("x = await not not x", P "x = __alua_await(not not x)");
  EXPECT("x = await ~x", P "x = __alua_await(~x)");
  EXPECT("x = await -await - -x", P "x = __alua_await(-__alua_await(- -x))");
}

Test(await, precedence) {
  EXPECT("x = await a + b", P "x = __alua_await(a) + b");
  EXPECT("x = await a ^ b", P "x = __alua_await(a ^ b)");
  EXPECT("x = await a ^ -b ^ c + d", P "x = __alua_await(a ^ -b ^ c) + d");
  EXPECT("x = await a .. b", P "x = __alua_await(a) .. b");
  EXPECT("x = await a == b and c", P "x = __alua_await(a) == b and c");
  EXPECT("x = await a * b", P "x = __alua_await(a) * b");
  EXPECT("x = a ^ await b ^ c", P "x = a ^ __alua_await(b ^ c)");
  EXPECT("x = await 2 ^ 2 ^ 3 // 4", P "x = __alua_await(2 ^ 2 ^ 3) // 4");
}

Test(await, parens_and_returns) {
  EXPECT("x = await (x)", P "x = __alua_await((x))");
  EXPECT("await(x)", P "__alua_await((x))");
  EXPECT("return await x", P "return __alua_await(x)");
  EXPECT("return await x end", P "return __alua_await(x) end");
  EXPECT("return await x;", P "return __alua_await(x);");
  EXPECT("x = await (f)(y).z", P "x = __alua_await((f)(y).z)");
}

Test(await, literal_operands) {
  EXPECT("x = await 1", P "x = __alua_await(1)");
  EXPECT("x = await 'a' .. b", P "x = __alua_await('a') .. b");
  EXPECT("x = await {1, 2}.n", P "x = __alua_await({1, 2}).n");
  EXPECT("x = await nil", P "x = __alua_await(nil)");
  EXPECT("x = await ...", P "x = __alua_await(...)");
  EXPECT("x = await function() return 1 end + 1",
         P "x = __alua_await(function() return 1 end) + 1");
  EXPECT("x = await async function() end",
         P "x = __alua_await(__alua_async(function() end))");
}

Test(await, statements) {
  EXPECT("await sleep(1)", P "__alua_await(sleep(1))");
  EXPECT("f() await g() h()", P "f() __alua_await(g()) h()");
  EXPECT("await x\nawait y", P "__alua_await(x)\n__alua_await(y)");
  EXPECT("local _ <close> = await lock:acquire()",
         P "local _ <close> = __alua_await(lock:acquire())");
}

Test(await, positions) {
  EXPECT("if await x then end", P "if __alua_await(x) then end");
  EXPECT("while await x do end", P "while __alua_await(x) do end");
  EXPECT("repeat until await x", P "repeat until __alua_await(x)");
  EXPECT("for i = await a, await b do end",
         P "for i = __alua_await(a), __alua_await(b) do end");
  EXPECT("for k, v in await x do end", P "for k, v in __alua_await(x) do end");
  EXPECT("t[await x] = await y", P "t[__alua_await(x)] = __alua_await(y)");
  EXPECT("a, b = await x, await y", P "a, b = __alua_await(x), __alua_await(y)");
  EXPECT("f{await x; await y}", P "f{__alua_await(x); __alua_await(y)}");
  EXPECT("x = {k = await v}", P "x = {k = __alua_await(v)}");
}

Test(await, nested) {
  EXPECT("f(await g(await h(1), function() return await z end), 3)",
         P "f(__alua_await(g(__alua_await(h(1)), function() return __alua_await(z) end)), 3)");
  EXPECT("x = await (function() local y = await z; return y end)()",
         P "x = __alua_await((function() local y = __alua_await(z); return y end)())");
  EXPECT("async function f() return await x end",
         P "f = __alua_async(function() return __alua_await(x) end, \"f\")");
}

Test(await, operand_lines) {
  /* the `)` goes right after the operand's last token, on its line */
  EXPECT("x = await f(\n  1,\n  2\n)\ny = 1",
         P "x = __alua_await(f(\n  1,\n  2\n))\ny = 1");
  EXPECT("x = await a -- comment\n+ 1", P "x = __alua_await(a) -- comment\n+ 1");
  EXPECT("x = await --[[c]] a", P "x = __alua_await(a)");
}

/* ---- where async and await are plain names ---- */

Test(names, plain_lua_is_untouched) {
  SAME("local await = 1");
  SAME("local async = 1");
  SAME("x = t.async");
  SAME("x = t.await + t.async");
  SAME("await.x = 1");
  SAME("await[1] = 2");
  SAME("await:m()");
  SAME("function await() end");
  SAME("x = await");
  SAME("x = await\nf()");
  SAME("return await");
  SAME("f(await)");
  SAME("f(await, async)");
  SAME("x = await + 1");
  SAME("x = await .. s");
  SAME("x = await == nil");
  SAME("x = { await = 1, async = 2 }");
  SAME("x = a.await(1)");
  SAME("x = a:await(1)");
  SAME("x = a:async(1)");
  SAME("function t.await() end");
  SAME("function t:async() end");
  SAME("function t.async.await() end");
  SAME("local function f(await, async) end");
  SAME("for await, async in pairs(t) do end");
  SAME("for await = 1, 2 do end");
  SAME("goto await ::await::");
  SAME("local a <const>, await <close> = 1, nil");
  SAME("local async\nfunction f() end");
  SAME("x = async\nfunction f() end");
  SAME("x = async");
  SAME("async = 1");
  SAME("x = async(f)");
}

/* Parentheses that only a call can have: `await` is a function there. */
Test(names, call_only_parens_make_await_a_call) {
  SAME("await()");
  SAME("await(a, b)");
  SAME("x = await(a, b)");
  SAME("x = await( )");
  SAME("x = await(--[[ c ]])");
  SAME("return await(1, 2), 3");
  SAME("local t = {await(a, b), await()}");
  SAME("await(a, b):m()");
  SAME("await(a, b).x = 1");
  SAME("f(await(a, b))");
  SAME("x = await(a,\n b)");
  SAME("x = await(f(a), {b, c}[1])");
  SAME("x = await((a), b)");
  SAME("x = await(a,");
  SAME("x = await(function(a, b) return a, b end, 1)");
  /* commas of nested brackets and bodies do not count: the keyword */
  EXPECT("x = await(f(a, b))", P "x = __alua_await((f(a, b)))");
  EXPECT("x = await({a, b})", P "x = __alua_await(({a, b}))");
  EXPECT("x = await(t[f(a, b)])", P "x = __alua_await((t[f(a, b)]))");
  EXPECT("x = await(function() local a, b = 1, 2 return a, b end)",
         P "x = __alua_await((function() local a, b = 1, 2 return a, b end))");
  EXPECT("x = await(function() if a then return 1, 2 end end)",
         P "x = __alua_await((function() if a then return 1, 2 end end))");
  /* awaits inside the call's arguments are still keywords */
  EXPECT("await(await x, y)", P "await(__alua_await(x), y)");
  EXPECT("x = await await(a, b)", P "x = __alua_await(await(a, b))");
  EXPECT("x = await f(await(a, b))", P "x = __alua_await(f(await(a, b)))");
  /* incomplete input keeps its <eof> error either way */
  EXPECT("x = await(f(", P "x = __alua_await((f(");
}

Test(names, declared_await_is_a_name) {
  SAME("local await = require('x').await\nawait(y)\nx = await 1");
  SAME("local function await(x) end\nawait(y)");
  SAME("function await(x) end\nawait(y)");
  SAME("await = 1\nawait(y)");
  SAME("function f(await) return await(1) end");
  EXPECT("local async function await() end\nawait(1)",
         P "local await; await = __alua_async(function() end, \"await\")\nawait(1)");
  /* before the declaration, the keyword */
  EXPECT("x = await(y)\nlocal await = 1\nx = await(y)",
         P "x = __alua_await((y))\nlocal await = 1\nx = await(y)");
}

Test(names, async_needs_function_on_same_line) {
  SAME("local async\nfunction f() end");
  SAME("x = async --[[\n]] function f() end");
}

Test(names, await_needs_operand_on_same_line) {
  SAME("x = await\n(f)()");
  SAME("x = await --[[\n]] y");
}

/* ---- lexing ---- */

Test(lexing, strings_and_comments_hold_no_keywords) {
  SAME("x = 'async function f() end' .. \"await x\"");
  SAME("x = \"\\\"await x\" y = '\\'async function f() end'");
  SAME("-- async function f() end\n--[[ await x ]] --[==[ await ]] x ]==]");
  SAME("x = [[ await x ]] y = [=[ ]] await x ]=] z = [==[\nasync function f() end\n]==]");
  SAME("x = 'a\\z\n   await x'");
  SAME("x = 'a\\\nawait x'");
  SAME("s = ('await'):rep(2) t = (\"async\"):upper()");
  SAME("x = a.await.async:await()");
  SAME("x = 0x1p4 + 3e-2 + .5 + 0x.Ap-1 + 1e+5 + 0xA");
  SAME("::l:: goto l");
  SAME("local x <close>, y <const> = nil, 1");
  SAME("x = a // b ~ c >> 1 << 2 & 3 | 4 ~= 5");
}

Test(lexing, keywords_next_to_tricky_tokens) {
  EXPECT("x = await 'a\\'b' .. [[c]]", P "x = __alua_await('a\\'b') .. [[c]]");
  EXPECT("x = await [==[ ]] ]==]:len()",
         P "x = __alua_await([==[ ]] ]==]):len()");
  EXPECT("x = await f[[s]]  -- await y", P "x = __alua_await(f[[s]])  -- await y");
  EXPECT("x = await (\"s\"):rep(2)", P "x = __alua_await((\"s\"):rep(2))");
  EXPECT("x = await .5", P "x = __alua_await(.5)");
  EXPECT("x = await a.await", P "x = __alua_await(a.await)");
  EXPECT("x = await await.x", P "x = __alua_await(await.x)");
  EXPECT("x = await async", P "x = __alua_await(async)");
  EXPECT("x = await t:async()", P "x = __alua_await(t:async())");
  EXPECT("x = await --[==[ ]] ]==] y", P "x = __alua_await(y)");
}

Test(lexing, crlf_lines) {
  EXPECT("async function f()\r\n  return await x\r\nend\r\n",
         P "f = __alua_async(function()\r\n  return __alua_await(x)\r\nend, \"f\")\r\n");
  EXPECT("async function\r\nf() end", P "\nf = __alua_async(function() end, \"f\")");
  EXPECT("async function\n\rf() end", P "\nf = __alua_async(function() end, \"f\")");
  EXPECT("async function\n\nf() end", P "\n\nf = __alua_async(function() end, \"f\")");
  /* a kept '\r' next to a dropped break must not pair with it */
  EXPECT("local\rasync function\nf() end", P "local\r \nf; f = __alua_async(function() end, \"f\")");
  EXPECT("x()\rasync function\r\rf() end", P "x()\r \n\nf = __alua_async(function() end, \"f\")");
}

/* ---- chunk boundaries ---- */

Test(chunk, prelude_after_shebang) {
  EXPECT("#!/usr/bin/env alua\nawait x\n", "#!/usr/bin/env alua\n" P "__alua_await(x)\n");
  SAME("#!/usr/bin/env alua await x\n");
  EXPECT("#!x\n\rawait y", "#!x\n\r" P "__alua_await(y)");
  EXPECT("#!x\r\nawait y", "#!x\r\n" P "__alua_await(y)");
  EXPECT("#!x\r\n\r\n--c\nawait y", "#!x\r\n\r\n--c\n" P "__alua_await(y)");
  SAME("#!/usr/bin/env alua [[\nx = 1");
  EXPECT("\xEF\xBB\xBF" "await x", "\xEF\xBB\xBF" P "__alua_await(x)");
  EXPECT("\xEF\xBB\xBF#!x\nawait x", "\xEF\xBB\xBF#!x\n" P "__alua_await(x)");
}

Test(chunk, binary_passes_through) {
  static const char bin[] = "\x1bLua\x54\x00 await x async function f() end";
  size_t n;
  char *out = trn(bin, sizeof bin - 1, &n);
  cr_assert_eq(n, sizeof bin - 1);
  cr_assert_eq(memcmp(out, bin, n), 0);
  free(out);
}

Test(chunk, empty_and_null) {
  size_t n = 1;
  char *out = NULL;
  cr_assert_eq(at_translate(NULL, 0, &out, &n), 0);
  cr_assert_eq(n, 0);
  cr_assert_str_eq(out, "");
  free(out);
  cr_assert_eq(at_translate("x", 1, NULL, &n), -EINVAL);
  cr_assert_eq(at_translate(NULL, 1, &out, &n), -EINVAL);
}

Test(chunk, nul_bytes_are_kept) {
  static const char src[] = "x = '\0' await\0 y";
  size_t n;
  char *out = trn(src, sizeof src - 1, &n);
  cr_assert_eq(n, sizeof src - 1);
  cr_assert_eq(memcmp(out, src, n), 0);
  free(out);
}

/* ---- incomplete input keeps Lua's <eof> error ---- */

Test(incomplete, left_open) {
  EXPECT("async function f()", P "f = __alua_async(function()");
  EXPECT("x = await f(", P "x = __alua_await(f(");
  EXPECT("x = await f(1) +", P "x = __alua_await(f(1)) +");
  EXPECT("x = await a ^", P "x = __alua_await(a ^");
  EXPECT("x = await a.", P "x = __alua_await(a.");
  EXPECT("x = await function()", P "x = __alua_await(function()");
  EXPECT("x = await a", P "x = __alua_await(a)");
  EXPECT("x = 'unfinished await y", "x = 'unfinished await y");
  SAME("x = [[ await y");
  SAME("--[[ await y");
}

/* ---- hostile input ---- */

Test(hostile, deep_brackets) {
  size_t n = 200000;
  char *s = malloc(n + 20);
  cr_assert_not_null(s);
  memcpy(s, "x = await ", 10);
  memset(s + 10, '(', n);
  s[n + 10] = '\0';
  size_t outlen;
  char *out = trn(s, n + 10, &outlen);
  cr_assert_eq(lines(out, outlen), 1);
  free(out);
  free(s);
}

Test(hostile, many_nested_awaits) {
  /* deeper than the pending-close cap: the excess stays as written */
  size_t reps = 1000;
  char *s = malloc(reps * 8 + 16);
  cr_assert_not_null(s);
  size_t n = 0;
  memcpy(s, "x = ", 4);
  n = 4;
  for (size_t i = 0; i < reps; i++) {
    memcpy(s + n, "await (", 7);
    n += 7;
  }
  s[n++] = 'y';
  memset(s + n, ')', reps);
  n += reps;
  s[n] = '\0';
  size_t outlen;
  char *out = trn(s, n, &outlen);
  cr_assert_eq(lines(out, outlen), 1);
  cr_assert_not_null(strstr(out, "await ("));
  free(out);
  free(s);
}

Test(hostile, many_call_candidates) {
  /* every `await(` looks ahead for a comma: only as deep as the cap */
  size_t reps = 100000;
  char *s = malloc(reps * 6 + 16);
  cr_assert_not_null(s);
  size_t n = 0;
  for (size_t i = 0; i < reps; i++) {
    memcpy(s + n, "await(", 6);
    n += 6;
  }
  s[n++] = 'y';
  s[n] = '\0';
  size_t outlen;
  char *out = trn(s, n, &outlen);
  cr_assert_eq(lines(out, outlen), 1);
  free(out);
  free(s);
}

Test(hostile, nested_calls_of_await) {
  /* await(await(...(x, y)..., y), y): each call scanned once, not again
   * for every `await` around it */
  size_t reps = 100000;
  char *s = malloc(reps * 10 + 16);
  cr_assert_not_null(s);
  size_t n = 0;
  for (size_t i = 0; i < reps; i++) {
    memcpy(s + n, "await(", 6);
    n += 6;
  }
  s[n++] = 'x';
  for (size_t i = 0; i < reps; i++) {
    memcpy(s + n, ", y)", 4);
    n += 4;
  }
  size_t outlen;
  char *out = trn(s, n, &outlen);
  cr_assert_eq(outlen, n);
  cr_assert_eq(memcmp(out, s, n), 0);
  free(out);
  free(s);
}

Test(hostile, many_async_functions) {
  size_t reps = 600;
  char *s = malloc(reps * 30 + 16);
  cr_assert_not_null(s);
  size_t n = 0;
  for (size_t i = 0; i < reps; i++) {
    memcpy(s + n, "async function f()\n", 19);
    n += 19;
  }
  for (size_t i = 0; i < reps; i++) {
    memcpy(s + n, "end ", 4);
    n += 4;
  }
  size_t outlen;
  char *out = trn(s, n, &outlen);
  cr_assert_eq(lines(out, outlen), lines(s, n));
  free(out);
  free(s);
}

Test(hostile, garbage_keeps_lines) {
  static const char *inputs[] = {
    "await", "async", "async function", "async function (", "async function t:",
    "await )", "await ]]", "await - )", "x = await (]", "end end await x end",
    ") ) await x ( (", "async function f() end end end", "await 'x\n", "await [=",
    "[==[", "--[==", "\"\\", "'\\z", "0x", "1e", "...", "..", "::", "~",
    "async function a.b:c.d() end", "async function a:b:c() end",
    "local async function a.b() end", "local async function () end",
    "await $ x", "await \x80", "x = await\x01y",
    "#\r\n\r\n\tawait await await await Cs", "#!x\n\r- x = await y",
    "x\rasync function\r\r\ry(n,\r\ry(n, fn, ...)\n for",
  };
  for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
    size_t n = strlen(inputs[i]), outlen;
    char *out = trn(inputs[i], n, &outlen);
    cr_expect_eq(lines(out, outlen), lines(inputs[i], n), "input: %s", inputs[i]);
    free(out);
  }
}
