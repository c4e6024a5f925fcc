"""How the same name or address is spelt by different hands: the ASCII folding and cleaning that the
matching of sites by address undoes (taxonomy.md's Open Supply Hub style), and the variants the world
gives a site's second platform, which that cleaning must bring back to the same key, or not at all
where only the osId is meant to match them.
"""

from __future__ import annotations

import random
import re
import unicodedata
from typing import Final

_FOLD_SPECIAL: Final[dict[str, str]] = {"ı": "i", "đ": "d", "Đ": "D", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l"}
_FOLD_TABLE: Final = str.maketrans(_FOLD_SPECIAL)
_NOT_ALNUM: Final = re.compile(r"[^0-9a-z]+")


def fold_ascii(text: str) -> str:
    """Strip accents the way an ASCII transliterator does for the Latin scripts used here."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text.translate(_FOLD_TABLE))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def clean(text: str) -> str:
    """The Open Supply Hub style cleaning of taxonomy.md, for Latin text; keeps the world's address keys
    unique (non-Latin characters are dropped here, which only makes the uniqueness check stricter)."""
    return _NOT_ALNUM.sub(" ", fold_ascii(text).lower()).strip()


def spelling_variant(rng: random.Random, text: str) -> str:
    """The same text as another platform's staff might type it: other case, accents dropped, other
    punctuation. Only changes that the address-key cleaning undoes, so the key stays the same."""
    if rng.random() < 0.7:
        text = fold_ascii(text)
    mode = rng.random()
    if mode < 0.3:
        text = text.upper()
    elif mode < 0.5:
        text = text.lower()
    elif mode < 0.65:
        text = text.title()
    out = []
    for ch in text:
        if ch in ".,-" and rng.random() < 0.5:
            out.append(rng.choice((" ", ". ", ", ", " - ", "-")))
        elif ch == " " and rng.random() < 0.05:
            out.append("  ")
        else:
            out.append(ch)
    return "".join(out).strip()


def different_wording(rng: random.Random, name: str) -> str:
    """How a platform spells a name when nobody tried to match it: the osId has to do the matching."""
    for long, short in (
        (" Limited", " Ltd."),
        (" Ltd.", " Limited"),
        (" Co., Ltd.", " Company Limited"),
        (" (Pvt.) Ltd.", " Private Limited"),
        (" A.Ş.", " Anonim Şirketi"),
    ):
        if name.endswith(long):
            return name[: -len(long)] + short
    return name + rng.choice((" (Unit 1)", " - Main Factory", " Factory"))
