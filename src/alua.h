/* alua: Lua 5.4 with asyncio — the embedding API (docs/embedding.md).
 *
 * A host creates a state with everything opened (alua_newstate), or opens
 * asyncio in a state of its own (alua_openlibs; luaopen_asyncio alone is
 * what `require "asyncio"` finds in asyncio.so). Source loaded through
 * alua_loadbufferx / alua_loadfilex understands `async function` and
 * `await`.
 *
 * Threads. A state and its loop belong to one thread at a time, the loop
 * thread: every function here is called on it, except alua_post and
 * alua_future_complete, which any thread may call (and alua_translate,
 * which needs no state).
 *
 * Reentrancy. alua_step, alua_pcallmain and alua_close run the loop: they
 * must not be called from code the loop runs (a task, a callback, a
 * function given to alua_post, a host future's push or on_cancel). */
#ifndef ALUA_H
#define ALUA_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>

#define ALUA_VERSION "alua 0.1.0"

/* Marks the functions libalua and asyncio.so export; everything else in
 * them is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define ALUA_API __attribute__((visibility("default")))
#else
#define ALUA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- states ---------------------------------------------------------- */

/* The asyncio module: returns the module table (one per state). Raises on
 * memory errors, like any luaopen_ function. */
ALUA_API int luaopen_asyncio(lua_State *L);

/* A new state with alua's allocator, the standard libraries, `asyncio` as a
 * global and in package.loaded, and translating load/loadfile/dofile/require.
 * NULL when out of memory. Close it with alua_close. */
ALUA_API lua_State *alua_newstate(void);

/* A state with alua's allocator (size classes on huge-page arenas) and
 * nothing opened. Close it with alua_close. */
ALUA_API lua_State *alua_newrawstate(void);

/* Opens asyncio (global and package.loaded) and the translating loaders in
 * a state that has the standard libraries; os.exit(code, true) then closes
 * the state with alua_close. Raises on memory errors, like luaL_openlibs. */
ALUA_API void alua_openlibs(lua_State *L);

/* Closes any state, in order: every open loop of the state has its
 * unfinished tasks cancelled and run until they are done (their cleanup
 * runs: <close> variables, pcall handlers), its host futures cancelled
 * (their on_cancel runs), its worker threads joined, and is closed; then
 * lua_close, in which no task, callback or exception handler runs (only the
 * __gc metamethods of what is left, as in any state). A task that keeps
 * swallowing its cancellation keeps alua_close waiting, as it would
 * asyncio.run. Releases alua's allocator for states made here. Nothing may
 * call alua_post for L once alua_close has started. */
ALUA_API void alua_close(lua_State *L);

/* ---- loading (never raise) ------------------------------------------- */

/* Like luaL_loadbufferx / luaL_loadfilex, but text chunks go through the
 * async/await translator first (binary chunks load as they are). They never
 * raise, even out of memory: they push the chunk and return LUA_OK, or push
 * an error message and return LUA_ERRSYNTAX, LUA_ERRMEM or (a file that
 * cannot be opened or read) LUA_ERRFILE. path NULL reads standard input. */
ALUA_API int alua_loadbufferx(lua_State *L, const char *buf, size_t len, const char *chunkname, const char *mode);
ALUA_API int alua_loadfilex(lua_State *L, const char *path, const char *mode);

/* Translates alua source to plain Lua, keeping every line on its number.
 * Returns 0 with *out (malloc'd, NUL-terminated, the caller frees it) and
 * *outlen, or -ENOMEM (or -EINVAL for NULL arguments). Needs no state. The
 * output finds async and await in the state that runs it (any state with
 * asyncio open), else through require("asyncio"). */
ALUA_API int alua_translate(const char *src, size_t len, char **out, size_t *outlen);

/* ---- running a program ------------------------------------------------- */

/* Calls the function below the nargs arguments on top of L as the main
 * chunk of a program, as the alua interpreter runs a script: a top-level
 * `await` runs the state's loop until the awaited value is done, and once
 * the function has returned, the loop runs until the tasks it started are
 * done (or nothing can wake them). In a state whose loop the host drives
 * (once alua_fd, alua_timeout_ms or alua_step was called on it) the
 * function's tasks are left to the host's loop instead. Returns a lua_pcall
 * status, with nresults results (LUA_MULTRET: all) or, on error, a string
 * instead of the function: the error's message, the traceback of every task
 * it went through, and the stack where it reached the main chunk. Never
 * raises. */
