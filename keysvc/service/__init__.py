"""Use cases: one function per operation, the only code that commits."""
