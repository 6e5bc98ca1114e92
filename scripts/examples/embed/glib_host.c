/* alua inside a GLib main loop (the loop of GTK and of many daemons): a
 * GSource watches alua's descriptor and asks alua_timeout_ms how long
 * GLib may sleep, and dispatches with alua_step(L, 0). A GLib timer of the
 * host feeds the script, and the script quits the GLib loop when it is
 * done.
 *
 *   cc glib_host.c $(pkg-config --cflags --libs alua glib-2.0) -o glib_host
 *   ./glib_host
 */
#include <stdio.h>
#include <string.h>

#include <alua.h>
#include <glib.h>

/* A GSource that runs alua's loop. */
typedef struct {
  GSource source;
  lua_State *L;
  gpointer fd_tag; /* alua_fd in GLib's poll set */
} AluaSource;

/* Before GLib polls: ready now, or how long it may sleep. */
static gboolean alua_prepare(GSource *source, gint *timeout) {
  AluaSource *a = (AluaSource *)source;
  *timeout = alua_timeout_ms(a->L);
  return *timeout == 0;
}

/* After GLib polled: I/O or a wake-up on the descriptor, or a timer due. */
static gboolean alua_check(GSource *source) {
  AluaSource *a = (AluaSource *)source;
  return (g_source_query_unix_fd(source, a->fd_tag) & G_IO_IN) || alua_timeout_ms(a->L) == 0;
}

static gboolean alua_dispatch(GSource *source, GSourceFunc callback, gpointer data) {
  AluaSource *a = (AluaSource *)source;
  int rc = alua_step(a->L, 0);
  if (rc < 0) fprintf(stderr, "glib_host: alua_step: %s\n", strerror(-rc));
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs alua_source_funcs = {alua_prepare, alua_check, alua_dispatch, NULL, NULL, NULL};

/* Attaches a source running L's loop to the default main context. */
static GSource *alua_source_new(lua_State *L) {
  GSource *source = g_source_new(&alua_source_funcs, sizeof(AluaSource));
  AluaSource *a = (AluaSource *)source;
  a->L = L;
  a->fd_tag = g_source_add_unix_fd(source, alua_fd(L), G_IO_IN);
  g_source_attach(source, NULL);
  return source;
}

static GMainLoop *main_loop;

/* Lua: quit(): ends the GLib main loop. */
static int l_quit(lua_State *L) {
  g_main_loop_quit(main_loop);
  return 0;
}

/* A GLib timer of the host: hands the tick number to the script. */
static gboolean on_timer(gpointer data) {
  static int ticks;
  lua_State *L = data;
  lua_getglobal(L, "on_tick");
  lua_pushinteger(L, ++ticks);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "glib_host: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return G_SOURCE_CONTINUE;
}

static const char script[] =
    "local ticks = asyncio.Queue()\n"
    "function on_tick(n) ticks:put_nowait(n) end -- called by the host's GLib timer\n"
    "asyncio.create_task(function()\n"
    "  for i = 1, 3 do\n"
    "    local n = await ticks:get()\n"
    "    print('tick ' .. n .. ' from a GLib timer')\n"
    "  end\n"
    "  await asyncio.sleep(0.02)\n"
    "  print('slept 20 ms in GLib\\'s main loop')\n"
    "  quit()\n"
    "end)\n";

int main(void) {
  lua_State *L = alua_newstate();
  if (!L) return 1;
  lua_register(L, "quit", l_quit);
  main_loop = g_main_loop_new(NULL, FALSE);
  GSource *source = alua_source_new(L); /* the host drives alua's loop */
  if (alua_loadbufferx(L, script, strlen(script), "=script", NULL) != LUA_OK || alua_pcallmain(L, 0, 0) != LUA_OK) {
    fprintf(stderr, "glib_host: %s\n", lua_tostring(L, -1));
    return 1;
  }
  g_timeout_add(10, on_timer, L);
  g_main_loop_run(main_loop);
  g_source_destroy(source);
  g_source_unref(source);
  g_main_loop_unref(main_loop);
  alua_close(L);
  puts("GLib loop ended");
  return 0;
}
