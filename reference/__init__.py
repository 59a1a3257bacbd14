"""Reference data several services share (calendar, procedure catalogue, units), kept in one place."""
