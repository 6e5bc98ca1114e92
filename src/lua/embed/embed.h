/* Records shared by the files of src/lua/embed: the state's hub (work
 * posted from other threads) and host futures. */
#ifndef ALUA_LUA_EMBED_H
#define ALUA_LUA_EMBED_H

#include <pthread.h>

#include "alua.h"
#include "lua/internal.h"

/* Something queued on the hub, to run on the loop thread. */
typedef struct hubitem {
  ac_list link;                        /* in hub->queue */
  void (*fn)(lua_State *L, void *ud);  /* alua_post's function, or NULL for a completion */
  void *ud;                            /* its argument */
} hubitem;

/* Why a record outside the state, with a lock and a count of references:
 * other threads reach it through alua_post (by the state's main thread, in
 * a process-wide table) and through host future handles, which may outlive
 * the state. */
struct alua__hub {
  pthread_mutex_t mu;      /* guards the fields below (see `futures`) */
  int refs;                /* 1 for the open state, 1 per host future handle */
  int closed;              /* the state is closed: completions are dropped */
  lua_State *main;         /* key of the process-wide table (main thread) */
  ac_loop *target;         /* loop a post wakes, or NULL */
  ac_list queue;           /* hubitems to run, in order */
  int npending;            /* length of queue (read without the lock as a hint) */
  ac_list futures;         /* host futures not taken yet; changed only by the loop
                            * thread while the hub is open, under the lock after */
  struct alua__hub *next;  /* in the process-wide table */
};

/* A host future: the handle alua_future_new gives out. */
struct alua_future {
  hubitem item;            /* queued on the hub once completed; fn is NULL */
  struct alua__hub *hub;   /* holds a reference until the record is freed */
  ac_list link;            /* in hub->futures until taken */
  lloop *loop;             /* loop of the future; NULL once that loop closed */
  int futref;              /* anchor of the future in its loop, LUA_NOREF once dropped */
  ac_callback watch;       /* on the future's waiter list: notices cancellation */
  int (*push)(lua_State *L, void *ud); /* set by alua_future_complete */
  void (*on_cancel)(void *ud);         /* alua_future_on_cancel, or NULL */
  void *cancel_ud;         /* its argument */
  uint8_t cancel_called;   /* on_cancel ran (or the future was cancelled with none set) */
  future *fut;             /* the future, valid while futref holds it */
};

/* Drops one reference; frees the hub at zero. Takes and releases the lock. */
void alua__hub_unref(struct alua__hub *h);

/* Loop thread: handles a completion taken from the hub queue (L NULL: the
 * hub is closing) and frees the handle. */
void alua__host_future_take(lua_State *L, struct alua_future *hf);

/* Loop thread: hf's loop is closing (L NULL: the state is closing, no Lua):
 * a pending future is cancelled, on_cancel runs if it has not, and hf lets
 * go of the loop; its completion will get push(NULL, ud). */
void alua__host_future_detach(lua_State *L, struct alua_future *hf);

#endif
