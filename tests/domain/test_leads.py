import pytest

from bot.db import session_scope
from bot.domain.leads import LeadInputError, create_lead, find_leads
from bot.models import Lead
from tests.factories import add_lead


def found(engine, query: str) -> list[tuple[str | None, str]]:
    with session_scope(engine) as session:
        return [
            (lead.email, lead.company) for lead in find_leads(query, session=session)
        ]


@pytest.fixture
def leads(engine):
    add_lead(engine)
    add_lead(
        engine,
        email="sam@northwind.example",
        name="Sam Ortiz",
        company="Northwind",
    )
    add_lead(
        engine,
        email="lee@nwtraders.example",
        name="Lee Park",
        company="Northwind Traders",
        domain="nwtraders.example",
    )
    add_lead(
        engine,
        email="bo@globex.example",
        name="Bo Chen",
        company="Globex",
        domain="globex.example",
    )
    return engine


@pytest.mark.parametrize(
    "query", ["dana@northwind.example", "  Dana@Northwind.EXAMPLE  "]
)
def test_email_finds_the_one_lead_ignoring_case_and_spaces(leads, query):
    matches = found(leads, query)

    assert matches == [("dana@northwind.example", "Northwind")]


@pytest.mark.parametrize(
    "query",
    ["globex.example", "Globex.Example", "https://www.Globex.example/pricing"],
)
def test_domain_finds_the_lead_also_from_a_url(leads, query):
    matches = found(leads, query)

    assert matches == [("bo@globex.example", "Globex")]


def test_domain_with_several_leads_finds_each_of_them(leads):
    matches = found(leads, "https://www.Northwind.example/pricing")

    assert matches == [
        ("dana@northwind.example", "Northwind"),
        ("sam@northwind.example", "Northwind"),
    ]


def test_exact_company_name_wins_over_partial_matches(leads):
    matches = found(leads, "NORTHWIND")

    assert [company for _, company in matches] == ["Northwind", "Northwind"]


def test_partial_company_name_finds_every_company_containing_it(leads):
    matches = found(leads, "wind")

    assert matches == [
        ("dana@northwind.example", "Northwind"),
        ("sam@northwind.example", "Northwind"),
        ("lee@nwtraders.example", "Northwind Traders"),
    ]


def test_partial_person_name_finds_the_lead(leads):
    matches = found(leads, "ortiz")

    assert matches == [("sam@northwind.example", "Northwind")]


def test_like_wildcards_typed_by_an_sdr_match_literally(leads):
    matches = found(leads, "%")

    assert matches == []


@pytest.mark.parametrize(
    "query", ["initech", "nobody@initech.example", "initech.example", "   "]
)
def test_query_matching_nothing_finds_no_lead(leads, query):
    matches = found(leads, query)

    assert matches == []


def test_create_lead_stores_the_company_and_normalised_domain(engine):
    with session_scope(engine) as session:
        lead_id = create_lead(
            "  Contoso ", "https://www.Contoso.example/about", session=session
        ).id

    with session_scope(engine) as session:
        lead = session.get(Lead, lead_id)
        assert (lead.company, lead.domain, lead.email) == (
            "Contoso",
            "contoso.example",
            None,
        )


@pytest.mark.parametrize(
    ("company", "domain", "field", "message"),
    [
        ("  ", "contoso.example", "company", "Enter the company's name."),
        ("Contoso", "contoso", "domain", "Enter a domain like acme.com."),
        ("Contoso", "not a domain.com", "domain", "Enter a domain like acme.com."),
        ("Contoso", "", "domain", "Enter a domain like acme.com."),
    ],
)
def test_create_lead_refuses_bad_input_naming_the_field(
    engine, company, domain, field, message
):
    with pytest.raises(LeadInputError) as caught, session_scope(engine) as session:
        create_lead(company, domain, session=session)

    assert (caught.value.field, str(caught.value)) == (field, message)
    with session_scope(engine) as session:
        assert find_leads("Contoso", session=session) == []


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("Straße AG", "Straße AG"),
        ("Straße AG", "straße ag"),
        ("Ärzte Zentrum", "ÄRZTE ZENTRUM"),
    ],
)
def test_company_names_with_non_ascii_letters_match_in_any_case(engine, stored, typed):
    add_lead(engine, email=None, company=stored, domain="example.de")

    with session_scope(engine) as session:
        found = [lead.company for lead in find_leads(typed, session=session)]

    assert found == [stored]
