#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/spawn.h"

/* Options running `sh -c script` with the given stdio kinds. */
static ac_spawn_opts sh(const char *script, int in, int out, int err) {
  static char *argv[4];
  argv[0] = "sh";
  argv[1] = "-c";
  argv[2] = (char *)script;
  argv[3] = NULL;
  ac_spawn_opts o = {.file = "sh", .argv = argv, .stdio = {in, out, err}};
  return o;
}

/* Waits for c to exit (polling, as a loop would at each SIGCHLD). */
static void reap(ac_child *c) {
  for (int i = 0; i < 5000 && !ac_child_poll(c); i++) usleep(1000);
  cr_assert(c->reaped, "the child did not exit");
}

/* Reads fd to its end into buf (NUL-terminated). */
static void slurp(int fd, char *buf, size_t size) {
  size_t n = 0;
  ssize_t r;
  while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0) n += (size_t)r;
  buf[n] = '\0';
  close(fd);
}

Test(spawn, exit_status_and_signal) {
  ac_child c;
  int pipes[3];
  ac_spawn_opts o = sh("exit 3", AC_SPAWN_INHERIT, AC_SPAWN_INHERIT, AC_SPAWN_INHERIT);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  cr_assert_gt(c.pid, 0);
  cr_assert_eq(pipes[0], -1);
  cr_assert_eq(pipes[1], -1);
  cr_assert_eq(pipes[2], -1);
  reap(&c);
  cr_assert_eq(ac_child_returncode(&c), 3);
  cr_assert_eq(ac_child_poll(&c), 1); /* reaped stays reaped */
  cr_assert_eq(ac_child_signal(&c, SIGTERM), -ESRCH);

  o = sh("kill -9 $$", AC_SPAWN_INHERIT, AC_SPAWN_INHERIT, AC_SPAWN_INHERIT);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  reap(&c);
  cr_assert_eq(ac_child_returncode(&c), -9);
}

Test(spawn, pipes_devnull_and_stderr_to_stdout) {
  ac_child c;
  int pipes[3];
  ac_spawn_opts o = sh("read x; echo \"got $x\"; echo oops >&2; cat", AC_SPAWN_PIPE, AC_SPAWN_PIPE, AC_SPAWN_STDOUT);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  cr_assert_geq(pipes[0], 3);
  cr_assert_geq(pipes[1], 3);
  cr_assert_eq(pipes[2], -1);
  cr_assert_neq(fcntl(pipes[0], F_GETFD) & FD_CLOEXEC, 0);
  cr_assert_eq(write(pipes[0], "hi\nrest\n", 8), 8);
  close(pipes[0]);
  char buf[256];
  slurp(pipes[1], buf, sizeof buf);
  cr_assert_str_eq(buf, "got hi\noops\nrest\n");
  reap(&c);
  cr_assert_eq(ac_child_returncode(&c), 0);

  /* DEVNULL: reads see the end at once, writes vanish */
  o = sh("cat; echo gone; echo done >&2", AC_SPAWN_DEVNULL, AC_SPAWN_DEVNULL, AC_SPAWN_PIPE);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  slurp(pipes[2], buf, sizeof buf);
  cr_assert_str_eq(buf, "done\n");
  reap(&c);
}

/* A descriptor of ours given as a standard descriptor, even one of the
 * standard numbers in the wrong place (the child's dup2s must not clobber
 * each other). */
Test(spawn, own_descriptors) {
  int p[2];
  cr_assert_eq(pipe(p), 0);
  ac_child c;
  int pipes[3];
  ac_spawn_opts o = sh("echo to-out; echo to-err >&2", AC_SPAWN_INHERIT, p[1], p[1]);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  close(p[1]);
  char buf[256];
  slurp(p[0], buf, sizeof buf);
  cr_assert_str_eq(buf, "to-out\nto-err\n");
  reap(&c);

  /* swap stdout and stderr: the child's stdout is our stderr and the other
   * way round */
  cr_assert_eq(pipe(p), 0);
  int saved_out = dup(1), saved_err = dup(2);
  dup2(p[1], 2); /* our stderr is the pipe */
  close(p[1]);
  o = sh("echo via-stdout", AC_SPAWN_INHERIT, 2, 1);
  int rc = ac_spawn(&c, &o, pipes, NULL);
  dup2(saved_err, 2);
  close(saved_err);
  close(saved_out);
  cr_assert_eq(rc, 0);
  slurp(p[0], buf, sizeof buf);
  cr_assert_str_eq(buf, "via-stdout\n");
  reap(&c);
}

