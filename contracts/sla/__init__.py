"""SLA alerts raised by sla_monitor, one module per major version."""
