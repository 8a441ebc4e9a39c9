"""Who a lead is: the email address, the company domain, merging and forgetting.

Two records of one person are merged into one that keeps everything either
held; a person who asks to be forgotten is erased with all that is stored
about them. Neither touches Slack: both say which messages were posted, so
that an operator can delete those by hand.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlmodel import Session

from bot.domain.interviews import OPEN_STATUSES as OPEN_INTERVIEW_STATUSES
from bot.domain.leads import DOMAIN
from bot.models import (
    Answer,
    Decision,
    Event,
    Handoff,
    Interview,
    Lead,
    LeadIdentity,
    LeadMoment,
    Mql,
)

logger = logging.getLogger(__name__)

# The width of leads.email.
MAX_EMAIL = 320
# The identity kind an address merged into another lead is kept under, so
# that the address still finds the person (to merge or forget them).
EMAIL_IDENTITY = "email"
# lead_identities.value is narrower than leads.email: a longer merged address
# is not kept as an identity, so it no longer finds the lead after a merge.
MAX_IDENTITY = 200

# Mailboxes anyone can sign up for: people there share a domain but not a
# company, so their domain groups no one. Exact domains, and brands under
# any country's suffix (yahoo.co.uk, gmx.de, yandex.ru).
PERSONAL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "live.com",
        "live.co.uk",
        "live.fr",
        "live.nl",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "pm.me",
        "protonmail.com",
        "protonmail.ch",
        "tutanota.com",
        "fastmail.com",
        "mail.com",
        "ymail.com",
        "mail.ru",
        "inbox.ru",
        "list.ru",
        "bk.ru",
        "ya.ru",
        "qq.com",
        "foxmail.com",
        "163.com",
        "126.com",
        "sina.com",
        "web.de",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "libero.it",
        "comcast.net",
    }
)
PERSONAL_BRANDS = frozenset({"yahoo", "hotmail", "gmx", "yandex"})
# Where an open MQL stands; when two records of one person both have one,
# the one further along stays open.
MQL_PROGRESS = {"new": 0, "posting": 1, "posted": 2, "claimed": 3}
# Fields a merge fills in the kept lead when it has no value of its own.
MERGED_FIELDS = (
    "name",
    "title",
    "company",
    "domain",
    "industry",
    "employees",
    "country",
    "owner_user_id",
    "sdr_user_id",
)


class EmailError(ValueError):
    """Text that is not an email address; the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not an email address like ana@acme.com: {reason}")
        self.reason = reason


class IdentityError(Exception):
    """A merge or a forget that cannot be done; nothing was changed."""


class LeadNotFound(IdentityError, LookupError):
    pass


class MergeRefused(IdentityError):
    pass


@dataclass(frozen=True)
class SlackMessage:
    """A message Qualify posted about a lead, to be deleted by hand."""

    what: str
    channel_id: str | None
    ts: str | None
    permalink: str | None = None


@dataclass(frozen=True)
class MergeReport:
    keep_id: int
    other_id: int
    # Rows moved to the kept lead, by table ("events", "interviews", ...).
    moved: dict[str, int]
    # Fields the kept lead took from the other, and fields where both had a
    # value and the kept lead's stayed.
    filled: list[str]
    differing: list[str]
    # The other lead's address, now an identity of the kept lead (or its
    # email, when it had none).
    email_alias: str | None = None
    # When both had an open MQL, the one closed and its queue post.
    closed_mql_id: int | None = None
    slack_messages: list[SlackMessage] = field(default_factory=list)


@dataclass(frozen=True)
class ForgetReport:
    lead_id: int
    # Rows deleted, by table ("leads", "events", ...).
    removed: dict[str, int]
    slack_messages: list[SlackMessage]


def normalise_email(value: str) -> str | None:
    """' Ana@Acme.com ' -> 'ana@acme.com'; None for an empty value."""
    email = value.strip().lower()
    if not email:
        return None

    local, at, domain = email.rpartition("@")
    if not at:
        raise EmailError("it has no @")
    if not local:
        raise EmailError("nothing comes before the @")
    if not domain:
        raise EmailError("nothing comes after the @")
    if re.search(r"\s", local):
        raise EmailError("it has a space before the @")
    if not DOMAIN.match(domain):
        raise EmailError(f"{domain!r} after the @ is not a domain")
    if len(email) > MAX_EMAIL:
        raise EmailError(f"it is longer than {MAX_EMAIL} characters")
    return email


