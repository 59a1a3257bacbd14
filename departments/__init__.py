"""A department's side of motcua: read your own topic, answer on the updates topic."""
