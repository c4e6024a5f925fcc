"""ingest: admits platform change events into the exchange.

Path of one message: platform topic -> `admit.admit()` (validate, classify) -> accepted topic
(`envelopes.accepted_record`) or dead-letter topic (`envelopes.dead_letter_headers`); `seen` keeps the
forwarded event ids; `app` wires it to faust.
"""
