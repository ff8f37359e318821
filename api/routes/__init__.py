"""HTTP only: each handler parses, calls one service, and returns."""
