"""The SDR queue: MQLs posted once with a Claim button, claims, intent alerts."""

import json
import logging
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from bot import intent
from bot.conversation import Services
from bot.db import session_scope, utcnow
from bot.domain.ingest import Person, TrackedEvent, ingest
from bot.models import Lead, LeadMoment, Mql
from bot.slack.poster import SlackPoster, make_web_client
from tests.factories import add_lead
from tests.slack.harness import SlackHarness, buttons, dm_channel, has_button

QUEUE = "CQUEUE"
EMAIL = "dana@northwind.example"


@pytest.fixture
def team_config(team_config):
    channels = team_config.channels.model_copy(update={"queue": QUEUE})
    return team_config.model_copy(update={"channels": channels})


def _ingest(engine, config, *events: tuple[str, str, float]) -> None:
    """Events given as (email, name, minutes ago), stored in one request."""
    now = utcnow()
    items = [
        (
            position,
            TrackedEvent(
                Person(email=email),
                name,
                now - timedelta(minutes=minutes_ago),
                source="segment",
                source_id=f"{email}-{name}-{minutes_ago}",
            ),
        )
        for position, (email, name, minutes_ago) in enumerate(events)
    ]
    with session_scope(engine) as session:
        ingest(items, session=session, config=config, now=now)


def _deliver(slack) -> None:
    slack.runner.submit("deliver_intent", {})
    slack.drain()


def _mqls(engine) -> list[Mql]:
    with session_scope(engine) as session:
        return list(session.exec(select(Mql).order_by(Mql.id)))


def _lead(engine, email: str = EMAIL) -> Lead:
    with session_scope(engine) as session:
        return session.exec(select(Lead).where(Lead.email == email)).one()


def _updates_of(slack, post) -> list:
    return [
        call
        for call in slack.fake.of("chat.update")
        if call.args["ts"] == post.response["ts"]
    ]


def _replies(slack) -> list[str]:
    return [call.args["text"] for call in slack.fake.of("response_url")]


def _queue_post(slack, engine, config):
    add_lead(engine)
    _ingest(
        engine, config, (EMAIL, "pricing_page_view", 30), (EMAIL, "pricing_page", 20)
    )
    _deliver(slack)
    (post,) = slack.fake.posts_to(QUEUE)
    return post


def _claim(slack, post, user: str, drain: bool = True):
    (button,) = buttons(post)
    return slack.send_click(
        button["action_id"], button["value"], post, user=user, drain=drain
    )


def test_an_mql_is_posted_once_with_its_signals_and_a_claim_button(
    slack, engine, team_config
):
    add_lead(engine)
    _ingest(
        engine,
        team_config,
        (EMAIL, "pricing_page_view", 30),
        (EMAIL, "pricing_page", 20),
        (EMAIL, "web_visit", 10),
    )

    _deliver(slack)
    _deliver(slack)

    (post,) = slack.fake.posts_to(QUEUE)
    text = json.dumps(post.args["blocks"], ensure_ascii=False)
    assert "MQL: Dana Lee (Northwind)" in text
    assert "VP Operations · dana@northwind.example · northwind.example" in text
    assert "*Engagement 2 · Active evaluation* · *Fit 3 · Perfect ICP match*" in text
    assert "Engagement and fit both reached the MQL bar" in text
    assert "• pricing page ×2 this week\\n• web visit ×1 this week" in text
    (mql,) = _mqls(engine)
    (button,) = buttons(post)
    assert (button["action_id"], button["value"]) == ("claim_mql", str(mql.id))
    assert (mql.status, mql.channel_id, mql.message_ts) == (
        "posted",
        QUEUE,
        post.response["ts"],
    )


