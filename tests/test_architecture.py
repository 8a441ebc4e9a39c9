import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bot import PROJECT_ROOT

BOT = PROJECT_ROOT / "bot"
SLACK_PACKAGES = {"slack_bolt", "slack_sdk"}
SLACK_FREE = [
    *sorted((BOT / "domain").rglob("*.py")),
    BOT / "config.py",
    BOT / "models.py",
    BOT / "db.py",
]


def imported_packages(source: str) -> set[str]:
    """Top-level package names a module imports, anywhere in its body."""
    packages = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            packages.add(node.module.split(".")[0])
    return packages


def calls_basic_config(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        name = getattr(function, "attr", None) or getattr(function, "id", None)
        if name == "basicConfig":
            return True
    return False


def relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


@pytest.mark.parametrize(
    "source",
    [
        "import slack_sdk\n",
        "import os, slack_sdk.web.client as web\n",
        "from slack_bolt import App\n",
        "from slack_bolt.adapter.socket_mode import SocketModeHandler\n",
        "def build():\n    from slack_sdk import WebClient\n",
        "try:\n    import slack_bolt\nexcept ImportError:\n    pass\n",
    ],
)
def test_slack_import_check_catches_each_form_of_import(source):
    packages = imported_packages(source)

    assert packages & SLACK_PACKAGES


def test_slack_import_check_ignores_our_own_slack_package():
    source = "from bot.slack import blocks\nfrom .slack import mrkdwn\n"

    packages = imported_packages(source)

    assert packages & SLACK_PACKAGES == set()


@pytest.mark.parametrize(
    "source",
    [
        "import logging\nlogging.basicConfig(level=10)\n",
        "from logging import basicConfig\nbasicConfig()\n",
    ],
)
def test_logging_check_catches_each_form_of_basic_config(source):
    assert calls_basic_config(source)


def test_domain_config_models_and_db_do_not_import_slack():
    checked = [relative(path) for path in SLACK_FREE]

    offenders = {
        relative(path): sorted(imported_packages(path.read_text()) & SLACK_PACKAGES)
        for path in SLACK_FREE
        if imported_packages(path.read_text()) & SLACK_PACKAGES
    }

    assert "bot/domain/interviews.py" in checked
    assert "bot/domain/scoring.py" in checked
    assert offenders == {}


def test_importing_the_domain_loads_no_slack_package_indirectly():
    modules = [
        "bot." + ".".join(path.relative_to(BOT).with_suffix("").parts)
        for path in SLACK_FREE
    ]
    script = (
        f"import importlib, sys\n"
        f"for name in {modules!r}:\n"
        f"    importlib.import_module(name)\n"
        f"loaded = {{m.split('.')[0] for m in sys.modules}}\n"
        f"print(sorted(loaded & {SLACK_PACKAGES!r}))"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "[]"


def test_only_the_command_line_configures_logging():
    callers = [
        relative(path)
        for path in sorted(BOT.rglob("*.py"))
        if calls_basic_config(path.read_text())
    ]

    assert callers == ["bot/__main__.py"]


def test_only_bot_llm_imports_openai():
    importers = [
        relative(path)
        for path in sorted(BOT.rglob("*.py"))
        if "openai" in imported_packages(path.read_text(encoding="utf-8"))
    ]

    assert importers == ["bot/llm.py"]
