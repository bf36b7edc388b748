"""Multi-table synthesis: plans, fitting with child counts, sampling parents first."""
