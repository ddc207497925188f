"""What an operator sees of a running gateway: Prometheus metrics (`metrics`, `scrape`) and the
turn's log line (`turns`). Logging itself is gateway/logging_setup.py."""
