"""Messages the exchange writes between its own services (internal topics)."""
