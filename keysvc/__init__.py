"""keysvc: license-key issuance service (gRPC API, domain, persistence, CLIs)."""