ALUA_API int alua_pcallmain(lua_State *L, int nargs, int nresults);

/* What alua_pcallmain does once its function has returned, for a host that
 * runs a program as several chunks (alua runs -e, -l and the script, then
 * this): runs the state's loop until the tasks the program started are done
 * and nothing else keeps the program alive (pending handles, serving
 * servers and descriptor watchers not unref()'d, as Node waits for them),
 * or until nothing can wake what is left; then closes the state's default
 * loop. Ctrl+C cancels the tasks (their cleanup runs) and ends it with
 * KeyboardInterrupt. Returns LUA_OK, or a lua_pcall status with the error
 * on top: the deadlock report, KeyboardInterrupt, or what failed. Does
 * nothing in a state that never used asyncio's tasks or from code the loop
 * runs. Never raises. */
ALUA_API int alua_finish(lua_State *L);

/* Ctrl+C for a host, async-signal-safe: call it from a signal handler or
 * from another thread. It interrupts the running Lua code at its next
 * instruction (plain code gets lua5.4's "interrupted!" error, the main task
 * its cancellation) and cancels the main task: the one asyncio.run or a
 * loop:run_until_complete runs, or a top-level await's. L is the state's
 * main thread (what alua_newstate returned). From a thread other than the
 * one running the state it cannot stop code that never yields; the main
 * task is cancelled when the loop next gets control. */
ALUA_API void alua_interrupt(lua_State *L);

/* Who handles the process's SIGINT for the state of L (alua_sigint). */
#define ALUA_SIGINT_DEFAULT 0 /* not alua: the disposition alua found is back */
#define ALUA_SIGINT_INTERRUPT 1 /* as lua5.4: a Ctrl+C is alua_interrupt, a
                                 * second one (before the first was acted
                                 * on) stops the process as SIGINT's default
                                 * does */
#define ALUA_SIGINT_PROMPT 2    /* as an interactive prompt: every Ctrl+C is
                                 * alua_interrupt; none stops the process */

/* Installs alua's SIGINT handler for the state of L in the given mode
 * (ALUA_SIGINT_*) whatever the disposition was, or with
 * ALUA_SIGINT_DEFAULT gives the disposition found back. Returns the mode
 * it replaces, so that `int old = alua_sigint(L, m); ...; alua_sigint(L,
 * old);` scopes a mode (scopes nest). SIGINT belongs to the process: the
 * state that set a mode last has it. asyncio.run and loop runs take SIGINT
 * too, inside what the host set, and give it back. Changing the mode to
 * ALUA_SIGINT_INTERRUPT from another starts a fresh reading of
 * alua_wasinterrupt. Loop thread; never raises. Returns -1 for a state
 * without asyncio or an unknown mode. */
ALUA_API int alua_sigint(lua_State *L, int mode);

/* For a message handler (lua_pcall's msgh), called with the error at idx:
 * pushes the report alua_pcallmain gives, the error's message, the
 * traceback of every task it went through and L's stack from `level`
 * (1 in a handler: the function that raised), and returns 0. When the
 * error is what Ctrl+C made, it pushes the string "KeyboardInterrupt" and
 * returns 1 instead: asyncio's KeyboardInterrupt, the CancelledError of a
 * top-level await an interrupt cancelled, or the "interrupted!" error an
 * interrupt raised in plain code while alua_sigint's mode was
 * ALUA_SIGINT_INTERRUPT (so a host can exit with status 130, as a shell
 * reports a process stopped by SIGINT). Raises only on memory errors. */
ALUA_API int alua_report(lua_State *L, int idx, int level);

/* State-wide options (alua_option). */
#define ALUA_OPT_VIRTUAL_TIME 1   /* loops created from now on (the default
                                   * loop, asyncio.run's, new_event_loop's)
                                   * run on virtual time unless their options
                                   * say otherwise: loop:time() starts at 0
                                   * and whenever no callback is ready, time
                                   * jumps to the next timer instead of
                                   * sleeping (alua --virtual-time) */
