"""ICP fit: a lead's firmographics against the ideal customer profile."""

from dataclasses import dataclass

from bot.config import MAX_LEVEL, Icp


@dataclass(frozen=True)
class FitAssessment:
    level: int | None
    matched: list[str]
    missed: list[str]
    unknown: list[str]

    @property
    def is_known(self) -> bool:
        return self.level is not None

    def explain(self) -> str:
        parts = []
        if self.matched:
            parts.append("matches " + ", ".join(self.matched))
        if self.missed:
            parts.append("outside " + ", ".join(self.missed))
        if self.unknown:
            parts.append("unknown " + ", ".join(self.unknown))
        return "; ".join(parts)


def assess_fit(
    icp: Icp, industry: str, employees: int | None, country: str
) -> FitAssessment:
    """Score fit from stored data; the level is None when any dimension is unknown."""
    matched, missed, unknown = [], [], []

    def judge(name: str, value: object, is_match: bool) -> None:
        if value in (None, ""):
            unknown.append(name)
        elif is_match:
            matched.append(name)
        else:
            missed.append(name)

    if icp.industries:
        wanted = {item.casefold() for item in icp.industries}
        judge("industry", industry, industry.strip().casefold() in wanted)
    if icp.employees_min or icp.employees_max:
        judge("company size", employees, _size_matches(icp, employees))
    if icp.countries:
        wanted = {item.casefold() for item in icp.countries}
        judge("country", country, country.strip().casefold() in wanted)

    judged = len(matched) + len(missed) + len(unknown)
    if unknown or judged == 0:
        return FitAssessment(None, matched, missed, unknown)
    level = round(MAX_LEVEL * len(matched) / judged)
    return FitAssessment(level, matched, missed, unknown)


def _size_matches(icp: Icp, employees: int | None) -> bool:
    if employees is None:
        return False
    if icp.employees_min and employees < icp.employees_min:
        return False
    return not (icp.employees_max and employees > icp.employees_max)
