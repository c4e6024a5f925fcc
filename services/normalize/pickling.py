"""Stage 1's verdicts cross from the mapper processes to the service as pickles: make those cheap.

A frozen, slotted dataclass pickles through `dataclasses`' own `__getstate__` and `__setstate__`, which
call `fields(self)` for every object on both sides and set each field with `object.__setattr__` (the
class is frozen). py-spy of `bench.normalize` put that at 7-10 % of each process (a verdict is a
`MappedEvent` holding `Mapped` outputs, a site's `SiteFacts` and its `Member`s). `by_position` pickles
an instance as a call of its class with its fields in order, read by one `attrgetter`: the same
object comes back (its `__init__` and `__post_init__` run again, so an unpickled verdict is checked as
a new one is), for half the cost (docs/normalize.md, "Verdicts across the process boundary").
"""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def by_position(cls: T) -> T:
    """Class decorator (outside `@dataclass`): pickle instances as `cls(*fields in order)`."""
    names = tuple(f.name for f in fields(cls))
    if len(names) < 2:
        raise TypeError("by_position needs at least two fields (attrgetter of one name is not a tuple)")
    values = attrgetter(*names)

    def __reduce__(self: Any) -> tuple[type, tuple[Any, ...]]:
        return (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[assignment]  # a class attribute, set once here
    return cls
