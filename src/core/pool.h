/* Worker thread pool for blocking work (run_in_executor, files, DNS).
 *
 * A job is an ac_work embedded in its owner's record. `work` runs on a worker
 * thread; then `done` is posted to the loop (ac_loop_post) and runs on the
 * loop thread in a later pass, with `state` saying whether the work ran. After
 * `done` is posted the pool never touches the job again, so `done` may free
 * it. Threads start lazily, up to the pool's limit, with all signals blocked
 * (so signals meant for the loop's signalfd never land on a worker), and stay
 * until ac_pool_shutdown. No global state: each loop may own a pool. */
#ifndef ALUA_CORE_POOL_H
#define ALUA_CORE_POOL_H

#include <pthread.h>

#include "list.h"
#include "loop.h"

/* Hard cap on the number of worker threads of one pool. */
#define AC_POOL_MAX_THREADS 64

enum {
  AC_WORK_IDLE = 0,  /* not submitted */
  AC_WORK_QUEUED,    /* waiting for a worker; can still be cancelled */
  AC_WORK_RUNNING,   /* `work` is running on a worker */
  AC_WORK_DONE,      /* `work` ran; `done` is posted or has run */
  AC_WORK_CANCELLED, /* `work` never ran; `done` is posted or has run */
};

typedef struct ac_work {
  ac_callback done;                /* posted to the loop when the job ends */
  void (*work)(struct ac_work *w); /* runs on a worker thread */
  ac_list link;                    /* pool queue link */
  int state;                       /* AC_WORK_*; stable once `done` runs */
} ac_work;

typedef struct ac_pool {
  ac_loop *loop;            /* where `done` callbacks are posted */
  pthread_mutex_t mu;       /* guards everything below except `closed` */
  pthread_cond_t cond;      /* signalled when work is queued or on shutdown */
  ac_list queue;            /* submitted jobs not yet picked up, in order */
  int nqueued;              /* length of `queue` */
  int idle;                 /* workers waiting on `cond` */
  int nthreads;             /* workers started */
  int max_threads;          /* limit on nthreads */
  int stopping;             /* set by shutdown: workers exit once the queue is empty */
  int closed;               /* shutdown finished; owner's thread only */
  pthread_t threads[AC_POOL_MAX_THREADS]; /* started workers, to join */
} ac_pool;

/* Sets up w as an idle job; `done` runs on the loop thread. */
void ac_work_init(ac_work *w, void (*work)(ac_work *w), void (*done)(ac_callback *cb));

/* The job a `done` callback belongs to. */
static inline ac_work *ac_work_of(ac_callback *cb) { return ac_container_of(cb, ac_work, done); }

/* max_threads <= 0 picks min(32, CPUs + 4), like Python's executor; larger
 * values are capped at AC_POOL_MAX_THREADS. Starts no thread. */
int ac_pool_init(ac_pool *p, ac_loop *loop, int max_threads);

/* Queues w (which must be idle or finished, with `done` not pending) and
 * starts a worker if none is free and the limit allows. -ESHUTDOWN after
 * shutdown; -EAGAIN etc. if no worker exists and none could be started (w is
 * then not queued). Loop thread. */
int ac_pool_submit(ac_pool *p, ac_work *w);

/* 0 if w was still queued: it will not run and `done` is posted with
 * AC_WORK_CANCELLED. -EBUSY if it is running or finished (`done` comes or came
 * as usual), -EINVAL if it was never submitted. */
int ac_pool_cancel(ac_pool *p, ac_work *w);

/* Stops accepting work, cancels queued jobs (their `done` is posted with
 * AC_WORK_CANCELLED), waits for running jobs to finish and joins every worker.
 * On return every submitted job's `done` has been posted, none has run yet
 * unless the loop ran meanwhile; run a loop pass to deliver them. Call it
 * before ac_loop_close. Idempotent. */
void ac_pool_shutdown(ac_pool *p);

#endif
