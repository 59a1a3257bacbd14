"""The microservice chassis every motcua service stands on: plumbing only, no domain rules."""
