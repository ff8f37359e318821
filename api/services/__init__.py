"""The only code that touches tables, in tiers that import only downwards: giving360, views, resources,
records, platform (docs/architecture.md; `make lint` checks the rule)."""
