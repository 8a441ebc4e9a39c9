"""The digest's figures against days worked out by hand, on both backends.

The team is in Europe/Berlin (UTC+1 in January): Wednesday 2026-01-14 runs
from 2026-01-13 23:00 to 2026-01-14 23:00 UTC.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.db import session_scope
from bot.domain.digest import build_digest, local_window
from bot.models import (
    Decision,
    Handoff,
    HandoffAnswer,
    Interview,
    LeadMoment,
    MatrixVersion,
    Mql,
    SlaClock,
)
from tests.factories import add_events, add_lead

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 1, 14)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def digest_of(engine, config, day=DAY):
    with session_scope(engine) as session:
        return build_digest(session=session, config=config, day=day, zone=BERLIN)


def add_decision(engine, number: int, outcome: str, at: datetime, sdr="U0SDR1"):
    """A lead qualified by `sdr` at `at`; the lead's and decision's IDs."""
    lead_id = add_lead(
        engine,
        email=f"lead{number}@northwind.example",
        company=f"Northwind {number}",
        sdr_user_id=sdr,
    )
    with session_scope(engine) as session:
        if session.get(MatrixVersion, "v1") is None:
            session.add(MatrixVersion(version="v1", name="test", content={}))
            session.flush()
        interview = Interview(
            lead_id=lead_id,
            sdr_user_id=sdr,
            dm_channel_id="D0SDR1",
            status="submitted",
            matrix_version="v1",
        )
        session.add(interview)
        session.flush()
        decision = Decision(
            interview_id=interview.id,
            lead_id=lead_id,
            sdr_user_id=sdr,
            outcome=outcome,
            total=25 if outcome == "sql" else 10,
            max_total=33,
            threshold=20,
            breakdown=[],
            reasons=[],
            signals=[],
            matrix_version="v1",
            decided_at=at,
            permalink=f"https://example.slack.com/archives/C0SQL/p{number}",
        )
        session.add(decision)
        session.flush()
        return lead_id, decision.id


def add_handoff(engine, number: int, at: datetime, ae="U0AE1", status="pending"):
    lead_id, decision_id = add_decision(engine, number, "sql", at)
    with session_scope(engine) as session:
        handoff = Handoff(
            decision_id=decision_id,
            lead_id=lead_id,
            ae_user_id=ae,
            status=status,
            channel_id="C0HANDOFF",
            channel_ts=f"1768000000.00000{number}",
            created_at=at,
        )
        session.add(handoff)
        session.flush()
        return handoff.id


def add_answer(engine, handoff_id, action, at, ae="U0AE1", reason=None):
    with session_scope(engine) as session:
        session.add(
            HandoffAnswer(
                handoff_id=handoff_id,
                action=action,
                user_id=ae,
                ae_user_id=ae,
                reason_code=reason,
                at=at,
            )
        )


def add_mql(engine, lead_id, reached_at, status="claimed", **fields):
    with session_scope(engine) as session:
        session.add(
            Mql(
                lead_id=lead_id,
                reached_at=reached_at,
                reason="score",
                engagement_level=2,
                status=status,
                **fields,
            )
        )


def add_clock(engine, lead_id, kind, started, due, status="open", stopped=None):
    with session_scope(engine) as session:
        session.add(
            SlaClock(
                lead_id=lead_id,
                # One open clock per lead, kind and subject: each its own.
                subject_id=int(started.timestamp()),
                kind=kind,
                owner_user_id="U0SDR1",
                started_at=started,
                due_at=due,
                status=status,
                stopped_at=stopped,
                breached_at=due if status == "late" else None,
            )
        )


def test_local_window_follows_the_zone_not_utc():
    window = local_window(DAY, 1, BERLIN)

    assert (window.start, window.end) == (utc(13, 23), utc(14, 23))


def test_an_empty_day_is_flagged_and_has_no_rates(engine, config):
    digest = digest_of(engine, config)

    assert digest.is_empty
    assert digest.funnel.qualified == 0
    assert digest.funnel.mql_to_sql is None
    assert digest.funnel.sql_to_accepted is None
    assert digest.funnel.accepted_to_meeting is None
    assert all(line.rate is None for line in digest.compliance)
    assert digest.sdrs == digest.aes == digest.reasons == digest.breaches == []


def test_a_day_with_only_nurture_counts_no_sql(engine, config):
    lead_id, _ = add_decision(engine, 1, "nurture", utc(14, 9))
    add_decision(engine, 2, "nurture", utc(14, 16), sdr="U0SDR2")
    add_mql(engine, lead_id, utc(13, 8))

    digest = digest_of(engine, config)

    assert not digest.is_empty
    funnel = digest.funnel
    assert (funnel.qualified, funnel.sql, funnel.nurture) == (2, 0, 2)
    # One of the two came through the queue, and it was not an SQL.
    assert (funnel.from_mql, funnel.mql_to_sql) == (1, 0.0)
    assert funnel.sql_to_accepted is None
    assert [(s.user_id, s.qualified, s.sql_rate) for s in digest.sdrs] == [
        ("U0SDR1", 1, 0.0),
        ("U0SDR2", 1, 0.0),
    ]


def test_a_lead_that_moved_between_days_counts_on_each_day(engine, config):
    lead_id, _ = add_decision(engine, 1, "sql", utc(14, 8))
    # MQL on Tuesday 13th (10:00 Berlin), SQL on Wednesday 14th (09:00).
    add_mql(engine, lead_id, utc(13, 9))
    # 00:30 on Thursday in Berlin, though still the 14th in UTC.
    add_decision(engine, 2, "nurture", utc(14, 23, 30))

    tuesday = digest_of(engine, config, day=date(2026, 1, 13))
    wednesday = digest_of(engine, config)

    assert (tuesday.funnel.mqls_reached, tuesday.funnel.qualified) == (1, 0)
    assert (wednesday.funnel.mqls_reached, wednesday.funnel.qualified) == (0, 1)
    assert wednesday.funnel.mql_to_sql == 1.0
    assert wednesday.trend.mqls_reached == 1
    assert wednesday.trend.qualified == 0


def test_rates_and_medians_are_worked_out_by_hand(engine, config):
    # Three SQLs handed to one AE on the day: accepted after 1 h and after
    # 3 h (median 2 h), one rejected as off-profile; one meeting booked.
    first = add_handoff(engine, 1, utc(14, 8), status="accepted")
    second = add_handoff(engine, 2, utc(14, 9), status="accepted")
    third = add_handoff(engine, 3, utc(14, 10), status="rejected")
    add_answer(engine, first, "accepted", utc(14, 9))
    add_answer(engine, second, "accepted", utc(14, 12))
    add_answer(engine, second, "meeting_booked", utc(14, 15))
    add_answer(engine, third, "rejected", utc(14, 11), reason="not_icp")
    # Last week: one rejection for budget, outside the day.
    old = add_handoff(engine, 4, utc(10, 8), status="rejected")
    add_answer(engine, old, "rejected", utc(10, 9), reason="no_budget")
    # First touches on the day: 10, 20 and 60 minutes (median 20).
    for minutes in (10, 20, 60):
        add_clock(
            engine,
            1,
            "first_touch",
            utc(14, 9),
            utc(14, 9, 15),
            status="met" if minutes < 15 else "late",
            stopped=utc(14, 9) + timedelta(minutes=minutes),
        )

    digest = digest_of(engine, config)

    funnel = digest.funnel
    assert (funnel.qualified, funnel.sql, funnel.handoffs) == (3, 3, 3)
    assert funnel.sql_to_accepted == pytest.approx(2 / 3)
    assert funnel.accepted_to_meeting == 0.5
    assert digest.trend.rejected == 1
    [ae] = digest.aes
    assert (ae.user_id, ae.handoffs, ae.accepted, ae.rejected) == ("U0AE1", 3, 2, 1)
    assert ae.median_to_accept == timedelta(hours=2)
    [sdr] = digest.sdrs
    assert (sdr.qualified, sdr.sql_rate) == (3, 1.0)
    assert sdr.median_first_touch == timedelta(minutes=20)
    assert [(r.code, r.label, r.count) for r in digest.reasons] == [
        ("not_icp", "Not our ICP", 1)
    ]


def test_sla_compliance_counts_met_late_and_open_past_due(engine, config):
    lead_id = add_lead(engine)
    claim = "mql_claim"
    add_clock(engine, lead_id, claim, utc(14, 8), utc(14, 12), "met", utc(14, 9))
    add_clock(engine, lead_id, claim, utc(14, 8), utc(14, 12), "met", utc(14, 10))
    # Stopped 90 minutes after its deadline.
    add_clock(engine, lead_id, claim, utc(14, 5), utc(14, 9), "late", utc(14, 10, 30))
    # Still open at the day's end (23:00 UTC), 8 hours past due.
    add_clock(engine, lead_id, claim, utc(14, 11), utc(14, 15))
    # Neither counts: cancelled, and not due yet.
    add_clock(engine, lead_id, claim, utc(14, 8), utc(14, 9), "cancelled", utc(14, 8))
    add_clock(engine, lead_id, claim, utc(14, 20), utc(15, 12))

    digest = digest_of(engine, config)

    compliance = {line.kind: line for line in digest.compliance}
    line = compliance[claim]
    assert (line.met, line.late, line.open_past_due) == (2, 1, 1)
    assert line.rate == 0.5
    assert compliance["first_touch"].total == 0
    [breach] = digest.breaches
    assert (breach.owner_user_id, breach.kind, breach.count) == ("U0SDR1", claim, 2)
    assert breach.worst == timedelta(hours=8)


def test_aging_lists_are_oldest_first_with_their_posts(engine, config):
    add_handoff(engine, 1, utc(13, 10))
    add_handoff(engine, 2, utc(12, 10))
    waiting_lead = add_lead(engine, email="mql@initech.example", company="Initech")
    add_mql(
        engine,
        waiting_lead,
        utc(14, 7),
        status="posted",
        channel_id="C0QUEUE",
        message_ts="1768370000.000100",
    )

    digest = digest_of(engine, config)

    assert [w.lead for w in digest.unaccepted_sqls] == [
        "Dana Lee (Northwind 2)",
        "Dana Lee (Northwind 1)",
    ]
    assert digest.unaccepted_total == 2
    assert digest.unaccepted_sqls[0].permalink.endswith("/p2")
    [mql] = digest.unclaimed_mqls
    assert (mql.lead, mql.channel_id, mql.ts) == (
        "Dana Lee (Initech)",
        "C0QUEUE",
        "1768370000.000100",
    )


def test_untouched_leads_are_the_most_engaged_without_an_sdr(engine, config):
    end = utc(14, 23)
    eager = add_lead(engine, email="eager@a.example", company="Eager")
    mild = add_lead(engine, email="mild@b.example", company="Mild")
    owned = add_lead(engine, email="own@c.example", company="Owned", sdr_user_id="U1")
    touched = add_lead(engine, email="t@d.example", company="Touched")
    add_events(engine, eager, ("demo_request", 1), ("pricing_page_view", 2), now=end)
    add_events(engine, mild, ("email_open", 1), now=end)
    add_events(engine, owned, ("demo_request", 1), now=end)
    add_events(engine, touched, ("demo_request", 1), now=end)
    with session_scope(engine) as session:
        session.add(LeadMoment(lead_id=touched, kind="touched", at=utc(14, 9)))

    digest = digest_of(engine, config)

    assert [lead.lead_id for lead in digest.untouched] == [eager, mild]
    assert "demo request" in digest.untouched[0].signals
