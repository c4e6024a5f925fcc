"""aggregate: the anonymised exchange tables, released under disclosure control (docs/aggregate.md)."""
