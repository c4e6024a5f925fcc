"""Who may do what on the broker: one declared table of grants (`matrix.py`), created as Kafka ACLs
(`apply.py`, `python -m services.acls`), tested pair by pair against the secured broker, and rendered
into docs/security.md."""
