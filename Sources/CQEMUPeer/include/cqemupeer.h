/*
 * What Sources/QEMUPeer needs from C: starting QEMU (or another VMM process) so that it
 * cannot outlive the process that started it.
 */
#ifndef CQEMUPEER_H
#define CQEMUPEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * fork + execvp(argv[0], argv) with stdin from /dev/null, stdout to `out_fd` and stderr to
 * `err_fd` (-1: /dev/null), in a new process group, and PR_SET_PDEATHSIG = SIGTERM so the
 * child gets SIGTERM when the *thread* that called this exits: call it from a thread that
 * lives as long as the child should (the main thread). The child does only
 * async-signal-safe work between fork and exec. Returns the pid, or -errno. An exec
 * failure makes the child exit with status 127.
 */
pid_t cqp_spawn(char *const argv[], int out_fd, int err_fd);

/* pipe2(fds, O_CLOEXEC): 0, or -1 with errno. */
int cqp_pipe_cloexec(int fds[2]);

/* process_vm_readv of `length` bytes at `address` in `pid` into `buffer`: bytes read, or -errno. */
long cqp_read_process(pid_t pid, uint64_t address, void *buffer, size_t length);

#endif
