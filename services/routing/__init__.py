"""The routing service: routes each record to the department responsible and re-routes when it goes astray."""
