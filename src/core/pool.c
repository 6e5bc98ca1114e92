#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "fault.h"

void ac_work_init(ac_work *w, void (*work)(ac_work *w), void (*done)(ac_callback *cb)) {
  ac_callback_init(&w->done, done);
  w->work = work;
  ac_list_init(&w->link);
  w->state = AC_WORK_IDLE;
}

int ac_pool_init(ac_pool *p, ac_loop *loop, int max_threads) {
  int err;
  if (max_threads <= 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    max_threads = cpus > 0 ? (int)(cpus < 28 ? cpus + 4 : 32) : 4;
  }
  if (max_threads > AC_POOL_MAX_THREADS) max_threads = AC_POOL_MAX_THREADS;
  p->loop = loop;
  ac_list_init(&p->queue);
  p->nqueued = p->idle = p->nthreads = 0;
  p->max_threads = max_threads;
  p->stopping = p->closed = 0;
  if ((err = pthread_mutex_init(&p->mu, NULL))) return -err;
  if ((err = pthread_cond_init(&p->cond, NULL))) {
    pthread_mutex_destroy(&p->mu);
    return -err;
  }
  return 0;
}

static void *worker(void *arg) {
  ac_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->nqueued && !p->stopping) {
      p->idle++;
      pthread_cond_wait(&p->cond, &p->mu);
      p->idle--;
    }
    if (!p->nqueued) break;
    ac_work *w = ac_container_of(ac_list_pop_front(&p->queue), ac_work, link);
    p->nqueued--;
    w->state = AC_WORK_RUNNING;
    pthread_mutex_unlock(&p->mu);
    w->work(w);
    pthread_mutex_lock(&p->mu);
    w->state = AC_WORK_DONE;
    /* DONE and the post go together under the lock: whoever sees DONE knows
     * `done` is already on its way. w is not touched after the post. */
    ac_loop_post(p->loop, &w->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Starts one worker with every signal blocked; called with p->mu held. */
static int start_worker(ac_pool *p) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  /* may fail in a fault build (fault.h), as when threads run out */
  int err = ac_fault_hit() ? EAGAIN : pthread_create(&p->threads[p->nthreads], NULL, worker, p);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err) return -err;
  p->nthreads++;
  return 0;
}

int ac_pool_submit(ac_pool *p, ac_work *w) {
  if (p->closed) return -ESHUTDOWN;
  pthread_mutex_lock(&p->mu);
  if (p->stopping) {
    pthread_mutex_unlock(&p->mu);
    return -ESHUTDOWN;
  }
  if (p->nqueued >= p->idle && p->nthreads < p->max_threads) {
    int err = start_worker(p);
    /* With other workers alive the job simply waits for one of them. */
    if (err && p->nthreads == 0) {
      pthread_mutex_unlock(&p->mu);
      return err;
    }
  }
  w->state = AC_WORK_QUEUED;
  ac_list_push_back(&p->queue, &w->link);
  p->nqueued++;
  pthread_cond_signal(&p->cond);
  pthread_mutex_unlock(&p->mu);
  return 0;
}

int ac_pool_cancel(ac_pool *p, ac_work *w) {
  if (p->closed) return w->state == AC_WORK_IDLE ? -EINVAL : -EBUSY;
  pthread_mutex_lock(&p->mu);
  int state = w->state;
  if (state == AC_WORK_QUEUED) {
    ac_list_remove(&w->link);
    p->nqueued--;
    w->state = AC_WORK_CANCELLED;
    ac_loop_post(p->loop, &w->done);
  }
  pthread_mutex_unlock(&p->mu);
  if (state == AC_WORK_QUEUED) return 0;
  return state == AC_WORK_IDLE ? -EINVAL : -EBUSY;
}

void ac_pool_shutdown(ac_pool *p) {
  if (p->closed) return;
  pthread_mutex_lock(&p->mu);
  p->stopping = 1;
  ac_list *n;
  while ((n = ac_list_pop_front(&p->queue))) {
    ac_work *w = ac_container_of(n, ac_work, link);
    w->state = AC_WORK_CANCELLED;
    ac_loop_post(p->loop, &w->done);
  }
  p->nqueued = 0;
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->mu);
  /* Workers only finish their current job and exit: the queue is empty. */
  for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
  p->nthreads = 0;
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->mu);
  p->closed = 1;
}
