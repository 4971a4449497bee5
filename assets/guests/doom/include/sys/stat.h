/* <sys/stat.h> for the DOOM engine: only mkdir, which doom_main.c answers with a failure. */
#ifndef DOOM_SYS_STAT_H
#define DOOM_SYS_STAT_H
int mkdir(const char *path, unsigned mode);
#endif