def is_personal_domain(domain: str) -> bool:
    """A mailbox provider's domain (gmail.com, yahoo.co.uk), not a company's."""
    domain = domain.lower()
    return domain in PERSONAL_DOMAINS or domain.split(".")[0] in PERSONAL_BRANDS


def company_domain(email: str | None) -> str | None:
    """The domain that groups the people of one company; None for gmail.com & co."""
    email = normalise_email(email or "")
    if email is None:
        return None
    domain = email.rpartition("@")[2]
    return None if is_personal_domain(domain) else domain


def mask_email(email: str | None) -> str:
    """'ana.lopez@acme.com' -> 'a***@acme.com', for log lines and errors."""
    local, at, domain = (email or "").strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def find_person(email: str, *, session: Session) -> Lead:
    """The lead an address belongs to, also after it was merged into another."""
    normalised = normalise_email(email)
    if normalised is None:
        raise EmailError("it is empty")
    lead = session.scalars(select(Lead).where(Lead.email == normalised)).first()
    if lead is None:
        lead = session.scalars(
            select(Lead)
            .join(LeadIdentity, LeadIdentity.lead_id == Lead.id)
            .where(
                LeadIdentity.kind == EMAIL_IDENTITY, LeadIdentity.value == normalised
            )
        ).first()
    if lead is None:
        raise LeadNotFound(
            f"no lead has the email address {mask_email(normalised)}; check the "
            "spelling"
        )
    return lead


def find_lead(reference: str, *, session: Session) -> Lead:
    """A lead named by its ID ('42') or by an email address."""
    reference = reference.strip()
    if not re.fullmatch(r"[0-9]+", reference):
        return find_person(reference, session=session)
    # Larger than any ID the database can hold: not found, not an overflow.
    if len(reference) > 18:
        raise LeadNotFound(f"no lead has ID {reference}")
    lead = session.get(Lead, int(reference))
    if lead is None:
        raise LeadNotFound(f"no lead has ID {reference}")
    return lead


def merge_leads(
    keep_id: int, other_id: int, *, session: Session, now: datetime
) -> MergeReport:
    """Fold `other` into `keep`, two records of one person, and delete `other`.

    Nothing is written before every check has passed, and everything is
    written in the caller's transaction.
    """
    if keep_id == other_id:
        raise MergeRefused(f"lead {keep_id} cannot be merged with itself")
    keep, other = _lock_leads(keep_id, other_id, session=session)
    _refuse_two_open_interviews(keep, other, session=session)

    closed = _close_one_of_two_open_mqls(keep, other, session=session)
    moved = _move_rows(other.id, keep.id, session=session)
    filled, differing = _fill_fields(keep, other)
    keep.attributes = {**(other.attributes or {}), **(keep.attributes or {})}
    keep.updated_at = now

    email_alias = _take_address(keep, other, session=session, now=now)
    logger.info(
        "leads merged keep_id=%s other_id=%s events=%s interviews=%s mqls=%s",
        keep.id,
        other_id,
        moved["events"],
        moved["interviews"],
        moved["mqls"],
    )
    return MergeReport(
        keep_id=keep.id,
        other_id=other_id,
        moved=moved,
        filled=filled,
        differing=differing,
        email_alias=email_alias,
        closed_mql_id=closed.id if closed else None,
        slack_messages=_mql_posts([closed] if closed else []),
    )


def forget_person(email: str, *, session: Session) -> ForgetReport:
    """Erase a person's lead and everything stored about it (caller's transaction)."""
    lead_id = find_person(email, session=session).id
    # Locked so that no event or interview of the lead is added meanwhile.
    (lead,) = _lock_leads(lead_id, session=session)
    messages = _slack_messages(lead.id, session=session)

    removed = {}
    for table, statement in _deletes(lead.id):
        result = session.execute(statement.execution_options(synchronize_session=False))
        removed[table] = result.rowcount
    session.expunge(lead)

    logger.info(
        "lead forgotten lead_id=%s events=%s interviews=%s slack_messages=%s",
        lead_id,
        removed["events"],
        removed["interviews"],
        len(messages),
    )
    return ForgetReport(lead_id=lead_id, removed=removed, slack_messages=messages)


