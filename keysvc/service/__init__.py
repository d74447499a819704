"""Use cases: one function per operation, each in one transaction (or one per batch).

With the e-mail outbox (`keysvc.mail`), the only code that commits; the API reaches
the database through here alone (docs/architecture.md)."""
