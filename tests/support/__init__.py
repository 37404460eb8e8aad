"""Helpers shared by the test suite and the benchmarks."""

# The demo shop's last day in tests and benchmarks: fixed, so their data and figures are
# reproducible whatever the date (the demo itself ends yesterday).
DEMO_END = "2026-11-20"
