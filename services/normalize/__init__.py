"""normalize: accepted platform events -> one shared, pseudonymised schema (see docs/normalize.md)."""
