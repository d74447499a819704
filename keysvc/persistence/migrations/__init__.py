"""Alembic migrations for keysvc's schema; run them with `keysvc.persistence.migrate`."""
