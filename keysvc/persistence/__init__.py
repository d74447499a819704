"""Persistence: SQLAlchemy Core tables, the engine, migrations and repositories.

The domain stays plain Python; repositories turn rows into domain values and
back. See docs/persistence.md for the choices (Core rather than the ORM, UTC
timestamps, constraints in the database).
"""
