"""Record events (submitted, routed), one module per major version."""