#define ALUA_OPT_REPORT_AT_ONCE 2 /* a task that fails while nothing awaits
                                   * it (no task, gather or done callback)
                                   * is reported ("Task exception was never
                                   * retrieved") at the end of the pass in
                                   * which it failed, as Node reports an
                                   * unhandled rejection, instead of when it
                                   * is collected or its loop closes (the
                                   * default, as Python); the main task is
                                   * not (alua_result has its error). An
                                   * interactive prompt wants this. */
#define ALUA_OPT_SIGQUIT 3        /* Ctrl+\ (SIGQUIT) prints what every task
                                   * waits on, as a tree, to stderr, and the
                                   * program carries on (alua does this);
                                   * only over SIGQUIT's default disposition,
                                   * so a handler the host or a script
                                   * installed stays; 0 gives the default
                                   * back */

/* Sets the option (ALUA_OPT_*) of the state of L to value (0 off, 1 on;
 * a negative value only reads it) and returns its value before, or -1 for
 * an unknown option or a state without asyncio. Loop thread; never
 * raises. */
ALUA_API int alua_option(lua_State *L, int option, int value);

/* ---- a main task on the host's loop ------------------------------------ */

/* What alua_result returns besides lua_pcall statuses. */
#define ALUA_RUNNING 100     /* the main task has not finished */
#define ALUA_INTERRUPTED 101 /* Ctrl+C cancelled it */

/* Starts the function (or coroutine object) below the nargs arguments on
 * top of L (all popped) as a task of the state's current loop (the running
 * one, else the default loop), named `name` (NULL: Task-N; a named task
 * takes no number), and makes it the state's main task: the one an
 * interrupt cancels, as asyncio.run's main task. It runs at the host's
 * next alua_step; the host then asks alua_result for its outcome. One main
 * task at a time. Loop thread, not from code the loop runs. Returns 0, or
 * -1 with an error message pushed instead (no asyncio in the state, a main
 * task already there, out of memory). */
ALUA_API int alua_start(lua_State *L, int nargs, const char *name);

/* The main task's outcome, after a step: ALUA_RUNNING (nothing pushed)
 * while it is pending; once it is done the task stops being the main task
 * and one of these comes back: LUA_OK with its results pushed (nresults of
 * them, LUA_MULTRET: all), LUA_ERRRUN with the report of its error pushed
 * (as alua_report makes it, without a stack of the caller's), or
 * ALUA_INTERRUPTED with the string "KeyboardInterrupt" pushed when an
 * interrupt cancelled it. When nothing can ever wake the pending main task
 * (no timer, descriptor, thread job or host future is left; see
 * ALUA_IDLE) it is cancelled, so that its cleanup runs, and its error is
 * the report of the deadlock. -1 (nothing pushed) when there is no main
 * task that alua_start started. Loop thread; raises only on memory
 * errors. */
ALUA_API int alua_result(lua_State *L, int nresults);

/* What an interrupt stopped where it ran (alua_interrupts). */
#define ALUA_STOPPED_TASK 1     /* a task that held the loop without yielding */
#define ALUA_STOPPED_CALLBACK 2 /* a callback that held the loop */

/* The interrupts that found no main task to cancel since the last call,
 * and resets their count: what a prompt does about a Ctrl+C while no
 * statement runs. If stopped is not NULL, *stopped tells whether an
 * interrupt stopped, where it ran, a task (cancelled there) or a callback
 * (its error went to the exception handler) that held the loop after the
 * main task had been cancelled or while there was none (ALUA_STOPPED_*),
 * else 0. Loop thread; never raises. */
ALUA_API int alua_interrupts(lua_State *L, int *stopped);

/* ---- the host owns the main loop ------------------------------------- */

/* What alua_step returns when it did not fail. */
#define ALUA_IDLE 0 /* nothing is left to do: no ready callback, timer, watched
                     * descriptor, thread job or host future is pending; only
                     * alua_post or new Lua calls can bring work */
#define ALUA_MORE 1 /* work remains: call alua_step again (at the latest after
                     * alua_timeout_ms, or when alua_fd is readable) */

/* A descriptor (level-triggered, close-on-exec, owned by the state: do not
 * close it) that is readable whenever the state's loop has I/O ready, work
 * posted from another thread or a wake-up. It stays the same for the life of
 * the state, even if Lua code closes the loop and a new default loop takes
 * its place. Returns it, or a negative errno. */
