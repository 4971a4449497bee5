#define _GNU_SOURCE
#include "cqemupeer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

pid_t cqp_spawn(char *const argv[], int out_fd, int err_fd) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid > 0) return pid;
    /* Child: async-signal-safe calls only, then exec. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(127);
    setpgid(0, 0); /* a Ctrl-C at the terminal reaches ringside, which stops QEMU itself */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0); /* ringside blocks its stop signals; QEMU must not inherit that */
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    int reset[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE }; /* nor an ignored SIGINT (the bench ignores it) */
    for (unsigned i = 0; i < sizeof reset / sizeof reset[0]; i++) sigaction(reset[i], &dfl, 0);
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0) _exit(127);
    dup2(null_fd, 0);
    dup2(out_fd >= 0 ? out_fd : null_fd, 1);
    dup2(err_fd >= 0 ? err_fd : null_fd, 2);
    for (int fd = 3; fd < 1024; fd++) close(fd);
    execvp(argv[0], argv);
    _exit(127);
}

long cqp_read_process(pid_t pid, uint64_t address, void *buffer, size_t length) {
    struct iovec local = { .iov_base = buffer, .iov_len = length };
    struct iovec remote = { .iov_base = (void *)(uintptr_t)address, .iov_len = length };
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    return n < 0 ? -errno : (long)n;
}

int cqp_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
