/* Observability (SPEC 9): what every task waits on, the task dump
 * (asyncio.ps, print_ps, Ctrl+\), the deadlock report, and the recorder
 * behind traces and timelines. Only src/lua/ includes this.
 *
 * Costs. Parking stores the wait record (park.c); wake-ups and completions
 * store the loop's current slice (a constant while nothing records). Steps
 * and callbacks test lloop.observe once and take a slow path only when it
 * is set: debug mode, or a recorder in the runtime. */
#ifndef ALUA_LUA_OBSERVE_H
#define ALUA_LUA_OBSERVE_H

#include "lua/internal.h"

/* -- waits.c ---------------------------------------------------------------- */

/* Labels the future at futidx for reports: tasks awaiting it wait for
 * `kind` ("worker thread", "Condition", "host future", ...) on the object at
 * objidx (0: none); the label's text is kind followed by the object's
 * tostring, or by the string at objidx when it is a string. */
void alua__future_label(lua_State *L, int futidx, const char *kind, int objidx);

/* The `describe` of waits on a future, a task or a gather: a labelled
 * future reads as its label, a task by its name, a gather by its children. */
void alua__describe_future(lua_State *L, task *t, void *on, int obj, int rec);

/* A wait class for tasks parked on something a host completes (the object
 * of slot 1 is described with its tostring). */
extern const alua__waitclass alua__wait_host;

/* Pushes the text of the deadlock report for the loop lp, whose future at
 * idx can never complete: the wait-for graph in words from the task
 * running it, then the task tree. Never raises (pushes a shorter text when
 * the report cannot be built). */
void alua__push_deadlock_report(lua_State *L, lloop *lp, int idx);

/* Prints the task tree of the running loop (else the default loop) to
 * stderr if Ctrl+\ was pressed since the last call; the loop calls it after
 * every pass (inline: one load while nothing is pending). */
#include <signal.h>
extern volatile sig_atomic_t alua__quit_pending;
void alua__observe_print_tree(lua_State *L);
static inline void alua__observe_poll(lua_State *L) {
  if (alua__quit_pending) alua__observe_print_tree(L);
}

/* Makes SIGQUIT (Ctrl+\) print the task tree instead of stopping the
 * process, for the alua program; a script's own SIGQUIT handler
 * (loop:add_signal_handler) takes precedence. */
void alua__observe_sigquit(lua_State *L);

void alua__open_observe(lua_State *L, rt *r, int module, int internals);

/* -- record.c --------------------------------------------------------------- */

/* Recomputes lp->observe from debug mode and the runtime's recorder. */
void alua__observe_update(lloop *lp);

/* A step of task t (lp->observe set) is about to run: accounting (into
 * stats, its record, NULL when it has none) and the recorder. Returns a
 * nonzero token for alua__observe_step_end. */
uint64_t alua__observe_step_begin(lloop *lp, task *t, alua__taskstats *stats);
/* The step ended (t at tidx): the task is parked, ready, or done. Also
 * warns about slow steps in debug mode. Never raises. */
void alua__observe_step_end(lua_State *L, lloop *lp, task *t, int tidx, uint64_t token, alua__taskstats *stats);

/* The same around a callback (the handle at hidx). */
uint64_t alua__observe_callback_begin(lloop *lp);
void alua__observe_callback_end(lua_State *L, lloop *lp, int hidx, uint64_t token);

void alua__open_record(lua_State *L, rt *r, int module, int internals);

/* Undoes alua__observe_sigquit: SIGQUIT gets its default disposition back
 * if alua's handler is the one installed. */
void alua__observe_sigquit_remove(void);

#endif