ALUA_API int alua_fd(lua_State *L);

/* How long the host may sleep, watching alua_fd, before the next alua_step:
 * 0 when callbacks are ready (or work was posted), -1 when nothing is
 * scheduled, else the milliseconds until the next timer, rounded up so that
 * the timer is due when the host wakes. Never fails. */
ALUA_API int alua_timeout_ms(lua_State *L);

/* One pass of the state's loop: waits at most timeout_ms for I/O or the
 * next timer (0: never waits; -1: as long as needed, which with nothing
 * scheduled means until alua_post or a host future's completion wakes it),
 * then runs what is due: I/O callbacks, due timers, the callbacks that
 * were ready when the pass began, and the functions posted with alua_post.
 * Returns ALUA_IDLE, ALUA_MORE, or a negative errno: -EBUSY when called
 * from code the loop runs, -ENOMEM, or the poller's error. Errors inside
 * callbacks and tasks go to the loop's exception handler, as always. */
ALUA_API int alua_step(lua_State *L, int timeout_ms);

/* The one thread-safe entry point besides alua_future_complete: queues
 * fn(L, ud) to run on the loop thread at the next pass of the state's loop
 * (from alua_step, or from a loop run by Lua code such as a top-level await
 * or asyncio.run), in the order posted, and wakes the loop. L is the state's
 * main thread, as alua_newstate returned it. fn may use the Lua API on the L
 * it receives and must leave its stack as it found it; an error it raises
 * goes to the exception handler. A function still queued when alua_close
 * runs is called with L == NULL, so that it can free ud. Posts still to
 * come are not pending work (a loop waiting only for them is idle, and a
 * top-level await waiting only for them is a deadlock): work a script
 * awaits is a host future. Not async-signal-safe. Returns 0, -ENOMEM, or
 * -EINVAL when L has no asyncio runtime. */
ALUA_API int alua_post(lua_State *L, void (*fn)(lua_State *L, void *ud), void *ud);

/* ---- futures owned by the host ---------------------------------------- */

/* A host future: a Future that Lua can await, completed by the host.
 *
 * Lifetime. alua_future_new returns a handle that belongs to the host until
 * it passes the handle to alua_future_complete. That call is required
 * exactly once for every handle, from any thread, whatever happened
 * meanwhile (the future was cancelled, Lua dropped it, its loop or the
 * whole state was closed); from the moment it is made the handle is gone
 * (it may be freed before the call returns) and must not be used again.
 * alua never frees a handle before that call, so the host may use it freely
 * until then. */
typedef struct alua_future alua_future;

/* Loop thread: pushes a new pending Future (of the running loop, else the
 * state's default loop) and returns the host's handle to it. While the
 * handle is outstanding the loop counts it as pending work (no deadlock is
 * reported for tasks awaiting it; reports of waits call it "host future").
 * Raises on memory errors, like lua_newuserdatauv. */
ALUA_API alua_future *alua_future_new(lua_State *L);

/* Any thread: completes the future and releases the handle (see above).
 * At the next pass, on the loop thread, push(L, ud) is called if the future
 * is still pending: it pushes the results and returns their count, or
 * raises an error, which becomes the future's. If the future is no longer
 * pending (cancelled, or set from Lua) push(NULL, ud) is called instead, on
 * the loop thread, or on the calling thread, inside this call, when the
 * state or the future's loop is already closed: then it must only free ud.
 * push is called exactly once. Returns 0 (nothing can fail). */
ALUA_API int alua_future_complete(alua_future *f, int (*push)(lua_State *L, void *ud), void *ud);

/* Loop thread, while the handle is outstanding: when the future is
 * cancelled before its completion has been handled (a task awaiting it was
 * cancelled, fut:cancel(), its loop or the state closing), fn(ud) runs once
 * on the loop thread, so that the host can stop the work behind it; at once
 * if the future is already cancelled. It may call alua_future_complete (then
 * push gets L == NULL). A later call replaces an earlier registration. */
ALUA_API void alua_future_on_cancel(alua_future *f, void (*fn)(void *ud), void *ud);

#ifdef __cplusplus
}
#endif

#endif
