/* The event core: ready queue, timers, epoll poller, eventfd waker and
 * callbacks posted from other threads. No global state: every ac_loop is
 * independent, so several Lua states in one process each run their own.
 *
 * One pass (ac_loop_run_once):
 *   1. poll epoll, without blocking when callbacks are ready, otherwise until
 *      the earliest timer (or forever when may_block and nothing is due);
 *      I/O watchers' functions run here, as events arrive;
 *   2. callbacks posted from other threads move to the ready queue;
 *   3. due timers leave the heap in (deadline, seq) order and their `fn` runs
 *      (typically enqueueing a callback); the phase stops at the first timer
 *      started during it, so a timer restarting itself cannot spin the pass;
 *   4. the callbacks that are ready at this point run, first in, first out;
 *      callbacks enqueued while they run wait for the next pass.
 *
 * Virtual time (ac_loop_set_virtual_time). The clock starts at 0 and stands
 * still while callbacks run; a pass that finds no callback ready, no I/O
 * ready (polled without blocking) and no external work outstanding moves
 * the clock to the earliest timer's deadline instead of sleeping, and that
 * timer fires in the same pass. Descriptors never hold the clock back.
 * External work (ac_loop_external_begin/end: jobs on other threads, child
 * processes) is waited for in real time: while any is outstanding the
 * clock runs at the speed of the real one, and a blocking poll waits for
 * the work or for the earliest deadline, whichever comes first (the clock
 * then reads that deadline exactly).
 *
 * Every function returns 0 or a negative errno and never prints. */
#ifndef ALUA_CORE_LOOP_H
#define ALUA_CORE_LOOP_H

#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "heap.h"
#include "list.h"

/* Most events taken from epoll in one pass. */
#define AC_LOOP_MAX_EVENTS 256

/* A unit of work on the ready queue; embedded in its owner's record. */
typedef struct ac_callback {
  ac_list link;                          /* ready-queue or waiter-list link */
  void (*fn)(struct ac_callback *cb);    /* what runs when the callback is due */
} ac_callback;

/* Interest in one file descriptor; embedded in its owner's record. */
typedef struct ac_io {
  int fd;                                /* watched descriptor */
  uint32_t events;                       /* EPOLL* mask registered now, 0 if none */
  void (*fn)(struct ac_io *io, uint32_t revents); /* runs in the poll phase */
} ac_io;

typedef struct ac_loop {
  ac_heap timers;          /* pending timers */
  ac_list ready;           /* callbacks to run, in order */
  int epfd;                /* epoll instance; also the host-pollable fd */
  int wakefd;              /* eventfd written by ac_loop_wake */
  ac_io waker;             /* watcher of wakefd */
  pthread_mutex_t post_mu; /* guards `posted` */
  ac_list posted;          /* callbacks posted from other threads */
  int wake_armed;          /* 1 while a wake-up is written and not yet consumed (atomic) */
  uint64_t now;            /* clock read after the current pass's poll, ns */
  int nio;                 /* number of registered watchers, waker excluded */
  void *data;              /* owner's pointer, untouched by the core */
  struct epoll_event batch[AC_LOOP_MAX_EVENTS]; /* events being dispatched in the poll phase */
  int nbatch;              /* entries of `batch` not dispatched yet (0 outside the poll phase) */
  ac_list running;         /* ready callbacks of the current pass not run yet */
  int woken;               /* the waker fired in this pass: look at `posted` */
  int use_pwait2;          /* 0 once epoll_pwait2 reported ENOSYS */
  int virtual_time;        /* the clock is virtual (see above) */
  int external;            /* outstanding external work (ac_loop_external_begin) */
  uint64_t vreal;          /* virtual time: real clock when `now` last followed it */
} ac_loop;

static inline void ac_callback_init(ac_callback *cb, void (*fn)(ac_callback *cb)) {
  ac_list_init(&cb->link);
  cb->fn = fn;
}

/* True while cb is on the ready queue or on some waiter list. */
static inline int ac_callback_pending(const ac_callback *cb) { return ac_list_linked(&cb->link); }

/* Takes cb off whatever list holds it (ready queue or a waiter list). */
static inline void ac_callback_cancel(ac_callback *cb) { ac_list_remove(&cb->link); }

/* Sets up a watcher of fd that is not registered yet. */
static inline void ac_io_init(ac_io *io, int fd, void (*fn)(ac_io *io, uint32_t revents)) {
  io->fd = fd;
  io->events = 0;
  io->fn = fn;
}

int ac_loop_init(ac_loop *loop);

/* Switches the loop to virtual time (on) or back to the real clock (off).
 * Turning it on sets the clock to 0. -EBUSY while a timer is pending: its
 * deadline belongs to the other clock. Loop thread only. */
int ac_loop_set_virtual_time(ac_loop *loop, int on);
static inline int ac_loop_is_virtual_time(const ac_loop *loop) { return loop->virtual_time; }

