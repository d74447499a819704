"""Alembic migrations for keysvc's schema; run them with `keysvc.persistence.schema_migrations`."""
