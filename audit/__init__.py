"""The audit trail: what every client downloaded and every upstream fetch attempt."""
