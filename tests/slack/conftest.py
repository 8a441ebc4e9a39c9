import tomllib

import pytest

from bot.config import DEFAULTS_PATH, merge, parse_config
from tests.fakes.slack_api import start_fake_slack
from tests.slack.harness import Flow, SlackHarness

TEAM_CONFIG = {
    "channels": {
        "sql": "CSQL",
        "nurture": "CNURTURE",
        "handoff": "CHANDOFF",
        "digest": "CDIGEST",
    },
    "team": {
        "sdrs": ["USDR1", "USDR2"],
        "aes": ["UAE1", "UAE2"],
        "managers": ["UMGR1"],
    },
}


@pytest.fixture
def team_config():
    with DEFAULTS_PATH.open("rb") as file:
        defaults = tomllib.load(file)
    return parse_config(merge(defaults, TEAM_CONFIG))


@pytest.fixture
def fake_slack():
    fake, server = start_fake_slack()
    yield fake
    server.shutdown()
    assert fake.problems == [], "messages Slack would refuse were sent"


@pytest.fixture
def slack(fake_slack, team_config, engine):
    harness = SlackHarness(fake_slack, team_config, engine)
    yield harness
    harness.stop()


@pytest.fixture
def flow(slack):
    return Flow(slack)