/* External work: something outside the loop thread (a job on another
 * thread, a child process) that will make progress on its own and report
 * back through a post or a watcher. Each begin is matched by one end, on
 * the loop thread, when the outcome has arrived (or will never come).
 * Outstanding work keeps the loop alive and, under virtual time, makes the
 * loop wait in real time instead of jumping. end returns -EINVAL (and
 * changes nothing) when nothing is outstanding. */
void ac_loop_external_begin(ac_loop *loop);
int ac_loop_external_end(ac_loop *loop);
static inline int ac_loop_external(const ac_loop *loop) { return loop->external; }

/* True when something can still run, as uv_loop_alive: a ready callback, a
 * pending timer, a registered watcher (the loop's own waker excluded) or
 * external work outstanding. A loop that is not alive would sleep forever. */
int ac_loop_alive(const ac_loop *loop);

/* True when a pass run now has work without waiting or moving the clock: a
 * callback is ready, or a timer is due at the loop's current time (under
 * virtual time, a pass with neither would jump the clock instead). */
int ac_loop_due_now(const ac_loop *loop);

/* Closes the loop's descriptors and joins nothing; callbacks still queued are
 * dropped (their owners are responsible for them). */
void ac_loop_close(ac_loop *loop);

/* Appends cb (which must not be pending) to the ready queue. Loop thread only. */
void ac_loop_enqueue(ac_loop *loop, ac_callback *cb);

/* Moves every callback linked on `list` to the end of the ready queue, in
 * order; `list` ends empty. Loop thread only. */
void ac_loop_enqueue_all(ac_loop *loop, ac_list *list);

/* Schedules t to fire at the absolute loop time `deadline` (ns, on the
 * loop's clock: see ac_loop_update_time); an active timer is moved. Loop
 * thread only. */
void ac_loop_timer_start(ac_loop *loop, ac_timer *t, uint64_t deadline);
void ac_loop_timer_stop(ac_loop *loop, ac_timer *t);

/* Registers io->fd for `events` (EPOLLIN, EPOLLOUT, ...), or changes the mask
 * of a registered watcher; events == 0 unregisters. io->events must be 0 for
 * a watcher that is not registered (ac_io_init does that). Level-triggered
 * unless EPOLLET is passed. */
int ac_io_start(ac_loop *loop, ac_io *io, uint32_t events);

/* Unregisters io; a no-op when it is not registered. Safe from inside any
 * watcher's function: a pending event of io in the current batch is dropped.
 * Call it before closing io->fd (epoll keeps watching a closed fd that has a
 * dup). io->events is 0 afterwards even when epoll_ctl fails. */
int ac_io_stop(ac_loop *loop, ac_io *io);

/* Thread-safe: queues cb to run on the loop thread at the next pass and wakes
 * the loop. cb must not be pending, and must not be cancelled until it has
 * run: until then it sits on a list only the post lock guards. cb is queued
 * even when the wake-up fails (the error is returned). */
int ac_loop_post(ac_loop *loop, ac_callback *cb);

/* Thread-safe and async-signal-safe (a signal handler may call it; errno
 * is preserved): makes a blocking poll return. */
int ac_loop_wake(ac_loop *loop);

/* Host integration. The descriptor becomes readable when the loop has I/O or a
 * wake-up; ac_loop_timeout_ms says how long a host may sleep before calling
 * ac_loop_run_once(loop, 0): 0 when callbacks are ready, -1 when nothing is
 * scheduled, otherwise milliseconds to the earliest timer, rounded up (under
 * virtual time: 0 when the next pass would jump to a timer). */
int ac_loop_fd(const ac_loop *loop);
int ac_loop_timeout_ms(ac_loop *loop); /* also refreshes loop->now */

/* Runs one pass (see above). may_block = 0 never sleeps. Returns the number of
 * callbacks and timers run, or a negative errno if polling failed. A signal
 * interrupting the poll is not an error. Not reentrant: callbacks must not
 * call it. A poll that sleeps until the earliest timer never wakes before it
 * is due, and wakes on the first whole millisecond of the clock at or after
 * it, so that timers due within one millisecond share one wake-up instead
 * of costing one each: a timer fires less than 1 ms late, as with asyncio's
 * millisecond polls (a timer due now fires without a sleep).
 * Under virtual time a pass jumps to the earliest timer whether or not
 * may_block is set: the jump is not a sleep. */
int ac_loop_run_once(ac_loop *loop, int may_block);

/* Clock read after the current pass's poll (refreshed by each pass): real
 * monotonic nanoseconds, or virtual ones from 0 under virtual time. */
static inline uint64_t ac_loop_now(const ac_loop *loop) { return loop->now; }

/* Refreshes and returns loop->now: reads the monotonic clock, or under
 * virtual time returns the virtual clock (which follows the real one only
 * while external work is outstanding). Every deadline is computed from
 * this value. */
uint64_t ac_loop_update_time(ac_loop *loop);

#endif
