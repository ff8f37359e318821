"""The seven collections (and partner keys), each a `Resource` with its own rules and filters; none
imports another."""
