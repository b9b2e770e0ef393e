/* A power cut, simulated: after every fsync/fdatasync of a file whose name contains
   DURABLE_MATCH, a copy of that file goes to DURABLE_DIR. The copies are the disk as it was at
   each file's last sync, which is all that a power loss is sure to leave. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void keep(int fd) {
    const char *dir = getenv("DURABLE_DIR"), *match = getenv("DURABLE_MATCH");
    char link[64], path[PATH_MAX], copy[PATH_MAX], tmp[PATH_MAX], buf[65536];
    if (!dir || !match) return;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = 0;
    if (!strstr(path, match)) return;
    const char *base = strrchr(path, '/');
    snprintf(copy, sizeof copy, "%s/%s", dir, base ? base + 1 : path);
    snprintf(tmp, sizeof tmp, "%s.partial", copy);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) return;
    off_t at = 0;
    ssize_t got;
    while ((got = pread(fd, buf, sizeof buf, at)) > 0) {
        if (write(out, buf, got) != got) break;
        at += got;
    }
    close(out);
    rename(tmp, copy);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fsync");
    int result = real(fd);
    if (result == 0) keep(fd);
    return result;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
    int result = real(fd);
    if (result == 0) keep(fd);
    return result;
}
