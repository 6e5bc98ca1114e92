/* Parking: the one way every wait of the module suspends a task and the one
 * rule that ends it (see internal.h). The wait record (class, object, loop
 * time) is what reports of what a task waits on read (src/lua/observe/);
 * keeping it costs three stores. */
#include "lua/internal.h"

static int suspend(lua_State *L, task *t, const alua__waitclass *wc, void *on, lua_KContext ctx, lua_KFunction k) {
  t->wait = wc;
  t->wait_on = on;
  t->since = ac_loop_now(&t->f.loop->core);
  t->suspended = 1;
  /* A task that cancelled itself (or was cancelled while running) must not
   * wait: its step runs again at once and k raises CancelledError. Unless
   * the wait is one that has ended already (sleep(0)), the request is now
   * thrown at it, as asyncio cancels the future the task would wait on. */
  if (t->must_cancel) {
    if (!t->woken) t->cancel_delivered = 1;
    alua__unpark_for_cancel(t);
  }
  return lua_yieldk(L, 0, ctx, k);
}

int alua__park(lua_State *L, task *t, ac_list *waiters, const alua__waitclass *wc, void *on, lua_KContext ctx,
               lua_KFunction k) {
  if (waiters) ac_list_push_back(waiters, &t->step.link);
  return suspend(L, t, wc, on, ctx, k);
}

int alua__repark(lua_State *L, task *t, ac_list *waiters, const alua__waitclass *wc, void *on, lua_KContext ctx,
                 lua_KFunction k) {
  ac_list_push_front(waiters, &t->step.link);
  return suspend(L, t, wc, on, ctx, k);
}

task *alua__resumed(lua_State *L, lua_KContext ctx) { return alua__resumed_rt(L, alua__rt(L), ctx); }

task *alua__resumed_rt(lua_State *L, rt *r, lua_KContext ctx) {
  task *t = r->current;
  const alua__waitclass *wc = t->wait;
  void *on = t->wait_on;
  t->wait = NULL;
  t->wait_on = NULL;
  if (t->resume == RESUME_CANCEL) {
    /* the step left the CancelledError on top; the hook keeps it there */
    if (wc && wc->cancelled) wc->cancelled(L, on, t->woken, ctx);
    lua_error(L);
  }
  return t;
}

int alua__wake_first(ac_list *waiters) {
  ac_list *n = ac_list_pop_front(waiters);
  if (!n) return 0;
  task *t = ac_container_of(n, task, step.link);
  lloop *lp = t->f.loop;
  t->woken = lp->slice;
  ac_loop_enqueue(&lp->core, &t->step);
  return 1;
}

void alua__wake_all(ac_list *waiters) {
  while (alua__wake_first(waiters)) {
  }
}

int alua__count_waiters(const ac_list *waiters) {
  int n = 0;
  for (const ac_list *p = waiters->next; p != waiters; p = p->next) n++;
  return n;
}

void alua__unpark_for_cancel(task *t) {
  ac_loop_timer_stop(&t->f.loop->core, &t->timer);
  ac_callback_cancel(&t->step);
  ac_loop_enqueue(&t->f.loop->core, &t->step);
}
