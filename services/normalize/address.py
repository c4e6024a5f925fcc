"""The address key that matches one factory across platforms (taxonomy.md, "One site on two platforms").

Cleaning follows the Open Supply Hub approach the contract names: transliterate to ASCII, lower-case,
punctuation to spaces, collapse white space, trim. The key is the cleaned name, street and city and
the alpha-2 country joined with `|` (a character cleaning removes, so the parts cannot run together).
The key itself is confidential (it *is* the address); it leaves normalize only as a keyed pseudonym.
"""

from __future__ import annotations

import re
from typing import Final

from anyascii import anyascii

_NOT_ALNUM: Final = re.compile(r"[^a-z0-9]+")


def clean(text: str) -> str:
    return _NOT_ALNUM.sub(" ", anyascii(text).lower()).strip()


def address_key(name: str, street: str, city: str, country_alpha2: str) -> str:
    return "|".join((clean(name), clean(street), clean(city), country_alpha2.upper()))
