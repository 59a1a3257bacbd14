"""The sla_monitor service: keeps one statutory deadline per record in working days, warns and escalates."""
