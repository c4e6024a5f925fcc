"""sourcing-exchange services: ingest, normalize, aggregate."""
