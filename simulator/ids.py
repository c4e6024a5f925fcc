"""The world's identifiers (Sedex refs, amfori ids, osIds, LEIs), drawn unique from the world's random
stream: a collision would merge two entities, so every value is checked against all issued before.
"""

from __future__ import annotations

import random


class Ids:
    """Unique random identifiers; uniqueness is checked because a collision would merge two entities."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def make(self, fmt: str, lo: int, hi: int) -> str:
        while True:
            value = fmt.format(self.rng.randint(lo, hi))
            if value not in self.used:
                self.used.add(value)
                return value

    def os_id(self, alpha2: str) -> str:
        alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        while True:
            year = self.rng.randint(2019, 2025)
            value = f"{alpha2}{year}{self.rng.randint(0, 999):03d}" + "".join(
                self.rng.choice(alnum) for _ in range(6)
            )
            if value not in self.used:
                self.used.add(value)
                return value

    def lei(self) -> str:
        alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        while True:
            base = (
                "".join(self.rng.choice(alnum) for _ in range(4))
                + "00"
                + "".join(self.rng.choice(alnum) for _ in range(12))
            )
            digits = "".join(str(int(ch, 36)) for ch in base) + "00"
            value = f"{base}{98 - int(digits) % 97:02d}"  # ISO 17442 check digits
            if value not in self.used:
                self.used.add(value)
                return value
