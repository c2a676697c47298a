// DNSResolver's typed lookups: the response parsed by c-ares' parsers (RFC 2782 SRV, RFC 3403
// NAPTR, RFC 1035/3596 addresses), the TTL read by the CAres shim.

import CAres
import Foundation

extension DNSResolver {
    /// NAPTR records of `name` (RFC 3403 §4.1).
    public func naptr(_ name: String) async throws(DNSError) -> DNSRecordSet<NAPTRRecord> {
        let response = try await query(name, .naptr)
        return try Self.parse(response, name: name, type: .naptr) { base, length in
            var reply: UnsafeMutablePointer<ares_naptr_reply>?
            let status = ares_parse_naptr_reply(base, length, &reply)
            guard status == ARES_SUCCESS else { return .failure(DNSError(aresStatus: status, name: name, type: .naptr)) }
            defer { ares_free_data(reply) }
            var records: [NAPTRRecord] = []
            var node = reply
            while let current = node?.pointee {
                records.append(NAPTRRecord(
                    order: current.order, preference: current.preference,
                    flags: current.flags.map { String(cString: $0) } ?? "",
                    service: current.service.map { String(cString: $0) } ?? "",
                    regexp: current.regexp.map { String(cString: $0) } ?? "",
                    replacement: current.replacement.map { String(cString: $0) } ?? ""))
                node = current.next
            }
            return .success(records)
        }
    }

    /// SRV records of `name` (RFC 2782); the root target "." comes back as "".
    public func srv(_ name: String) async throws(DNSError) -> DNSRecordSet<SRVRecord> {
        let response = try await query(name, .srv)
        return try Self.parse(response, name: name, type: .srv) { base, length in
            var reply: UnsafeMutablePointer<ares_srv_reply>?
            let status = ares_parse_srv_reply(base, length, &reply)
            guard status == ARES_SUCCESS else { return .failure(DNSError(aresStatus: status, name: name, type: .srv)) }
            defer { ares_free_data(reply) }
            var records: [SRVRecord] = []
            var node = reply
            while let current = node?.pointee {
                records.append(SRVRecord(priority: current.priority, weight: current.weight, port: current.port, target: current.host.map { String(cString: $0) } ?? ""))
                node = current.next
            }
            return .success(records)
        }
    }

    /// A (`.a`) or AAAA (`.aaaa`) addresses of `name` as text.
    public func addresses(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSRecordSet<String> {
        let response = try await query(name, type)
        return try Self.parse(response, name: name, type: type) { base, length in
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            var count: Int32 = 64
            var status: Int32
            var addresses: [String] = []
            if type == .aaaa {
                var found = [ares_addr6ttl](repeating: ares_addr6ttl(), count: Int(count))
                status = ares_parse_aaaa_reply(base, length, nil, &found, &count)
                for var entry in found.prefix(Int(max(0, count))) where status == ARES_SUCCESS {
                    if let written = inet_ntop(AF_INET6, &entry.ip6addr, &text, socklen_t(text.count)) { addresses.append(String(cString: written)) }
                }
            } else {
                var found = [ares_addrttl](repeating: ares_addrttl(), count: Int(count))
                status = ares_parse_a_reply(base, length, nil, &found, &count)
                for var entry in found.prefix(Int(max(0, count))) where status == ARES_SUCCESS {
                    if let written = inet_ntop(AF_INET, &entry.ipaddr, &text, socklen_t(text.count)) { addresses.append(String(cString: written)) }
                }
            }
            guard status == ARES_SUCCESS else { return .failure(DNSError(aresStatus: status, name: name, type: type)) }
            return .success(addresses)
        }
    }

    /// Runs `parser` over `response` and pairs its records with the answer's TTL; no records of
    /// `type` is NODATA (`.noRecords`).
    private static func parse<Record>(
        _ response: [UInt8], name: String, type: DNSRecordType,
        _ parser: (UnsafePointer<UInt8>, Int32) -> Result<[Record], DNSError>
    ) throws(DNSError) -> DNSRecordSet<Record> {
        let parsed = response.withUnsafeBufferPointer { buffer -> Result<DNSRecordSet<Record>, DNSError> in
            guard let base = buffer.baseAddress else { return .failure(.malformedResponse(name)) }
            let length = Int32(buffer.count)
            return parser(base, length).flatMap { records in
                guard !records.isEmpty else { return .failure(.noRecords(name, type)) }
                return .success(DNSRecordSet(records: records, ttl: UInt32(max(0, cares_answer_ttl(base, length, type.rawValue)))))
            }
        }
        return try parsed.get()
    }
}
