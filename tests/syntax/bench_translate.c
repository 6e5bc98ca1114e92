/* bench-translate [FILE [SECONDS]]: the speed of the async/await translator
 * on a Lua file, next to the speed of Lua's own parser (luaL_loadbuffer) on
 * the same text. Without FILE it times a generated 8 MB source. Prints:
 *   translate: N MB/s
 *   luaL_loadbuffer: N MB/s
 *   translate/load: N% */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "syntax/translate.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0, got;
  char *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *p = realloc(buf, cap * 2);
      if (!p) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = p;
      cap *= 2;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

/* A source of about `size` bytes: functions with strings, comments, long
 * brackets, tables and awaits, as scripts are written. */
static char *generate(size_t size, size_t *len) {
  static const char unit[] =
    "-- handler %zu: fetch, parse and store --[[ notes ]]\n"
    "async function handler_%zu(req, opts)\n"
    "  local url = (\"https://example.org/%%s?id=%%d\"):format(req.path, %zu)\n"
    "  local body = await fetch(url, { timeout = 2.5, retries = 0x3 })\n"
    "  if not body or #body == 0 then return nil, 'empty' end\n"
    "  local t = { n = 0, [[long string %zu]] }\n"
    "  for i, line in ipairs(split(body, '\\n')) do\n"
    "    t.n = t.n + 1; t[i] = line:upper() .. [==[ ]] ]==]\n"
    "  end\n"
    "  await store:put(t, opts and opts.key or 'k' .. %zu)\n"
    "  return t.n * 2 ^ 3 // 1\n"
    "end\n\n";
  char *buf = malloc(size + sizeof unit + 128);
  size_t n = 0;
  if (!buf)
    return NULL;
  for (size_t i = 0; n < size; i++)
    n += (size_t)sprintf(buf + n, unit, i, i, i, i, i);
  *len = n;
  return buf;
}

/* Best seconds per run of translating src, over at least `secs` seconds. */
static double time_translate(const char *src, size_t len, double secs, size_t *outlen) {
  double best = 1e30, start = now();
  int runs = 0;
  while (runs < 3 || now() - start < secs) {
    char *out;
    double t0 = now();
    if (at_translate(src, len, &out, outlen) != 0) {
      fprintf(stderr, "bench-translate: out of memory\n");
      exit(1);
    }
    double dt = now() - t0;
    free(out);
    if (dt < best)
      best = dt;
    runs++;
  }
  return best;
}

/* Best seconds per luaL_loadbuffer of src; -1 if it does not load. */
static double time_load(lua_State *L, const char *src, size_t len, double secs) {
  double best = 1e30, start = now();
  int runs = 0;
  while (runs < 3 || now() - start < secs) {
    double t0 = now();
    int st = luaL_loadbuffer(L, src, len, "=bench");
    double dt = now() - t0;
    if (st != LUA_OK) {
      fprintf(stderr, "bench-translate: %s\n", lua_tostring(L, -1));
      return -1;
    }
    lua_pop(L, 1);
    lua_gc(L, LUA_GCCOLLECT);
    if (dt < best)
      best = dt;
    runs++;
  }
  return best;
}

int main(int argc, char **argv) {
  size_t len, outlen;
  double secs = argc > 2 ? atof(argv[2]) : 1.0;
  char *src = argc > 1 ? read_all(argv[1], &len) : generate(8u << 20, &len);
  if (!src) {
    fprintf(stderr, "bench-translate: cannot read %s: %s\n", argc > 1 ? argv[1] : "input",
            strerror(errno));
    return 1;
  }
  double mb = (double)len / 1e6;
  double tr = time_translate(src, len, secs, &outlen);
  printf("input: %.2f MB%s\n", mb, argc > 1 ? "" : " (generated)");
  printf("translate: %.0f MB/s\n", mb / tr);

  /* Lua parses the translated text, as alua's loaders do */
  char *out;
  if (at_translate(src, len, &out, &outlen) != 0)
    return 1;
  lua_State *L = luaL_newstate();
  double ld = L ? time_load(L, out, outlen, secs) : -1;
  if (ld > 0) {
    printf("luaL_loadbuffer: %.0f MB/s\n", mb / ld);
    printf("translate/load: %.1f%%\n", 100.0 * tr / ld);
  }
  if (L)
    lua_close(L);
  free(out);
  free(src);
  return ld > 0 ? 0 : 1;
}
