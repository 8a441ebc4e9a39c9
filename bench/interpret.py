"""How long the offline interpreter takes to read one answer.

Every labelled answer of the golden set is interpreted for each criterion it
names, many times over; the figure is the median time of one call.
"""

import json
import statistics
import time
from datetime import date

from bench import PROJECT_ROOT
from bot.domain.interpret import OfflineInterpreter

GOLDEN = PROJECT_ROOT / "tests" / "fixtures" / "golden_answers.jsonl"
ROUNDS = 20
TARGET_MS = 5.0


def run() -> dict:
    interpreter = OfflineInterpreter()
    calls = []
    for line in GOLDEN.read_text().splitlines():
        example = json.loads(line)
        day = date.fromisoformat(example["date"])
        calls += [
            (criterion, example["text"], day) for criterion in example["expected"]
        ]
    interpreter.interpret(*calls[0])  # imports and compiles before timing

    timings = []
    for _ in range(ROUNDS):
        for call in calls:
            started = time.perf_counter()
            interpreter.interpret(*call)
            timings.append((time.perf_counter() - started) * 1000)
    median = statistics.median(timings)
    return {
        "offline_median_ms": round(median, 3),
        "offline_p99_ms": round(statistics.quantiles(timings, n=100)[98], 3),
        "calls": len(timings),
        "meets_target": median < TARGET_MS,
    }


def format_summary(figures: dict) -> str:
    verdict = "met" if figures["meets_target"] else "MISSED"
    return (
        f"interpret: offline median {figures['offline_median_ms']} ms, "
        f"p99 {figures['offline_p99_ms']} ms over {figures['calls']} calls "
        f"(target median < {TARGET_MS} ms): {verdict}"
    )
