// URI comparison of RFC 3261 §19.1.4 (not the synthesized ==, which compares spelling).

extension SIPURI {
    /// True when the two URIs are equivalent per RFC 3261 §19.1.4: same scheme; user and
    /// password equal case-sensitively (after unescaping); host case-insensitive; ports equal
    /// (absent is not 5060); `user`, `ttl`, `method`, `maddr`, `transport` present in one must be
    /// present and equal in the other; other parameters compared only when in both; URI headers
    /// must match exactly as sets. Parameter values compare case-insensitively.
    public func isEquivalent(to other: SIPURI) -> Bool {
        guard isSecure == other.isSecure, user == other.user, password == other.password,
              host.lowercased() == other.host.lowercased(), port == other.port else { return false }
        let strict: Set<String> = ["user", "ttl", "method", "maddr", "transport"]
        func index(_ p: SIPParameters) -> [String: String?] {
            var out: [String: String?] = [:]
            for item in p where out[item.name.lowercased()] == nil { out[item.name.lowercased()] = .some(item.value?.lowercased()) }
            return out
        }
        let a = index(parameters)
        let b = index(other.parameters)
        for name in Set(a.keys).union(b.keys) {
            switch (a[name], b[name]) {
            case (let x?, let y?): if x != y { return false }
            case (nil, _?), (_?, nil): if strict.contains(name) { return false }
            case (nil, nil): break
            }
        }
        func headerSet(_ h: [SIPParameters.Parameter]) -> Set<String> {
            Set(h.map { "\($0.name.lowercased())=\($0.value ?? "")" })
        }
        return headerSet(headers) == headerSet(other.headers)
    }
}
