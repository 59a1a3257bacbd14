"""What departments receive (assignments) and answer (updates), one module per major version."""
