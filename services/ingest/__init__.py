"""ingest: admits platform change events into the exchange.

Path of one message: platform topic -> `admit.admit()` (validate, classify) -> accepted topic
(`envelope.accepted_record`) or dead-letter topic (`deadletter.dead_letter_headers`); `app` wires it to faust.
"""
