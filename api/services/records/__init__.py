"""The generic record engine: reads, writes (crud, owned rows), the unit of work every write runs in, and
the change feed."""
