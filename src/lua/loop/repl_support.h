/* What the interactive prompt (src/cli/repl.c) needs from the bindings: the
 * default loop driven pass by pass by the prompt itself, so that tasks keep
 * running while readline waits for a key; one watched input descriptor;
 * each statement run as a task; and Ctrl+C, which cancels the statement
 * being run. There is one prompt per process, because SIGINT belongs to the
 * process. No function here raises: failures come back as status codes,
 * with a message pushed where the comment says so. */
#ifndef ALUA_LUA_REPL_SUPPORT_H
#define ALUA_LUA_REPL_SUPPORT_H

#include <lua.h>

/* What alua__repl_result found out about the statement. */
enum alua__repl_outcome {
  ALUA_REPL_IDLE,        /* no statement was started */
  ALUA_REPL_RUNNING,     /* the statement's task is still pending */
  ALUA_REPL_OK,          /* it returned: its values are pushed */
  ALUA_REPL_ERROR,       /* it failed: a report (message and traceback) is pushed */
  ALUA_REPL_INTERRUPTED  /* Ctrl+C cancelled it: nothing is pushed */
};

/* Makes the default loop (created if needed) the running loop of L's
 * state, with L (the main thread) as its thread, sets internals.repl_await
 * (asyncio.run at the prompt awaits its argument) and takes SIGINT (a
 * second Ctrl+C never stops the process).
 * Returns 0, or -1 with an error message pushed. */
int alua__repl_enter(lua_State *L);

/* Undoes alua__repl_enter: the loop stops being the running loop (it stays
 * open, with whatever tasks are left) and SIGINT gets its previous
 * disposition back. */
void alua__repl_leave(lua_State *L);

/* Runs one pass of the loop (may_block = 0 never sleeps). Returns 0, or a
 * negative errno when polling failed. loop:stop() has no effect here: the
 * prompt owns the loop. */
int alua__repl_pass(lua_State *L, int may_block);

/* Calls fn(ud) from the poll phase while fd is readable (level-triggered).
 * One watcher at a time; a second call moves it. Returns 0 or a negative
 * errno (-EPERM for a regular file, which epoll cannot watch). */
int alua__repl_watch(lua_State *L, int fd, void (*fn)(void *ud), void *ud);
void alua__repl_unwatch(lua_State *L);

/* Starts the function on top of L (popped) as the statement's task, named
 * 'stdin' and not using up a task number. Returns 0, or -1 with an error
 * message pushed. */
int alua__repl_start(lua_State *L);

/* The statement's state (enum alua__repl_outcome). Once it is done, the
 * statement is forgotten and what it produced is pushed: *nvalues is the
 * number of values pushed. */
int alua__repl_result(lua_State *L, int *nvalues);

/* What the interrupt hook stopped when the loop did not get control back. */
enum { ALUA_REPL_STOPPED_TASK = 1, ALUA_REPL_STOPPED_CALLBACK };

/* Number of Ctrl+C presses since the last call that no statement took
 * (loop/interrupt.h: the statement is the main task); resets it. Called
 * after each pass. *stopped is set (ALUA_REPL_STOPPED_*) when something
 * other than the statement held the loop after a Ctrl+C and was stopped
 * where it ran (that task is cancelled; a callback's error goes to the
 * exception handler), 0 otherwise. */
int alua__repl_take_interrupts(int *stopped);

/* Cancels the statement's task because of Ctrl+C; alua__repl_result then
 * says ALUA_REPL_INTERRUPTED if it ends cancelled. 0 when none runs. */
int alua__repl_interrupt_statement(lua_State *L);

/* Cancels every unfinished task of the loop and runs it until they are all
 * done (their cleanup runs) or nothing can wake them. SIGINT gets its
 * previous disposition back first, so another Ctrl+C stops at once.
 * Returns 0, or a negative errno when polling failed. */
int alua__repl_shutdown(lua_State *L);

/* Async-signal-safe: makes a blocking pass return (for the prompt's own
 * signal handlers, such as SIGWINCH). */
void alua__repl_wake(void);

#endif
