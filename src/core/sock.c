#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

int ac_set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return -errno;
  if (fl & O_NONBLOCK) return 0;
  return fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

int ac_set_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFD);
  if (fl < 0) return -errno;
  if (fl & FD_CLOEXEC) return 0;
  return fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0 ? -errno : 0;
}

int ac_addr_ip(ac_addr *a, int family, const char *host, int port) {
  if (port < 0 || port > 65535) return -EINVAL;
  memset(a, 0, sizeof *a);
  if (family != AF_INET6) {
    struct sockaddr_in *in = (struct sockaddr_in *)&a->ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons((uint16_t)port);
      a->len = sizeof *in;
      return 0;
    }
  }
  if (family != AF_INET) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
    char buf[AC_ADDR_HOSTLEN];
    const char *scope = strchr(host, '%');
    const char *ip = host;
    if (scope) {
      size_t n = (size_t)(scope - host);
      if (n >= sizeof buf) return -EINVAL;
      memcpy(buf, host, n);
      buf[n] = '\0';
      ip = buf;
    }
    if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
      if (scope) {
        char *end;
        unsigned long id = strtoul(scope + 1, &end, 10);
        if (*end || end == scope + 1) id = if_nametoindex(scope + 1);
        if (id == 0) return -EINVAL;
        in6->sin6_scope_id = (uint32_t)id;
      }
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons((uint16_t)port);
      a->len = sizeof *in6;
      return 0;
    }
  }
  return -EINVAL;
}

int ac_addr_unix(ac_addr *a, const char *path, size_t len) {
  struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
  memset(a, 0, sizeof *a);
  /* a filesystem path needs its NUL inside sun_path; an abstract name does not */
  if (len > sizeof un->sun_path - (len > 0 && path[0] == '\0' ? 0 : 1)) return -ENAMETOOLONG;
  un->sun_family = AF_UNIX;
  memcpy(un->sun_path, path, len);
  a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (len > 0 && path[0] == '\0' ? 0 : 1));
  return 0;
}

int ac_addr_format(const struct sockaddr *sa, socklen_t len, char *host, size_t hostlen, int *port) {
  if (hostlen == 0) return -EINVAL;
  host[0] = '\0';
  *port = 0;
  switch (sa->sa_family) {
  case AF_INET: {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    if (!inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t)hostlen)) return -errno;
    *port = ntohs(in->sin_port);
    return 0;
  }
  case AF_INET6: {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (!inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t)hostlen)) return -errno;
    if (in6->sin6_scope_id) {
      size_t n = strlen(host);
      snprintf(host + n, hostlen - n, "%%%u", (unsigned)in6->sin6_scope_id);
    }
    *port = ntohs(in6->sin6_port);
    return 0;
  }
  case AF_UNIX: {
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    size_t n = len > off ? len - off : 0;
    if (n > sizeof un->sun_path) n = sizeof un->sun_path;
    if (n > 0 && un->sun_path[0] == '\0') {
      /* abstract: shown with a leading '@', as ss and netstat do */
      if (n > hostlen - 1) n = hostlen - 1;
      host[0] = '@';
      if (n > 1) memcpy(host + 1, un->sun_path + 1, n - 1);
      host[n] = '\0';
      return 0;
    }
    size_t plen = strnlen(un->sun_path, n);
    if (plen > hostlen - 1) plen = hostlen - 1;
    memcpy(host, un->sun_path, plen);
    host[plen] = '\0';
    return 0;
  }
  default:
    return -EAFNOSUPPORT;
  }
}

int ac_socket(int family, int type, int protocol) {
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  return fd < 0 ? -errno : fd;
}

static int setopt(int fd, int level, int name, int on) {
  return setsockopt(fd, level, name, &on, sizeof on) < 0 ? -errno : 0;
}

int ac_sock_bind(const ac_addr *a, int type, int flags) {
  int family = a->ss.ss_family;
  int fd = ac_socket(family, type, 0);
  if (fd < 0) return fd;
  int rc = 0;
  if (family != AF_UNIX && (flags & AC_SOCK_REUSEADDR)) rc = setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (!rc && (flags & AC_SOCK_REUSEPORT)) rc = setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
  if (!rc && family == AF_INET6 && (flags & AC_SOCK_V6ONLY)) rc = setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (!rc && (flags & AC_SOCK_BROADCAST)) rc = setopt(fd, SOL_SOCKET, SO_BROADCAST, 1);
  if (!rc && bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0) rc = -errno;
  if (rc) {
    close(fd);
    return rc;
  }
  return fd;
}

int ac_sock_listen(const ac_addr *a, int backlog, int flags) {
  int fd = ac_sock_bind(a, SOCK_STREAM, flags);
  if (fd < 0) return fd;
  if (listen(fd, backlog) < 0) {
    int rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

int ac_sock_connect(int fd, const ac_addr *a) {
  int r;
  do r = connect(fd, (const struct sockaddr *)&a->ss, a->len);
  while (r < 0 && errno == EINTR);
  if (r == 0) return 0;
  /* EAGAIN: a Unix socket whose listener's backlog is full */
  return errno == EAGAIN ? -EINPROGRESS : -errno;
}

int ac_sock_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
  return -err;
}

int ac_sock_accept(int fd, ac_addr *peer) {
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      if (peer) {
        memcpy(&peer->ss, &ss, len < sizeof ss ? len : sizeof ss);
        peer->len = len;
      }
      return c;
    }
    /* the connection died in the backlog, or a signal: try the next one */
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  }
}

int ac_sock_nodelay(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -errno;
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return 0;
  return setopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}
