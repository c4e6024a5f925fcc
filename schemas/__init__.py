"""Pydantic models and vocabularies: the single source of every schema the exchange reads or writes."""
