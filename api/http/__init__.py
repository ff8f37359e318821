"""What every HTTP request shares, below the routes and above the services (docs/architecture.md)."""
