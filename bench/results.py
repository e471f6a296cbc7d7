"""Result rows, targets and sections that the cases return and the report renders."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.stats import Stats


@dataclass(frozen=True)
class Target:
    """A goal for one row, checked against its ratio or against a statistic of its samples.

    ``statistic`` is ``"ratio"`` (the row's median divided by its baseline's
    median), ``"median"`` or ``"p95"``. The goal is met when that number is at
    most ``limit``, or below it when ``inclusive`` is False.
    """

    text: str
    limit: float
    statistic: str = "ratio"
    inclusive: bool = True

    def __post_init__(self) -> None:
        if self.statistic not in ("ratio", "median", "p95"):
            raise ValueError(f"unknown target statistic {self.statistic!r}; expected ratio, median or p95")

    def checked_value(self, row: Row) -> float | None:
        if self.statistic == "ratio":
            return row.ratio
        if self.statistic == "p95":
            return row.value.percentile(95)
        return row.value.median

    def met(self, row: Row) -> bool | None:
        """Return whether ``row`` meets the target, or None when the row has no ratio to check."""
        value = self.checked_value(row)
        if value is None:
            return None
        return value <= self.limit if self.inclusive else value < self.limit


@dataclass(frozen=True)
class Row:
    """One measured figure beside the baseline measured in the same run."""

    case: str
    unit: str
    value: Stats
    baseline_name: str
    baseline: Stats | None
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """The row's median divided by the baseline's median, or None without a baseline."""
        if self.baseline is None or self.baseline.median == 0:
            return None
        return self.value.median / self.baseline.median


@dataclass
class Section:
    """The rows of one benchmark case with a description of how they were measured."""

    title: str
    method: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