def test_deliveries_running_at_once_post_each_mql_once(slack, engine, team_config):
    for index in range(3):
        email = f"p{index}@co{index}.example"
        add_lead(engine, email=email, name=f"P{index}", company=f"Co{index}")
        _ingest(engine, team_config, (email, "demo_request", 5))
    client = make_web_client("xoxb-test-token", f"{slack.fake.base_url}api/")
    services = Services(engine=engine, config=team_config, poster=SlackPoster(client))
    start = threading.Barrier(4)

    def deliver() -> None:
        start.wait()
        intent.deliver_intent(services)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    posts = slack.fake.posts_to(QUEUE)
    assert sorted(post.args["text"].split(" (engagement")[0] for post in posts) == [
        "MQL: P0 (Co0)",
        "MQL: P1 (Co1)",
        "MQL: P2 (Co2)",
    ]
    assert {mql.status for mql in _mqls(engine)} == {"posted"}


def test_ten_events_of_one_lead_ingested_together_make_one_post(
    slack, engine, team_config
):
    add_lead(engine)
    names = ["demo_request", "pricing_page_view", "review_site_visit", "web_visit"]
    events = [(EMAIL, names[index % 4], index) for index in range(10)]

    _ingest(engine, team_config, *events)
    _deliver(slack)

    assert len(slack.fake.posts_to(QUEUE)) == 1
    assert len(_mqls(engine)) == 1


def test_ten_requests_at_once_about_one_lead_make_one_post(slack, engine, team_config):
    add_lead(engine)
    start = threading.Barrier(10)

    def send(index: int) -> None:
        start.wait()
        _ingest(engine, team_config, (EMAIL, "demo_request", index))
        slack.runner.submit("deliver_intent", {})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slack.drain()

    assert len(slack.fake.posts_to(QUEUE)) == 1
    assert len(_mqls(engine)) == 1


def test_a_hand_raiser_of_unknown_fit_is_posted_as_one(slack, engine, team_config):
    _ingest(engine, team_config, ("sam@newco.example", "demo_request", 5))

    _deliver(slack)

    (post,) = slack.fake.posts_to(QUEUE)
    text = json.dumps(post.args["blocks"], ensure_ascii=False)
    assert "*Fit unknown*" in text
    assert "Hand-raiser: a high-intent signal in the last 7 days" in text
    assert "• demo request ×1 this week" in text


def test_an_sdr_who_claims_an_mql_owns_the_lead_and_the_post_says_so(
    slack, engine, team_config
):
    post = _queue_post(slack, engine, team_config)

    _claim(slack, post, "USDR1")

    (update,) = _updates_of(slack, post)
    assert not has_button(update, "claim_mql")
    claimed = update.args["blocks"][-1]["text"]["text"]
    assert claimed.startswith(":white_check_mark: Claimed by <@USDR1> · <!date^")
    assert _replies(slack) == [
        "*Dana Lee (Northwind)* is yours. Reach out while they're warm; after "
        "the call, type `/qualify dana@northwind.example` to qualify them."
    ]
    assert _lead(engine).sdr_user_id == "USDR1"
    (mql,) = _mqls(engine)
    assert (mql.status, mql.claimed_by) == ("claimed", "USDR1")
    with session_scope(engine) as session:
        (moment,) = session.exec(select(LeadMoment).where(LeadMoment.kind == "claimed"))
    assert (moment.user_id, moment.at) == ("USDR1", mql.claimed_at)


