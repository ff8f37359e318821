"""Operations: throwaway local PostgreSQL clusters (ops.postgres) and the loopback topology (ops.topology)."""
