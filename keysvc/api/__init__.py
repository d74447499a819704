"""gRPC adapters: servicers that validate, call the service layer, and map results."""
