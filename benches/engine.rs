//! Engine benchmark (handoff latency).
fn main() {}
