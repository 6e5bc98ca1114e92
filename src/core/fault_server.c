/* The fault server of the out-of-memory sweeps (tests/oom/run-oom): one
 * process starts once and forks a run per request, so a sweep of thousands
 * of runs does not pay for thousands of program starts (exec, relocation,
 * the sanitizer runtime's set-up, the libraries opened). fault.h has the
 * protocol. */
#include "fault.h"

#ifdef ALUA_FAULT_INJECTION

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

/* The threads of this process; a fork keeps only the calling one. */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return -errno;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* Reads one request line into buf (without its newline): 1, 0 at the end
 * of input, or -errno. Byte by byte, so that nothing after the line is
 * taken from the pipe that the next request comes on. */
static int read_line(char *buf, size_t size) {
  size_t n = 0;
  for (;;) {
    char c;
    ssize_t r = read(0, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -errno;
    if (r == 0) return n ? -EPROTO : 0;
    if (c == '\n') break;
    if (n + 1 >= size) return -ENAMETOOLONG;
    buf[n++] = c;
  }
  buf[n] = '\0';
  return 1;
}

static int write_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -errno;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

static int answer(long value) {
  char line[32];
  int n = snprintf(line, sizeof line, "%ld\n", value);
  return write_all(1, line, (size_t)n);
}

/* Opens dir/name on fd target (0 when name is NULL: /dev/null). */
static int redirect(int target, const char *dir, const char *name) {
  char path[PATH_MAX];
  if (name && snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return -ENAMETOOLONG;
  int fd = name ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = dup2(fd, target) < 0 ? -errno : 0;
  close(fd);
  return r;
}

/* The child's side of a request: its stdio and its fault counting. */
static int become_run(unsigned long nth, unsigned long count, const char *dir) {
  int r;
  if ((r = redirect(0, dir, NULL)) < 0 || (r = redirect(1, dir, "stdout")) < 0 ||
      (r = redirect(2, dir, "stderr")) < 0)
    return r;
  if (setenv("ALUA_OOM_TMPDIR", dir, 1) < 0) return -errno;
  ac_fault_retarget(nth, count);
  return 0;
}

int ac_fault_serve(char *dir, size_t size) {
  int n = thread_count();
  if (n < 0) return n;
  if (n != 1) return -EBUSY;
#ifdef __SANITIZE_ADDRESS__
  /* LeakSanitizer reads every global at exit, the sanitizer runtime's
   * megabytes too; read here once, they are mapped in every child, which
   * then saves thousands of page faults. */
  __lsan_do_recoverable_leak_check();
#endif
  char line[PATH_MAX + 64];
  for (;;) {
    int r = read_line(line, sizeof line);
    if (r <= 0) _exit(r == 0 ? 0 : 1);
    unsigned long nth, count;
    int at = 0;
    if (sscanf(line, "%lu %lu %n", &nth, &count, &at) != 2 || !line[at] || strlen(line + at) >= size) _exit(1);
    snprintf(dir, size, "%s", line + at);
    pid_t pid = fork();
    if (pid < 0) _exit(1);
    if (pid == 0) {
      if ((r = become_run(nth, count, dir)) < 0) _exit(100);
      return 0;
    }
    /* the pid first: a run that hangs is killed by the sweep */
    if (answer(pid) < 0) _exit(1);
    int status;
    while (waitpid(pid, &status, 0) < 0)
      if (errno != EINTR) _exit(1);
    if (answer(WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status)) < 0) _exit(1);
  }
}

#endif
