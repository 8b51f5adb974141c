/* zerobus-station init (init.c). Thread: main. */
#ifndef ZS_APP_INIT_H
#define ZS_APP_INIT_H

/* argv[0] is "init". Returns the exit status (0, 1, 2 for usage). */
int zs_cmd_init(int argc, char **argv);

#endif
