/* <errno.h> of the Ringside C guest SDK: the numbers are Linux's. */
#ifndef RS_ERRNO_H
#define RS_ERRNO_H
extern int errno;
#define EPERM   1
#define ENOENT  2
#define EIO     5
#define EBADF   9
#define ENOMEM  12
#define EACCES  13
#define EEXIST  17
#define EISDIR  21
#define EINVAL  22
#define ENOSPC  28
#define ESPIPE  29
#define EROFS   30
#define EDOM    33
#define ERANGE  34
#define ENOSYS  38
#endif
