import Testing
@testable import SIPStack

/// Two endpoints, a client transaction and a server transaction, joined by a scripted UDP-like channel
/// that drops the packets it is told to, driven by one mock clock. Transactions must still complete by
/// retransmission (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1).
struct LossySimulation {
    enum Packet: Equatable, CustomStringConvertible {
        case request, ack, response(Int)
        var description: String {
            switch self {
            case .request: "request"
            case .ack: "ACK"
            case .response(let code): "\(code)"
            }
        }
    }

    enum Side { case client, server }


    let latency: Duration = .milliseconds(40)
    var now: Duration = .zero
    var client: ClientTransaction
    var server: ServerTransaction?
    let isInvite: Bool
    let answer: Int
    /// Index (0-based, per direction) of packets the channel drops.
    let dropToServer: Set<Int>
    let dropToClient: Set<Int>
    var sentToServer = 0
    var sentToClient = 0
    var inFlight: [(at: Duration, to: Side, packet: Packet)] = []
    var clientTimers: [TransactionTimer: Duration] = [:]
    var serverTimers: [TransactionTimer: Duration] = [:]
    var clientTU: [Int] = []
    var serverTUGotRequest = 0
    var clientTerminated = false
    var serverTerminated = false
    var clientTimedOut = false
    /// The UAS core's 2xx retransmission (§13.3.1.4) and its timers; ACKs for 2xx the server TU got.
    var answerRetransmission: SuccessResponseRetransmission?
    var answerTimers: [SuccessResponseRetransmission.Timer: Duration] = [:]
    var serverTUGotACK = 0
    var log: [String] = []

    init(invite: Bool, answer: Int, dropToServer: Set<Int>, dropToClient: Set<Int>) {
        isInvite = invite
        self.answer = answer
        self.dropToServer = dropToServer
        self.dropToClient = dropToClient
        client = ClientTransaction(method: invite ? "INVITE" : "OPTIONS", isReliable: false)
    }

    mutating func send(_ packet: Packet, to side: Side) {
        switch side {
        case .server:
            defer { sentToServer += 1 }
            if dropToServer.contains(sentToServer) { log.append("\(now) drop \(packet) →S"); return }
        case .client:
            defer { sentToClient += 1 }
            if dropToClient.contains(sentToClient) { log.append("\(now) drop \(packet) →C"); return }
        }
        inFlight.append((now + latency, side, packet))
    }

    mutating func runClient(_ actions: [ClientTransactionAction]) {
        for action in actions {
            switch action {
            case .sendRequest: send(.request, to: .server)
            case .sendACK: send(.ack, to: .server)
            case .passResponseToTU(let code):
                clientTU.append(code)
                // The client TU (dialog) ACKs every 2xx itself (§13.2.2.4).
                if isInvite, (200..<300).contains(code) { send(.ack, to: .server) }
            case .startTimer(let timer, let after): clientTimers[timer] = now + after
            case .cancelTimer(let timer): clientTimers[timer] = nil
            case .reportTimeout: clientTimedOut = true
            case .reportTransportError: Issue.record("no transport errors in this channel")
            case .terminate: clientTerminated = true; clientTimers = [:]
            }
        }
    }

    mutating func runServer(_ actions: [ServerTransactionAction]) {
        var answerNow = false
        for action in actions {
            switch action {
            case .passRequestToTU: serverTUGotRequest += 1; answerNow = true
            case .passACKToTU:
                serverTUGotACK += 1
                if var machine = answerRetransmission { runAnswer(machine.ackReceived()); answerRetransmission = machine }
            case .sendTrying: send(.response(100), to: .client)
            case .sendResponse(let code): send(.response(code), to: .client)
            case .startTimer(let timer, let after): serverTimers[timer] = now + after
            case .cancelTimer(let timer): serverTimers[timer] = nil
            case .reportTimeout, .reportTransportError: Issue.record("server should not fail: \(action)")
            case .terminate: serverTerminated = true; serverTimers = [:]
            }
        }
        // The TU answers at once.
        if answerNow, var tx = server {
            let a = tx.responseSent(statusCode: answer)
            server = tx
            runServer(a)
            if isInvite, (200..<300).contains(answer) {
                let machine = SuccessResponseRetransmission()
                answerRetransmission = machine
                runAnswer(machine.start())
            }
        }
    }

    mutating func runAnswer(_ actions: [SuccessResponseRetransmission.Action]) {
        for action in actions {
            switch action {
            case .retransmitResponse:
                if var tx = server { let a = tx.responseSent(statusCode: answer); server = tx; runServer(a) }
            case .startTimer(let timer, let after): answerTimers[timer] = now + after
            case .cancelTimer(let timer): answerTimers[timer] = nil
            case .reportACKTimeout: Issue.record("the ACK should arrive")
            }
        }
    }

