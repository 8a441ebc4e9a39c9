"""The Q-matrix: levels in, a weighted total, a decision and its reasons out."""

from dataclasses import asdict, dataclass

from bot.config import MAX_LEVEL, Matrix

SQL = "sql"
NURTURE = "nurture"


@dataclass(frozen=True)
class CriterionScore:
    criterion: str
    label: str
    level: int
    level_text: str
    weight: int
    points: int
    note: str = ""

    @property
    def points_lost(self) -> int:
        return self.weight * (MAX_LEVEL - self.level)


@dataclass(frozen=True)
class Scorecard:
    scores: list[CriterionScore]
    total: int
    max_total: int
    threshold: int
    outcome: str
    reasons: list[str]
    matrix_version: str

    @property
    def is_sql(self) -> bool:
        return self.outcome == SQL

    def weakest(self, count: int = 2) -> list[CriterionScore]:
        """The criteria that cost the most points, worst first."""
        losing = [score for score in self.scores if score.points_lost > 0]
        losing.sort(key=lambda score: (-score.points_lost, score.level))
        return losing[:count]

    def breakdown(self) -> list[dict]:
        return [asdict(score) for score in self.scores]


def score_levels(
    matrix: Matrix, levels: dict[str, int], notes: dict[str, str] | None = None
) -> Scorecard:
    """Weigh the levels of every criterion and decide SQL or nurture."""
    notes = notes or {}
    scores = [
        _score_one(key, matrix, levels, notes.get(key, "")) for key in matrix.criteria
    ]
    total = sum(score.points for score in scores)

    vetoes, waivers = _apply_rules(matrix, levels)
    if vetoes:
        outcome = NURTURE
        reasons = vetoes
    elif total >= matrix.threshold:
        outcome = SQL
        reasons = [
            f"Total {total}/{matrix.max_total} meets the bar of {matrix.threshold}"
        ]
    else:
        outcome = NURTURE
        reasons = [
            f"Total {total}/{matrix.max_total} is below the bar of {matrix.threshold}"
        ]

    return Scorecard(
        scores=scores,
        total=total,
        max_total=matrix.max_total,
        threshold=matrix.threshold,
        outcome=outcome,
        reasons=reasons + waivers,
        matrix_version=matrix.version,
    )


def _score_one(
    key: str, matrix: Matrix, levels: dict[str, int], note: str
) -> CriterionScore:
    criterion = matrix.criteria[key]
    level = levels.get(key, 0)
    if level not in range(MAX_LEVEL + 1):
        raise ValueError(f"{key}: level {level!r} is outside 0-{MAX_LEVEL}")
    return CriterionScore(
        criterion=key,
        label=criterion.label,
        level=level,
        level_text=criterion.levels[level],
        weight=criterion.weight,
        points=criterion.weight * level,
        note=note,
    )


def _apply_rules(matrix: Matrix, levels: dict[str, int]) -> tuple[list[str], list[str]]:
    """The reasons rules veto the lead, and the vetoes their exceptions lifted."""
    vetoes, waivers = [], []
    for rule in matrix.rules.values():
        if not all(condition.holds(levels) for condition in rule.when):
            continue
        if rule.unless and all(condition.holds(levels) for condition in rule.unless):
            waivers.append(rule.waived or f"{rule.reason}, but an exception applies")
        else:
            vetoes.append(rule.reason)
    return vetoes, waivers
