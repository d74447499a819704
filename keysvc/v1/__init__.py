"""Generated gRPC code of the keysvc.v1 API (protos/generate.py)."""
