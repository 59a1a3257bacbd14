"""The console: web pages for the one-stop office, supervisors and operators, over the services'
HTTP APIs with the signed-in person's own token."""
