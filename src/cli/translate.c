/* alua --translate file: prints the plain Lua that a file translates to. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alua.h"
#include "cli/cli.h"

int cli_translate_file(lua_State *L, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    lua_pushfstring(L, "cannot open %s: %s", path, strerror(errno));
    return cli_report(L, LUA_ERRFILE);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) luaL_addlstring(&b, chunk, n);
  int failed = ferror(f);
  fclose(f);
  luaL_pushresult(&b);
  if (failed) {
    lua_pushfstring(L, "cannot read %s", path);
    return cli_report(L, LUA_ERRFILE);
  }
  size_t len;
  const char *src = lua_tolstring(L, -1, &len);
  char *out;
  size_t outlen;
  int rc = alua_translate(src, len, &out, &outlen);
  lua_pop(L, 1);
  if (rc < 0) {
    lua_pushfstring(L, "cannot translate %s: %s", path, strerror(-rc));
    return cli_report(L, LUA_ERRMEM);
  }
  fwrite(out, 1, outlen, stdout);
  fflush(stdout);
  free(out);
  return 0;
}
