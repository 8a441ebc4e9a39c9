"""Finding the lead an SDR means, and creating one when none is stored."""

import re

from sqlalchemy import func, or_, select
from sqlmodel import Session

from bot.db import utcnow
from bot.models import Lead

DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
# One more than the picker shows, so that it can tell there are more.
MAX_MATCHES = 11


class LeadInputError(ValueError):
    """A company or domain typed by an SDR that cannot be stored."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalise_domain(value: str) -> str:
    """'https://www.Acme.com/pricing' -> 'acme.com'."""
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z]+://", "", domain).split("/")[0].split("@")[-1]
    return domain.removeprefix("www.")


def find_leads(query: str, *, session: Session) -> list[Lead]:
    """Leads matching an email, a domain or a company name, best matches first."""
    query = query.strip()
    if not query:
        return []
    if "@" in query:
        statement = select(Lead).where(Lead.email == query.lower())
        return list(session.scalars(statement))

    domain = normalise_domain(query)
    if DOMAIN.match(domain):
        statement = select(Lead).where(Lead.domain == domain).order_by(Lead.id)
        matches = list(session.scalars(statement.limit(MAX_MATCHES)))
        if matches:
            return matches

    # lower(), not casefold(): it must equal what SQL's lower() gives.
    name = query.lower()
    exact = select(Lead).where(func.lower(Lead.company) == name).order_by(Lead.id)
    matches = list(session.scalars(exact.limit(MAX_MATCHES)))
    if matches:
        return matches
    pattern = f"%{_escape_like(name)}%"
    partial = (
        select(Lead)
        .where(
            or_(
                func.lower(Lead.company).like(pattern, escape="\\"),
                func.lower(Lead.name).like(pattern, escape="\\"),
            )
        )
        .order_by(Lead.company, Lead.id)
    )
    return list(session.scalars(partial.limit(MAX_MATCHES)))


def find_company_lead(company: str, domain: str, *, session: Session) -> Lead | None:
    """A stored lead of this company at this domain, if any."""
    statement = select(Lead).where(
        Lead.domain == normalise_domain(domain),
        func.lower(Lead.company) == company.strip().lower(),
    )
    return session.scalars(statement.order_by(Lead.id).limit(1)).first()


def create_lead(company: str, domain: str, *, session: Session) -> Lead:
    """Store a lead an SDR named that no import brought in."""
    company = company.strip()
    if not company:
        raise LeadInputError("company", "Enter the company's name.")
    domain = normalise_domain(domain)
    if not DOMAIN.match(domain):
        raise LeadInputError("domain", "Enter a domain like acme.com.")

    now = utcnow()
    lead = Lead(company=company, domain=domain, created_at=now, updated_at=now)
    session.add(lead)
    session.flush()
    return lead


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
