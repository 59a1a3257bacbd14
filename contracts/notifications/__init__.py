"""Notification outcomes, for audit, one module per major version."""
