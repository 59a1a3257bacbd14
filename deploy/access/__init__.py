"""Who may do what on the broker: principals, their ACLs, and the command that applies them."""
