#ifndef RAMPART_CLINUX_SHIM_H
#define RAMPART_CLINUX_SHIM_H
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <poll.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <time.h>
#include <sched.h>
#include <pthread.h>

/// epoll_event is packed on x86_64; build and read it in C so Swift never guesses the layout.
static inline int rampart_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

/// Waits and copies events out as (events, data) pairs into two plain arrays.
static inline int rampart_epoll_wait(int epfd, uint32_t *events, uint64_t *datas, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) { events[i] = evs[i].events; datas[i] = evs[i].data.u64; }
    return n;
}

static inline int rampart_errno(void) { return errno; }

/* Declared here rather than defining _GNU_SOURCE, which would change system-header definitions
   (fd_set, rusage) and make this module clash with COpenSSL when a file imports both. */
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

static inline int rampart_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

static inline void rampart_getrandom(void *buf, size_t n) {
    size_t off = 0;
    while (off < n) { ssize_t r = getrandom((char *)buf + off, n - off, 0); if (r > 0) off += (size_t)r; }
}

/// Blocks the process-control signals so a signalfd can read them on one thread.
static inline int rampart_signalfd_for_control_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC);
}

/// Reads one signal from a signalfd; returns the signal number or -1.
static inline int rampart_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof(info));
    if (n != sizeof(info)) return -1;
    return (int)info.ssi_signo;
}

/// Waits up to `timeout_ms` for a signal on a signalfd; returns its number, or -1 when none came.
static inline int rampart_signalfd_poll(int fd, int timeout_ms) {
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    if (poll(&p, 1, timeout_ms) != 1) return -1;
    return rampart_signalfd_read(fd);
}

static inline void rampart_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

/// Per-thread state read in one instruction (initial-exec TLS), where pthread_getspecific costs a
/// call and a lookup on every use. Each is a function-local static: every object file that calls
/// one has its own copy, so each is called from one Swift function kept out of line
/// (BufferPool.take/give, ThreadRandom.state).

/// ByteBuffer's per-thread free list: slot 0 holds the count, slots 1...limit the buffers.
#define RAMPART_BUFFER_POOL_LIMIT 32
static inline void **rampart_buffer_pool_slots(void) {
    static __thread void *slots[RAMPART_BUFFER_POOL_LIMIT + 1];
    return slots;
}

/// The per-thread xorshift state of ThreadRandom (0 until seeded).
static inline uint64_t *rampart_thread_random_state(void) {
    static __thread uint64_t state;
    return &state;
}


static inline uint64_t rampart_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
#endif
