"""The committed JSON Schemas, one folder per event type; run this package to regenerate them."""
