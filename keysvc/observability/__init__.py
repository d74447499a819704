"""What keysvc tells its operators: structured logs and Prometheus metrics."""
