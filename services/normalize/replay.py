"""Normalize's state rebuilt from the accepted topic in memory: the engine run again over its records.

The key rotation (`services.rotation`) rebuilds the state under the new key this way, and under the old
key to check that the accepted topic still reproduces what normalize holds. The verdicts are the
service's own (`engine.step`), and the result is what the compacted topics would hold after the same
records: the last record of each key, tombstoned keys absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .engine import Normalizer, Outcome, Record, Step, step


@dataclass(slots=True)
class Replay:
    normalizer: Normalizer
    records: dict[str, dict[str, Record]] = field(default_factory=dict)  # topic -> key -> last record

    def feed(self, value: bytes | None) -> Step:
        """One value of the accepted topic; its records are applied as compaction would keep them."""
        done = step(self.normalizer, value)
        if isinstance(done.result, Outcome):
            for record in done.result.records:
                self.put(record)
        return done

    def put(self, record: Record) -> None:
        held = self.records.setdefault(record.topic, {})
        if record.value is None:
            held.pop(record.key, None)
        else:
            held[record.key] = record

    def values(self) -> dict[str, dict[str, bytes]]:
        """topic -> key -> value, as `services.compacted.read_compacted` reads a topic."""
        return {
            topic: {key: r.value for key, r in held.items() if r.value is not None}
            for topic, held in self.records.items()
            if held
        }
