// libFuzzer entry for the sip.conf parser (Sources/VoiceGateway/Config/SIPConfParser.swift).
// sip.conf is the operator's file, not network input, but it is INI text parsed by hand and a
// mistake in it must end in a clear error, never a crash. Reached through VoiceGateway's public
// `SIPConf.parse` (the parser's types are VoiceGateway's own; see Fuzz/README.md).
// Invariants: only SIPConfError comes out (typed throws), naming a line of the file (0 for the
// whole file); parsing is deterministic; a parsed conf maps onto the endpoint and gateway
// configurations.

import FuzzDriver
import VoiceGateway

@_cdecl("SIPConfFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzOne)
}

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    // SIPConf.load refuses what is not UTF-8 before parsing; so does this.
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    let conf: SIPConf
    do {
        conf = try SIPConf.parse(text, file: "fuzz.conf")
    } catch {
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
        invariant(error.line >= 0 && error.line <= max(lines, SIPConf.maxLines + 1), "\(error) names line \(error.line) of \(lines)")
        invariant(error.file == "fuzz.conf" && !error.message.isEmpty, "error without file or message: \(error)")
        invariant((try? SIPConf.parse(text, file: "fuzz.conf")) == nil, "second parse succeeded")
        return
    }
    invariant(text.utf8.count <= SIPConf.maxFileSize, "accepted \(text.utf8.count) bytes")
    invariant((try? SIPConf.parse(text, file: "fuzz.conf")) == conf, "parsing is not deterministic")
    _ = conf.endpointConfiguration
    _ = conf.gatewayConfiguration
    _ = conf.sipHost
}