def test_two_sdrs_clicking_claim_at_once_make_one_owner_and_tell_the_other(
    slack, engine, team_config
):
    post = _queue_post(slack, engine, team_config)
    start = threading.Barrier(2)

    def click(user: str) -> None:
        start.wait()
        _claim(slack, post, user, drain=False)

    threads = [threading.Thread(target=click, args=(u,)) for u in ("USDR1", "USDR2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slack.drain()

    owner = _lead(engine).sdr_user_id
    assert owner in ("USDR1", "USDR2")
    replies = sorted(_replies(slack))
    assert len(replies) == 2
    assert replies[0].startswith("*Dana Lee (Northwind)* is yours.")
    assert replies[1].startswith(f"Already claimed by <@{owner}> (<!date^")
    assert replies[1].endswith(
        "*Dana Lee (Northwind)* stays with them. Talk to them if you know this lead."
    )
    updates = _updates_of(slack, post)
    assert len(updates) == 2
    for update in updates:
        assert f"Claimed by <@{owner}>" in update.args["blocks"][-1]["text"]["text"]
    assert (_mqls(engine)[0].claimed_by, len(slack.fake.posts_to(QUEUE))) == (
        owner,
        1,
    )


def test_a_later_claim_is_told_who_has_the_lead(slack, engine, team_config):
    post = _queue_post(slack, engine, team_config)
    _claim(slack, post, "USDR1")

    _claim(slack, post, "USDR2")

    assert _replies(slack)[-1].startswith("Already claimed by <@USDR1> (")
    assert _lead(engine).sdr_user_id == "USDR1"


def test_someone_not_on_the_team_cannot_claim(slack, engine, team_config):
    post = _queue_post(slack, engine, team_config)

    _claim(slack, post, "UAE1")

    assert _replies(slack) == [
        "Only the SDRs and managers listed in Qualify's config can claim MQLs. "
        "Ask whoever runs Qualify to add your user ID (UAE1) to `team.sdrs`."
    ]
    assert _updates_of(slack, post) == []
    assert _lead(engine).sdr_user_id is None
    assert _mqls(engine)[0].status == "posted"


def test_a_claim_of_a_forgotten_lead_says_so(slack):
    slack.click("claim_mql", "404", user="USDR1", channel=QUEUE)

    assert _replies(slack) == [
        "I can't find this MQL any more (its lead may have been deleted); "
        "nothing changed."
    ]
    assert slack.fake.of("chat.update") == []


def test_a_lead_name_cannot_ping_the_queue_channel(slack, engine, team_config):
    add_lead(engine, name="<!channel>", company="Smith & <Sons>")
    _ingest(engine, team_config, (EMAIL, "demo_request", 5))

    _deliver(slack)

    (post,) = slack.fake.posts_to(QUEUE)
    header, *rest = post.args["blocks"]
    # A header is plain text, where Slack pings no one.
    assert header["text"] == {
        "type": "plain_text",
        "text": "MQL: <!channel> (Smith & <Sons>)",
    }
    mrkdwn = json.dumps([post.args["text"], rest])
    assert "<!channel>" not in mrkdwn and "<Sons>" not in mrkdwn
    assert "&lt;!channel&gt; (Smith &amp; &lt;Sons&gt;)" in post.args["text"]


def test_a_high_intent_event_of_a_claimed_lead_dms_its_sdr_once(
    slack, engine, team_config
):
    post = _queue_post(slack, engine, team_config)
    _claim(slack, post, "USDR1")

    _ingest(engine, team_config, (EMAIL, "demo_request", 1))
    _deliver(slack)
    _deliver(slack)

    (dm,) = slack.fake.posts_to(dm_channel("USDR1"))
    intro, lead, next_step = (block for block in dm.args["blocks"])
    assert intro["text"]["text"] == (
        ":rotating_light: *Dana Lee (Northwind)*, your lead, is showing buying "
        "intent right now. Reach out now, while it's fresh."
    )
    assert lead["text"]["text"].startswith(
        "*Dana Lee (Northwind)* · demo request\nVP Operations · dana@northwind"
    )
    assert "• demo request ×1 this week" in lead["text"]["text"]
    assert next_step["elements"][0]["text"] == (
        "After the call, type `/qualify <email>` to qualify the lead."
    )
    with session_scope(engine) as session:
        (moment,) = session.exec(
            select(LeadMoment).where(LeadMoment.kind == "high_intent")
        )
    assert moment.user_id == "USDR1" and moment.notified_at is not None


def test_alerts_for_one_sdr_come_as_one_dm_and_each_sdr_gets_their_own(
    slack, engine, team_config
):
    owners = {"a@one.example": "USDR1", "b@two.example": "USDR1"}
    owners["c@three.example"] = "USDR2"
    for email, sdr in owners.items():
        add_lead(engine, email=email, name="", company=email[2:], sdr_user_id=sdr)

    _ingest(engine, team_config, *[(email, "demo_request", 2) for email in owners])
    _deliver(slack)

    (dm,) = slack.fake.posts_to(dm_channel("USDR1"))
    assert dm.args["blocks"][0]["text"]["text"].startswith(
        ":rotating_light: 2 of your leads are showing buying intent right now."
    )
    named = [block["text"]["text"].split(" · ")[0] for block in dm.args["blocks"][1:3]]
    assert named == ["*one.example*", "*two.example*"]
    (other,) = slack.fake.posts_to(dm_channel("USDR2"))
    assert "*three.example*" in other.args["blocks"][0]["text"]["text"]


def test_alerts_for_more_leads_than_one_dm_holds_come_in_several(
    slack, engine, team_config
):
    emails = [f"p{index}@co{index}.example" for index in range(21)]
    for email in emails:
        add_lead(engine, email=email, sdr_user_id="USDR1")

    _ingest(engine, team_config, *[(email, "demo_request", 2) for email in emails])
    _deliver(slack)

    dms = slack.fake.posts_to(dm_channel("USDR1"))
    assert [len(dm.args["blocks"]) for dm in dms] == [22, 3]


def test_an_alert_slack_refused_goes_out_on_the_next_run(slack, engine, team_config):
    add_lead(engine, sdr_user_id="USDR1")
    _ingest(engine, team_config, (EMAIL, "demo_request", 1))
    slack.fake.fail("chat.postMessage", "internal_error", channel=dm_channel("USDR1"))
    _deliver(slack)
    slack.fake.failures.clear()

    _deliver(slack)

    assert len(slack.fake.posts_to(dm_channel("USDR1"))) == 2
    assert [c.response["ok"] for c in slack.fake.posts_to(dm_channel("USDR1"))] == [
        False,
        True,
    ]


def test_an_alert_whose_reply_was_lost_is_not_sent_again(slack, engine, team_config):
    add_lead(engine, sdr_user_id="USDR1")
    _ingest(engine, team_config, (EMAIL, "demo_request", 1))
    slack.fake.drop_reply_once("chat.postMessage", dm_channel("USDR1"))
    _deliver(slack)

    _deliver(slack)

    assert len(slack.fake.posts_to(dm_channel("USDR1"))) == 1


def test_a_queue_post_slack_refused_is_posted_on_the_next_run(
    slack, engine, team_config
):
    add_lead(engine)
    _ingest(engine, team_config, (EMAIL, "demo_request", 1))
    slack.fake.fail("chat.postMessage", "not_in_channel", channel=QUEUE)
    _deliver(slack)
    assert _mqls(engine)[0].status == "new"
    slack.fake.failures.clear()

    _deliver(slack)

    assert [c.response["ok"] for c in slack.fake.posts_to(QUEUE)] == [False, True]
    assert _mqls(engine)[0].status == "posted"


def test_a_queue_post_whose_reply_was_lost_is_not_posted_twice(
    slack, engine, team_config
):
    add_lead(engine)
    _ingest(engine, team_config, (EMAIL, "demo_request", 1))
    slack.fake.drop_reply_once("chat.postMessage", QUEUE)
    _deliver(slack)

    _deliver(slack)

    assert len(slack.fake.posts_to(QUEUE)) == 1
    assert _mqls(engine)[0].status == "posting"


def test_without_a_queue_channel_nothing_is_posted_and_the_mql_waits(
    fake_slack, engine, team_config, caplog
):
    channels = team_config.channels.model_copy(update={"queue": ""})
    config = team_config.model_copy(update={"channels": channels})
    slack = SlackHarness(fake_slack, config, engine)
    add_lead(engine)
    _ingest(engine, config, (EMAIL, "demo_request", 1))

    with caplog.at_level(logging.WARNING, logger="bot.intent"):
        _deliver(slack)
    slack.stop()

    assert fake_slack.of("chat.postMessage") == []
    assert _mqls(engine)[0].status == "new"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.intent"]
    assert line == (
        "mqls not posted: channels.queue is not set in the config waiting=1"
    )
