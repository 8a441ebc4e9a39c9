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


LOG_LEVELS_SHOWN = {"info", "warning", "error", "exception", "critical", "log"}
PERSONAL_WORDS = ("email", "properties", "traits")


def personal_log_arguments(source: str) -> list[str]:
    """Names in the arguments of INFO-and-above log calls that hold personal data.

    An address wrapped in mask_email() is fine; a traceback is not looked at.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        function = node.func if isinstance(node, ast.Call) else None
        if not (
            isinstance(function, ast.Attribute)
            and function.attr in LOG_LEVELS_SHOWN
            and getattr(function.value, "id", None) in {"logger", "logging"}
        ):
            continue
        arguments = [*node.args[1:], *(k.value for k in node.keywords)]
        found += [
            name
            for argument in arguments
            for name in _unmasked_names(argument)
            if any(word in name.lower() for word in PERSONAL_WORDS)
        ]
    return found


def _unmasked_names(node: ast.AST):
    function = node.func if isinstance(node, ast.Call) else None
    if getattr(function, "id", None) == "mask_email" or (
        getattr(function, "attr", None) == "mask_email"
    ):
        return
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        yield node.attr
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        yield str(node.slice.value)
    for child in ast.iter_child_nodes(node):
        yield from _unmasked_names(child)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('logger.info("lead email=%s", lead.email)\n', ["email"]),
        ('logger.warning("bad row %s", row_email)\n', ["row_email"]),
        ('logging.error("event %s", event["properties"])\n', ["properties"]),
        ('logger.info("event %s", event.properties)\n', ["properties"]),
        ('logger.info("profile %s", traits)\n', ["traits"]),
        ('logger.info("lead email=%s", mask_email(lead.email))\n', []),
        ('logger.info("lead email=%s", identity.mask_email(email))\n', []),
        ('logger.debug("lead email=%s", lead.email)\n', []),
        ('logger.info("lead lead_id=%s", lead.id)\n', []),
    ],
)
def test_log_check_catches_personal_data_above_debug(source, found):
    assert personal_log_arguments(source) == found


def test_no_log_line_above_debug_holds_a_full_email_or_event_properties():
    offenders = {
        relative(path): names
        for path in sorted(BOT.rglob("*.py"))
        if (names := personal_log_arguments(path.read_text(encoding="utf-8")))
    }

    assert offenders == {}
