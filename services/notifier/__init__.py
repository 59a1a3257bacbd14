"""The notifier service: tells applicants and supervisors what happens to a record, once."""
