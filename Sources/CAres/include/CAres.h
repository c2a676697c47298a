// CAres: c-ares (https://c-ares.org, Debian's libc-ares-dev) as a Swift module, for locating SIP
// servers (RFC 3263) in VoiceGateway/DNS.
//
// Why a library: RFC 3263 needs NAPTR (RFC 3403) and SRV (RFC 2782) records with their TTLs, which
// getaddrinfo(3) cannot ask for, and DNS message parsing (name compression, RFC 1035 §4.1.4) is
// security-sensitive code best taken from a library that has been fuzzed for years.
// Why c-ares rather than glibc's libresolv: a c-ares channel takes its own server address
// (`dns_server`, so tests ask a dnsmasq on loopback and never the machine's resolver), whereas
// res_nquery reads /etc/resolv.conf; c-ares has timeouts and tries per channel, parsers for NAPTR
// and SRV, and non-blocking I/O that one thread of ours drives (VoiceGateway/DNS/DNSResolver.swift).
// Debian 12's c-ares 1.18 has no event thread of its own (ARES_OPT_EVENT_THREAD came in 1.26), nor
// TTLs in its SRV and NAPTR parsers; the helpers below fill those gaps.
#ifndef CARES_SHIM_H
#define CARES_SHIM_H
#include <ares.h>

/// Creates a channel asking only `servers` (c-ares CSV: "127.0.0.1:5353", "[::1]:53"); NULL: the
/// system's servers (/etc/resolv.conf, c-ares' default init) when sip.conf sets no `dns_server`;
/// never /etc/resolv.conf's search list or /etc/hosts, each query tried `tries` times, `timeout_ms` per
/// try. Returns an ARES_* status.
int cares_channel_create(ares_channel *channel, const char *servers, int timeout_ms, int tries);

/// Sends a query of `type` (RFC 1035 §3.2.2: 1 A, 28 AAAA, 33 SRV, 35 NAPTR) in class IN.
void cares_query(ares_channel channel, const char *name, int type, ares_callback callback, void *arg);

/// Waits at most `max_ms` for the channel's sockets, `wake_fd` (drained when readable) or the
/// channel's next timeout, then lets c-ares process what is ready and what timed out (callbacks run
/// here). Returns 1 when `wake_fd` was readable.
int cares_wait_and_process(ares_channel channel, int wake_fd, int max_ms);

/// A non-blocking, close-on-exec pipe (pipe2(2), which Swift's Glibc module does not export) that
/// wakes `cares_wait_and_process`. Returns 0, or -1 with errno set.
int cares_wake_pipe(int fds[2]);

/// The smallest TTL (RFC 1035 §3.2.1; RFC 2181 §8: values with the top bit set count as 0) of the
/// answer records of `type` in the response `abuf`, or -1 when it has none or is malformed.
int cares_answer_ttl(const unsigned char *abuf, int alen, int type);
#endif
