"""The digest message: valid Block Kit, plain on an empty day, lists cut short."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.digest import (
    AeLine,
    Breach,
    Compliance,
    Digest,
    Funnel,
    SdrLine,
    Waiting,
    local_window,
)
from bot.slack.digest_blocks import digest_message, duration
from bot.slack.plaintext import blocks_to_text
from tests.fakes.slack_api import FakeSlack

DAY = date(2026, 1, 14)
ZONE = ZoneInfo("Europe/Berlin")
SINCE = datetime(2026, 1, 12, 9, tzinfo=UTC)


def make_digest(people: int = 0, waiting: int = 0, **fields) -> Digest:
    values = dict(
        day=DAY,
        zone=ZONE,
        window=local_window(DAY, 1, ZONE),
        funnel=Funnel(),
        trend=Funnel(),
        compliance=[Compliance("first_touch")],
        trend_compliance=[Compliance("first_touch")],
        breaches=[],
        sdrs=[SdrLine(f"U0SDR{n}", 2, 1, timedelta(minutes=20)) for n in range(people)],
        aes=[AeLine(f"U0AE{n}", 3, 2, 1, timedelta(hours=2)) for n in range(people)],
        reasons=[],
        unaccepted_sqls=[
            Waiting(n, f"Lead <!channel> {n}", SINCE, user_id="U0AE1")
            for n in range(min(waiting, 10))
        ],
        unaccepted_total=waiting,
    )
    values.update(fields)
    return Digest(**values)


def problems_of(message) -> list[str]:
    fake = FakeSlack()
    fake._validate("chat.postMessage", {"text": message.text, "blocks": message.blocks})
    return fake.problems


def test_an_empty_day_says_so_instead_of_zeros():
    message = digest_message(make_digest())

    text = blocks_to_text(message.blocks, message.text, {}, {})
    assert problems_of(message) == []
    assert text == (
        "== Qualification digest · Wed 14 Jan 2026 ==\n"
        "Nothing happened on Wed 14 Jan 2026: no MQLs, qualifications, handoff "
        "answers or SLA clocks."
    )


def test_a_busy_day_passes_block_kit_validation():
    funnel = Funnel(qualified=3, sql=2, nurture=1, from_mql=2, from_mql_sql=1)
    digest = make_digest(
        people=3,
        waiting=2,
        funnel=funnel,
        trend=Funnel(qualified=14, sql=7, nurture=7),
        compliance=[Compliance("mql_claim", met=2, late=1, open_past_due=1)],
        breaches=[Breach("U0SDR1", "mql_claim", 2, timedelta(hours=8))],
    )

    message = digest_message(digest)

    text = blocks_to_text(message.blocks, message.text, {}, {})
    assert problems_of(message) == []
    assert "Qualified 3 (2 SQL · 1 nurture) · 7d 2.0/day" in text
    assert "MQL → SQL 50% · 7d —" in text
    assert "MQL claim: 2 · 1 · 1 — 50% on time · 7d —" in text
    assert "@U0SDR1: MQL claim ×2, up to 8h late" in text
    # What a lead's name holds is escaped, so nobody is pinged.
    assert "<!channel>" not in str(message.blocks)


def test_long_lists_are_cut_with_and_n_more():
    message = digest_message(
        make_digest(people=30, waiting=25, funnel=Funnel(qualified=1))
    )

    text = blocks_to_text(message.blocks, message.text, {}, {})
    assert problems_of(message) == []
    assert len(message.blocks) <= 50
    assert "…and 22 more" in text  # 30 SDRs, 8 shown
    assert "…and 17 more" in text  # 25 waiting SQLs, 8 shown
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in message.blocks)


def test_durations_read_as_people_say_them():
    spans = [timedelta(minutes=45), timedelta(hours=3, minutes=20), timedelta(days=2)]

    assert [duration(span) for span in spans] == ["45m", "3h 20m", "2d"]
    assert duration(None) == "—"
