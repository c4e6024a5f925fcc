"""What one site can change in a noisy table's vector of counts: the L2 sensitivity of a draw.

The unit of privacy is one site (aggregates.md, "Differential-privacy mode"). Populations are published
exactly (which country and sector had how many audited sites is not what the exchange keeps secret, and
the threshold rules decide from them), so two neighbouring inputs have the same sites in the same cells
and differ in what one site found: any change of its findings, from none to every one.

A draw covers one table's period: for every cell of the period (leaves `country x sector` and the
margins `country x ALL`, `ALL x sector`, `ALL x ALL`) the table's *base counts*, the additive counts
every other count derives from. A site sits in exactly four cells of a period (its leaf and the three
margins above it), so its change moves each base count it touches in four places:

* `issue-prevalence`: per issue, `by_severity.{critical,major,minor}` (a site has one highest severity
  per issue, or none; `sites_with_issue` is their sum). Changing a site's severity on an issue moves one
  count down and another up: 2 per cell, 4 cells, every issue at once, so Delta^2 = 8 x issues.
* `forced-labour`: `sites_with_indicator` and `by_indicator.*`. A site going from no indicator to every
  one adds 1 to each: (1 + indicators) per cell, 4 cells, so Delta^2 = 4 x (1 + indicators).
* `labour-relations`: the four flag counts of the site's latest audit; all four flipping moves each by
  1 in 4 cells, so Delta^2 = 16.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from schemas.exchange.aggregates import FORCED_LABOUR, ISSUE_PREVALENCE, LABOUR_FLAGS, LABOUR_RELATIONS
from schemas.taxonomy import ForcedLabourIndicator, Issue

from ..tables import SEVERITIES

CELLS_PER_SITE: Final = 4  # its leaf, its country margin, its sector margin, the total

# Per table: the base counts of one cell (per issue cell for issue-prevalence), noised and post-processed;
# every other outcome measure derives from them.
BASE_COUNTS: Final[Mapping[str, tuple[str, ...]]] = {
    ISSUE_PREVALENCE: tuple(f"by_severity.{s.value}" for s in SEVERITIES),
    FORCED_LABOUR: ("sites_with_indicator", *(f"by_indicator.{i.value}" for i in ForcedLabourIndicator)),
    LABOUR_RELATIONS: LABOUR_FLAGS,
}


def squared_sensitivity(table: str) -> int:
    """Delta^2: the largest squared L2 change one site's findings can make to a draw of `table`."""
    if table == ISSUE_PREVALENCE:
        return CELLS_PER_SITE * 2 * len(Issue)
    if table == FORCED_LABOUR:
        return CELLS_PER_SITE * (1 + len(ForcedLabourIndicator))
    if table == LABOUR_RELATIONS:
        return CELLS_PER_SITE * len(LABOUR_FLAGS)
    raise ValueError(f"no sensitivity for table {table!r}")


def sensitivity(table: str) -> float:
    return math.sqrt(squared_sensitivity(table))
