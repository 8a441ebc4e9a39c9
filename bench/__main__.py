"""`python -m bench [NAME...]`: run the benchmarks and record their figures."""

import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

import click

import bench

RESULTS_PATH = Path(__file__).with_name("results.json")


def find_benchmarks() -> dict[str, ModuleType]:
    """Every module of bench/ that defines run(), by name."""
    found = {}
    for module_info in pkgutil.iter_modules(bench.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{module_info.name}")
        if callable(getattr(module, "run", None)):
            found[module_info.name] = module
    return found


def read_results(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise click.ClickException(
            f"{path} is not valid JSON ({error}); fix it or delete it to start afresh."
        ) from None
    if not isinstance(results, dict):
        raise click.ClickException(
            f"{path} should hold one object per benchmark; fix it or delete it."
        )
    return results


def write_results(path: Path, results: dict) -> None:
    # Written whole, then renamed, so an interrupted run never leaves half a file.
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


@click.command()
@click.argument("names", nargs=-1)
def main(names: tuple[str, ...]) -> None:
    """Run the named benchmarks (all when none is named)."""
    benchmarks = find_benchmarks()
    unknown = [name for name in names if name not in benchmarks]
    if unknown:
        raise click.ClickException(
            f"no benchmark named {', '.join(unknown)}; "
            f"choose from {', '.join(sorted(benchmarks))}."
        )
    results = read_results(RESULTS_PATH)

    missed = []
    for name in names or sorted(benchmarks):
        module = benchmarks[name]
        try:
            figures = module.run()
        except bench.BenchError as error:
            raise click.ClickException(f"{name}: {error}") from None
        click.echo(module.format_summary(figures))
        results[name] = figures
        write_results(RESULTS_PATH, results)
        if figures.get("meets_target") is False:
            missed.append(name)

    click.echo(f"figures written to {RESULTS_PATH.relative_to(bench.PROJECT_ROOT)}")
    if missed:
        click.echo(f"target missed: {', '.join(missed)}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main(prog_name="python -m bench")
