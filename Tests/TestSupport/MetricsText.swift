// Reading the Prometheus text exposition format in tests.

/// The value of the sample `series` (a metric name with its labels as rendered, e.g.
/// `verigate_rtp_packets_sent_total` or `calls_total{result="missed_call"}`) in `text`; nil when absent.
public func metricValue(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces))
    }
    return nil
}