def _lock_leads(*lead_ids: int, session: Session) -> list[Lead]:
    """The leads, locked in ID order so that two merges cannot deadlock."""
    statement = (
        select(Lead)
        .where(Lead.id.in_(lead_ids))
        .order_by(Lead.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {lead.id: lead for lead in session.scalars(statement)}
    for lead_id in lead_ids:
        if lead_id not in found:
            raise LeadNotFound(f"no lead has ID {lead_id}")
    return [found[lead_id] for lead_id in lead_ids]


def _refuse_two_open_interviews(keep: Lead, other: Lead, *, session: Session) -> None:
    statement = (
        select(Interview)
        .where(
            Interview.lead_id.in_((keep.id, other.id)),
            Interview.status.in_(OPEN_INTERVIEW_STATUSES),
        )
        .order_by(Interview.lead_id == other.id)
    )
    open_interviews = list(session.scalars(statement))
    if len({interview.lead_id for interview in open_interviews}) < 2:
        return
    ours, theirs = open_interviews
    raise MergeRefused(
        f"both leads have an interview open (lead {keep.id}: interview {ours.id} "
        f"by {ours.sdr_user_id}; lead {other.id}: interview {theirs.id} by "
        f"{theirs.sdr_user_id}); submit or cancel one of them in Slack "
        "(/qualify cancel), then merge again"
    )


def _close_one_of_two_open_mqls(
    keep: Lead, other: Lead, *, session: Session
) -> Mql | None:
    """Close the MQL less far along when both leads have one open (keep's on a tie).

    One person waits in the queue once; the one further along (claimed
    rather than merely posted) holds an SDR's work, so it is the one kept.
    """
    statement = (
        select(Mql)
        .where(Mql.lead_id.in_((keep.id, other.id)), Mql.status != "closed")
        .with_for_update()
    )
    open_mqls = {mql.lead_id: mql for mql in session.scalars(statement)}
    if len(open_mqls) < 2:
        return None

    kept, closed = open_mqls[keep.id], open_mqls[other.id]
    if MQL_PROGRESS.get(closed.status, 0) > MQL_PROGRESS.get(kept.status, 0):
        kept, closed = closed, kept
    closed.status = "closed"
    session.flush()
    return closed


def _move_rows(from_id: int, to_id: int, *, session: Session) -> dict[str, int]:
    # Answers hang off their interview and handoffs off their decision, so
    # moving the rows that carry a lead_id moves everything.
    moved = {}
    for table, model in (
        ("events", Event),
        ("identities", LeadIdentity),
        ("interviews", Interview),
        ("decisions", Decision),
        ("handoffs", Handoff),
        ("mqls", Mql),
        ("moments", LeadMoment),
    ):
        statement = (
            update(model)
            .where(model.lead_id == from_id)
            .values(lead_id=to_id)
            .execution_options(synchronize_session=False)
        )
        moved[table] = session.execute(statement).rowcount
    return moved


def _fill_fields(keep: Lead, other: Lead) -> tuple[list[str], list[str]]:
    filled, differing = [], []
    for name in MERGED_FIELDS:
        ours, theirs = getattr(keep, name), getattr(other, name)
        if theirs in (None, ""):
            continue
        if ours in (None, "") or _is_weaker_domain(name, ours, theirs):
            setattr(keep, name, theirs)
            filled.append(name)
        elif ours != theirs:
            differing.append(name)
    return filled, differing


def _is_weaker_domain(name: str, ours, theirs) -> bool:
    # The importer takes a lead's domain from its address when the file has
    # none, which for gmail.com says nothing about the company.
    return (
        name == "domain" and is_personal_domain(ours) and not is_personal_domain(theirs)
    )


def _take_address(
    keep: Lead, other: Lead, *, session: Session, now: datetime
) -> str | None:
    """Delete `other`; its address becomes keep's email or keep's identity."""
    address = other.email
    session.delete(other)
    session.flush()
    if not address:
        return None

    if not keep.email:
        keep.email = address
    elif len(address) <= MAX_IDENTITY:
        session.execute(
            delete(LeadIdentity).where(
                LeadIdentity.kind == EMAIL_IDENTITY, LeadIdentity.value == address
            )
        )
        session.add(
            LeadIdentity(
                kind=EMAIL_IDENTITY, value=address, lead_id=keep.id, created_at=now
            )
        )
    else:
        return None
    session.flush()
    return address


def _deletes(lead_id: int):
    """(table, DELETE) in the order foreign keys allow: children first."""
    interview_ids = select(Interview.id).where(Interview.lead_id == lead_id)
    decision_ids = select(Decision.id).where(
        or_(Decision.lead_id == lead_id, Decision.interview_id.in_(interview_ids))
    )
    return [
        (
            "handoffs",
            delete(Handoff).where(
                or_(Handoff.lead_id == lead_id, Handoff.decision_id.in_(decision_ids))
            ),
        ),
        ("decisions", delete(Decision).where(Decision.id.in_(decision_ids))),
        ("answers", delete(Answer).where(Answer.interview_id.in_(interview_ids))),
        ("interviews", delete(Interview).where(Interview.lead_id == lead_id)),
        ("mqls", delete(Mql).where(Mql.lead_id == lead_id)),
        ("moments", delete(LeadMoment).where(LeadMoment.lead_id == lead_id)),
        ("events", delete(Event).where(Event.lead_id == lead_id)),
        ("identities", delete(LeadIdentity).where(LeadIdentity.lead_id == lead_id)),
        ("leads", delete(Lead).where(Lead.id == lead_id)),
    ]


def _slack_messages(lead_id: int, *, session: Session) -> list[SlackMessage]:
    """Every message Qualify recorded posting about the lead."""
    mqls = session.scalars(select(Mql).where(Mql.lead_id == lead_id).order_by(Mql.id))
    return [
        *_mql_posts(mqls),
        *_interview_posts(lead_id, session=session),
        *_decision_posts(lead_id, session=session),
        *_handoff_posts(lead_id, session=session),
    ]


def _mql_posts(mqls) -> list[SlackMessage]:
    return [
        SlackMessage(f"MQL {mql.id} queue post", mql.channel_id, mql.message_ts)
        for mql in mqls
        if mql.message_ts
    ]


def _handoff_posts(lead_id: int, *, session: Session) -> list[SlackMessage]:
    handoffs = session.scalars(
        select(Handoff).where(Handoff.lead_id == lead_id).order_by(Handoff.id)
    )
    messages = []
    for handoff in handoffs:
        if handoff.dm_ts:
            what = f"handoff DM to {handoff.ae_user_id}"
            messages.append(SlackMessage(what, handoff.dm_channel_id, handoff.dm_ts))
        if handoff.channel_ts:
            messages.append(
                SlackMessage("handoff post", handoff.channel_id, handoff.channel_ts)
            )
    return messages


def _interview_posts(lead_id: int, *, session: Session) -> list[SlackMessage]:
    """The questions and reviews in the SDRs' DMs, which name the lead."""
    interviews = session.scalars(
        select(Interview).where(Interview.lead_id == lead_id).order_by(Interview.id)
    )
    messages = []
    for interview in interviews:
        answers = session.scalars(
            select(Answer)
            .where(Answer.interview_id == interview.id, Answer.question_ts.is_not(None))
            .order_by(Answer.id)
        )
        to = f"to {interview.sdr_user_id}"
        messages += [
            SlackMessage(
                f"question ({answer.criterion}) {to}",
                interview.dm_channel_id,
                answer.question_ts,
            )
            for answer in answers
        ]
        if interview.review_ts:
            messages.append(
                SlackMessage(
                    f"review {to}", interview.dm_channel_id, interview.review_ts
                )
            )
    return messages


def _decision_posts(lead_id: int, *, session: Session) -> list[SlackMessage]:
    decisions = session.scalars(
        select(Decision).where(Decision.lead_id == lead_id).order_by(Decision.id)
    )
    return [
        SlackMessage(
            f"decision post ({decision.outcome})",
            decision.channel_id,
            decision.message_ts,
            decision.permalink,
        )
        for decision in decisions
        if decision.message_ts or decision.permalink
    ]
