import Logging
import ServiceLifecycle
import Verification

/// Records the SMPP driver's delivery receipts on their verifications (a service of `Core.services()`).
struct SMPPReportRecorder: Service {
    let driver: SMPPSMS
    let service: VerificationService
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await (id, report) in driver.reports {
                do { try await service.recordDeliveryReport(id: id, report) } catch {
                    logger.warning("smpp.receipt_not_recorded", metadata: ["verification": .string(id), "error": "\(error)"])
                }
            }
        }
    }
}
