/* <sys/types.h> for the DOOM engine: it includes this header but uses nothing from it in a Ringside guest. */