    mutating func deliver(_ packet: Packet, to side: Side) {
        log.append("\(now) \(packet) →\(side == .server ? "S" : "C")")
        switch (side, packet) {
        case (.server, .request):
            if var tx = server {
                let a = tx.requestRetransmissionReceived()
                server = tx
                runServer(a)
            } else {
                var tx = ServerTransaction(method: isInvite ? "INVITE" : "OPTIONS", isReliable: false)
                let a = tx.start()
                server = tx
                runServer(a)
            }
        case (.server, .ack):
            if var tx = server { let a = tx.ackReceived(); server = tx; runServer(a) }
        case (.server, .response), (.client, .request), (.client, .ack):
            Issue.record("misrouted \(packet)")
        case (.client, .response(let code)):
            let a = client.responseReceived(statusCode: code)
            runClient(a)
        }
    }

    mutating func fire(_ timer: TransactionTimer, on side: Side) {
        log.append("\(now) \(timer) fires on \(side)")
        switch side {
        case .client:
            clientTimers[timer] = nil
            let a = client.timerFired(timer)
            runClient(a)
        case .server:
            serverTimers[timer] = nil
            if var tx = server { let a = tx.timerFired(timer); server = tx; runServer(a) }
        }
    }

    /// Runs events in time order until nothing is left or `limit` passes.
    mutating func run(until limit: Duration = .seconds(120)) {
        start()
        while true {
            let packet = inFlight.indices.min { inFlight[$0].at < inFlight[$1].at }
            let clientTimer = clientTimers.min { $0.value < $1.value }
            let serverTimer = serverTimers.min { $0.value < $1.value }
            let answerTimer = answerTimers.min { $0.value < $1.value }
            let candidates: [(Duration, Int)] = [
                packet.map { (inFlight[$0].at, 0) }, clientTimer.map { ($0.value, 1) }, serverTimer.map { ($0.value, 2) },
                answerTimer.map { ($0.value, 3) },
            ].compactMap { $0 }
            guard let next = candidates.min(by: { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }), next.0 <= limit else { return }
            now = next.0
            switch next.1 {
            case 0:
                guard let index = packet else { return }
                let item = inFlight.remove(at: index)
                deliver(item.packet, to: item.to)
            case 1:
                guard let timer = clientTimer?.key else { return }
                fire(timer, on: .client)
            case 2:
                guard let timer = serverTimer?.key else { return }
                fire(timer, on: .server)
            default:
                guard let timer = answerTimer?.key, var machine = answerRetransmission else { return }
                answerTimers[timer] = nil
                let actions = machine.timerFired(timer)
                answerRetransmission = machine
                runAnswer(actions)
            }
        }
    }

    private mutating func start() {
        let a = client.start()
        runClient(a)
    }
}

@Suite("Lossy transport simulation")
struct LossyTransportSimulationTests {
    @Test("Non-INVITE: first two requests and first 200 dropped; completes by Timer E retransmission")
    func nonInviteLossy() {
        var sim = LossySimulation(invite: false, answer: 200, dropToServer: [0, 1], dropToClient: [0])
        sim.run()
        #expect(sim.clientTU == [200], "\(sim.log)")
        #expect(!sim.clientTimedOut)
        #expect(sim.serverTUGotRequest == 1)
        #expect(sim.clientTerminated && sim.serverTerminated)
        #expect(sim.sentToServer == 4) // 0.5 s, 1.5 s, 3.5 s retransmissions; the 4th send gets the resent 200
    }

    @Test("INVITE rejected with 486: INVITE, first 486 and first ACK dropped; completes by Timers A and G")
    func inviteRejectLossy() {
        var sim = LossySimulation(invite: true, answer: 486, dropToServer: [0, 2], dropToClient: [1])
        sim.run()
        #expect(sim.clientTU == [100, 486], "\(sim.log)")
        #expect(sim.serverTUGotRequest == 1)
        #expect(sim.clientTerminated && sim.serverTerminated, "\(sim.log)")
        if case .invite(let tx) = sim.server { #expect(tx.state == .terminated) }
        #expect(!sim.clientTimedOut)
    }

    @Test("INVITE answered 200: first 200 and first ACK dropped; the UAS core's 2xx retransmission and the dialog's ACK finish it")
    func inviteAcceptLossy() {
        // →S: #0 INVITE, #1 ACK (dropped), #2 ACK. →C: #0 100, #1 200 (dropped), #2 200, #3 200.
        var sim = LossySimulation(invite: true, answer: 200, dropToServer: [1], dropToClient: [1])
        sim.run()
        #expect(sim.clientTU == [100, 200, 200], "\(sim.log)")
        #expect(sim.serverTUGotACK == 1)
        #expect(sim.answerRetransmission?.isFinished == true)
        #expect(sim.clientTerminated && sim.serverTerminated)
        if case .invite(let tx) = sim.client { #expect(tx.state == .terminated) }
    }

    @Test("Everything towards the server lost: the client times out with Timer B, the server never starts")
    func blackHole() {
        var sim = LossySimulation(invite: true, answer: 200, dropToServer: Set(0..<100), dropToClient: [])
        sim.run()
        #expect(sim.clientTimedOut)
        #expect(sim.sentToServer == 7) // the INVITE and six Timer A retransmissions before Timer B
        #expect(sim.server == nil)
    }
}
