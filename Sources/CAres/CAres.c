// The c-ares helpers of include/CAres.h (why c-ares: see there).
#define _GNU_SOURCE
#include "CAres.h"
#include <fcntl.h>
#include <arpa/nameser.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status = ARES_SUCCESS;
static void library_init(void) { library_status = ares_library_init(ARES_LIB_INIT_ALL); }

int cares_channel_create(ares_channel *channel, const char *servers, int timeout_ms, int tries) {
    pthread_once(&library_once, library_init);
    if (library_status != ARES_SUCCESS) return library_status;
    struct ares_options options;
    memset(&options, 0, sizeof options);
    // NOCHECKRESP: hand SERVFAIL and REFUSED to the caller (as ARES_ESERVFAIL, ARES_EREFUSED)
    // instead of trying "the next server", of which there is one; c-ares 1.18 would report them as
    // ARES_ECONNREFUSED.
    options.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    options.timeout = timeout_ms;
    options.tries = tries;
    options.ndomains = 0;
    options.lookups = (char *)"b";
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS;
    int status = ares_init_options(channel, &options, mask);
    if (status != ARES_SUCCESS) return status;
    if (servers == NULL) return ARES_SUCCESS;  // the system's servers, as ares_init_options read them
    status = ares_set_servers_ports_csv(*channel, servers);
    if (status != ARES_SUCCESS) {
        ares_destroy(*channel);
        *channel = NULL;
    }
    return status;
}

void cares_query(ares_channel channel, const char *name, int type, ares_callback callback, void *arg) {
    ares_query(channel, name, ns_c_in, type, callback, arg);
}

int cares_wait_and_process(ares_channel channel, int wake_fd, int max_ms) {
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
    struct pollfd fds[ARES_GETSOCK_MAXNUM + 1];
    int count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
        if (events == 0) continue;
        fds[count].fd = sockets[i];
        fds[count].events = events;
        fds[count].revents = 0;
        count++;
    }
    fds[count].fd = wake_fd;
    fds[count].events = POLLIN;
    fds[count].revents = 0;
    struct timeval limit = { max_ms / 1000, (max_ms % 1000) * 1000 }, next;
    struct timeval *wait = ares_timeout(channel, &limit, &next);
    int wait_ms = (int)(wait->tv_sec * 1000 + (wait->tv_usec + 999) / 1000);
    int ready = poll(fds, (nfds_t)count + 1, wait_ms);
    int woken = 0;
    if (ready > 0) {
        for (int i = 0; i < count; i++) {
            short r = fds[i].revents;
            if (r == 0) continue;
            ares_socket_t read_fd = (r & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
            ares_socket_t write_fd = (r & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
            ares_process_fd(channel, read_fd, write_fd);
        }
        if (fds[count].revents & POLLIN) {
            char drain[64];
            while (read(wake_fd, drain, sizeof drain) == (ssize_t)sizeof drain) {}
            woken = 1;
        }
    }
    ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    return woken;
}

int cares_wake_pipe(int fds[2]) { return pipe2(fds, O_NONBLOCK | O_CLOEXEC); }

/// Skips the (possibly compressed) name at `p`; returns its length in the message or -1.
static long skip_name(const unsigned char *p, const unsigned char *abuf, int alen) {
    char *name = NULL;
    long length = 0;
    if (ares_expand_name(p, abuf, alen, &name, &length) != ARES_SUCCESS) return -1;
    ares_free_string(name);
    return length;
}

int cares_answer_ttl(const unsigned char *abuf, int alen, int type) {
    if (abuf == NULL || alen < NS_HFIXEDSZ) return -1;
    int questions = (abuf[4] << 8) | abuf[5];
    int answers = (abuf[6] << 8) | abuf[7];
    const unsigned char *p = abuf + NS_HFIXEDSZ, *end = abuf + alen;
    for (int i = 0; i < questions; i++) {
        long length = skip_name(p, abuf, alen);
        if (length < 0 || end - p < length + NS_QFIXEDSZ) return -1;
        p += length + NS_QFIXEDSZ;
    }
    long smallest = -1;
    for (int i = 0; i < answers; i++) {
        long length = skip_name(p, abuf, alen);
        if (length < 0 || end - p < length + NS_RRFIXEDSZ) return -1;
        p += length;
        int record_type = (p[0] << 8) | p[1];
        unsigned long ttl = ((unsigned long)p[4] << 24) | ((unsigned long)p[5] << 16) | ((unsigned long)p[6] << 8) | p[7];
        int rdlength = (p[8] << 8) | p[9];
        p += NS_RRFIXEDSZ;
        if (end - p < rdlength) return -1;
        p += rdlength;
        if (ttl > 0x7FFFFFFFUL) ttl = 0;
        if (record_type == type && (smallest < 0 || (long)ttl < smallest)) smallest = (long)ttl;
    }
    return (int)smallest;
}