Test(spawn, failures_name_their_step) {
  ac_child c;
  int pipes[3] = {7, 7, 7}, step = 0;
  char *argv[] = {"alua-no-such-program", NULL};
  ac_spawn_opts o = {.file = argv[0], .argv = argv, .stdio = {AC_SPAWN_PIPE, AC_SPAWN_PIPE, AC_SPAWN_PIPE}};
  int before = dup(0);
  close(before);
  cr_assert_eq(ac_spawn(&c, &o, pipes, &step), -ENOENT);
  cr_assert_eq(step, AC_SPAWN_STEP_EXEC);
  cr_assert_eq(pipes[0], -1);
  cr_assert_eq(pipes[2], -1);
  /* nothing left open: the next descriptor is the one that was free before */
  int after = dup(0);
  cr_assert_eq(after, before);
  close(after);

  o = sh("true", AC_SPAWN_INHERIT, AC_SPAWN_INHERIT, AC_SPAWN_INHERIT);
  o.cwd = "/alua-no-such-directory";
  cr_assert_eq(ac_spawn(&c, &o, pipes, &step), -ENOENT);
  cr_assert_eq(step, AC_SPAWN_STEP_CWD);

  o = sh("true", 1000, AC_SPAWN_INHERIT, AC_SPAWN_INHERIT); /* not open */
  cr_assert_lt(ac_spawn(&c, &o, pipes, &step), 0);
}

Test(spawn, cwd_env_and_session) {
  ac_child c;
  int pipes[3];
  char *env[] = {"ALUA_SPAWN_TEST=yes", NULL};
  ac_spawn_opts o = sh("pwd; echo $ALUA_SPAWN_TEST; test $$ = $(ps -o sid= -p $$ | tr -d ' ') && echo leader",
                       AC_SPAWN_INHERIT, AC_SPAWN_PIPE, AC_SPAWN_INHERIT);
  o.cwd = "/";
  o.envp = env;
  o.new_session = 1;
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  char buf[256];
  slurp(pipes[1], buf, sizeof buf);
  cr_assert_str_eq(buf, "/\nyes\nleader\n");
  reap(&c);
}

/* The child starts with nothing blocked and nothing ignored, whatever this
 * thread blocks and ignores (glibc's own real-time signals aside). */
Test(spawn, clean_signal_state) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGTERM, SIG_IGN);
  ac_child c;
  int pipes[3];
  ac_spawn_opts o = sh("grep -E '^Sig(Blk|Ign)' /proc/self/status", AC_SPAWN_INHERIT, AC_SPAWN_PIPE, AC_SPAWN_INHERIT);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  char buf[256];
  slurp(pipes[1], buf, sizeof buf);
  unsigned long long blocked, ignored;
  cr_assert_eq(sscanf(buf, "SigBlk: %llx SigIgn: %llx", &blocked, &ignored), 2, "%s", buf);
  unsigned long long classic = (1ull << 31) - 1; /* signals 1 to 31 */
  cr_assert_eq(blocked & classic, 0, "%s", buf);
  cr_assert_eq(ignored & classic, 0, "%s", buf);
  reap(&c);
}

Test(spawn, pidfd_readable_at_exit_and_signals) {
  ac_child c;
  int pipes[3];
  ac_spawn_opts o = sh("exec sleep 10", AC_SPAWN_INHERIT, AC_SPAWN_INHERIT, AC_SPAWN_INHERIT);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  int rc = ac_child_open_pidfd(&c);
  if (rc == -ENOSYS) cr_skip_test("no pidfd_open on this kernel");
  cr_assert_eq(rc, 0);
  cr_assert_geq(c.pidfd, 0);
  cr_assert_neq(fcntl(c.pidfd, F_GETFD) & FD_CLOEXEC, 0);
  struct pollfd p = {.fd = c.pidfd, .events = POLLIN};
  cr_assert_eq(poll(&p, 1, 0), 0); /* running */
  cr_assert_eq(ac_child_poll(&c), 0);
  cr_assert_eq(ac_child_signal(&c, SIGTERM), 0);
  cr_assert_eq(poll(&p, 1, 5000), 1); /* exited */
  cr_assert_eq(ac_child_poll(&c), 1);
  cr_assert_eq(ac_child_returncode(&c), -SIGTERM);
  cr_assert_eq(ac_child_signal(&c, SIGTERM), -ESRCH);
  ac_child_close_pidfd(&c);
  cr_assert_eq(c.pidfd, -1);
  ac_child_close_pidfd(&c); /* idempotent */
}

/* Without a pidfd, signals go through kill. */
Test(spawn, signal_without_pidfd) {
  ac_child c;
  int pipes[3];
  ac_spawn_opts o = sh("exec sleep 10", AC_SPAWN_INHERIT, AC_SPAWN_INHERIT, AC_SPAWN_INHERIT);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  cr_assert_eq(c.pidfd, -1);
  cr_assert_eq(ac_child_signal(&c, SIGKILL), 0);
  reap(&c);
  cr_assert_eq(ac_child_returncode(&c), -SIGKILL);
}

/* A child someone else reaped counts as reaped (its status is lost). */
Test(spawn, reaped_elsewhere) {
  ac_child c;
  int pipes[3];
  ac_spawn_opts o = sh("exit 5", AC_SPAWN_INHERIT, AC_SPAWN_INHERIT, AC_SPAWN_INHERIT);
  cr_assert_eq(ac_spawn(&c, &o, pipes, NULL), 0);
  int status;
  cr_assert_eq(waitpid(c.pid, &status, 0), c.pid);
  cr_assert_eq(ac_child_poll(&c), 1);
  cr_assert_eq(ac_child_returncode(&c), 0);
}
