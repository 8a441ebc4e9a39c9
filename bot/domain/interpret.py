"""Reading what an SDR typed as a proposed level, with the words that justify it.

The offline interpreter is a set of deterministic rules per criterion. It never
guesses: when nothing in the text speaks to a criterion it proposes no level,
and when the words are weak it says so through a low confidence and a
follow-up question.
"""

import json
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from dateparser.search import search_dates
from dateutil.relativedelta import relativedelta

OFFLINE = "offline"
# Below this the conversation asks the follow-up instead of proposing.
CONFIDENT = 0.6

FOLLOW_UPS = {
    "pain": "What does the problem cost them today: time, money or errors?",
    "budget": "Is that budget approved, or only planned?",
    "authority": "Who signs off on this, and have we spoken to them?",
    "timeline": "When do they need it in place, roughly?",
}

# Common slips, so that "buget aproved" reads as what was meant.
TYPOS = {
    r"\bbuget\b|\bbudjet\b|\bbudgt\b": "budget",
    r"\baproved\b|\bapprovd\b|\bapporved\b": "approved",
    r"\balocated\b|\ballocted\b": "allocated",
    r"\bnxt\b": "next",
    r"\bqtr\b": "quarter",
    r"\bmnths?\b": "months",
    r"\bwks?\b": "weeks",
    r"\bdecison\b|\bdecsion\b": "decision",
    r"\b(dont|didnt|couldnt|wouldnt|isnt|doesnt|cant|wont|hasnt|havent)\b": None,
    r"\bw\b": "with",
    r"\bthru\b": "through",
    r"\brn\b": "right now",
}
APOSTROPHE = {
    "dont": "don't", "didnt": "didn't", "couldnt": "couldn't", "wouldnt": "wouldn't",
    "isnt": "isn't", "doesnt": "doesn't", "cant": "can't", "wont": "won't",
    "hasnt": "hasn't", "havent": "haven't",
}  # fmt: skip
# Punctuation followed by a space ends a clause; "€40.000" or "3.5" does not.
CLAUSE_START = re.compile(r"[.;!?,](?=\s)")
SENTENCE_END = re.compile(r"[.;!?](?=\s|$)")
NEGATION = re.compile(r"\b(no|not|never|without|n't|nothing|nobody|isn't|aren't)\b")
AMOUNT = re.compile(
    r"(?:[$€£]\s?\d[\d,.]*\s?(?:k|m|mm|million|thousand)?\b"
    r"|\b\d[\d,.]*\s?(?:k|m|million|thousand)?\s?(?:usd|eur|gbp|dollars|euros|pounds|€|\$)"
    r"|\b\d[\d,.]*\s?k\b|\bsix figures\b|\bfive figures\b|\bseven figures\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Proposal:
    criterion: str
    level: int | None
    evidence: str
    confidence: float
    follow_up: str = ""
    interpreter: str = OFFLINE

    @property
    def is_confident(self) -> bool:
        return self.level is not None and self.confidence >= CONFIDENT

    def as_dict(self) -> dict:
        return asdict(self)


class Interpreter(Protocol):
    def interpret(self, criterion: str, text: str, today: date) -> Proposal: ...

    def write_brief(self, notes: dict[str, str]) -> str | None: ...


class OfflineInterpreter:
    """Rules for pain, budget, authority and timeline; no network, no key."""

    name = OFFLINE

    def write_brief(self, notes: dict[str, str]) -> str | None:
        """No prose without a model: the handoff uses its template instead."""
        return None

    def interpret(self, criterion: str, text: str, today: date) -> Proposal:
        """The level `text` supports for `criterion`, as of `today`."""
        rule = RULES.get(criterion)
        if rule is None:
            return _nothing(criterion)
        clean = normalise(text)
        found = rule(clean, today)
        if found is None:
            return _nothing(criterion)
        level, evidence, confidence = found
        follow_up = FOLLOW_UPS[criterion] if confidence < CONFIDENT else ""
        return Proposal(criterion, level, evidence, round(confidence, 2), follow_up)


def normalise(text: str) -> str:
    clean = " ".join(text.lower().split()).replace("’", "'")
    for pattern, word in TYPOS.items():
        replacement = word or (lambda m: APOSTROPHE[m[0]])
        clean = re.sub(pattern, replacement, clean)
    return clean


def _nothing(criterion: str) -> Proposal:
    return Proposal(criterion, None, "", 0.0, FOLLOW_UPS.get(criterion, ""))


def _first(patterns: list[str], text: str) -> re.Match | None:
    matches = [m for p in patterns if (m := re.search(p, text))]
    return min(matches, key=lambda m: m.start()) if matches else None


def _negated(text: str, match: re.Match, window: int = 4) -> bool:
    before = text[: match.start()].split()[-window:]
    return bool(NEGATION.search(" ".join(before)))


def _clause(text: str, match: re.Match) -> str:
    """The words around a match, as the evidence to quote."""
    starts = [m.end() for m in CLAUSE_START.finditer(text, 0, match.start())]
    end = SENTENCE_END.search(text, match.end())
    return text[starts[-1] if starts else 0 : end.start() if end else len(text)].strip()


PAIN_NONE = [
    r"not (really |much of |that much of )?a (big )?(problem|issue|priority|pain)",
    r"\bno (real )?(pain|problem|issues?|urgency)\b",
    r"\b(happy|fine|ok|okay) with (the )?(current|what they have|their)",
    r"\bworks (fine|well)\b",
    r"\bjust (browsing|curious|looking)\b",
    r"\b(don't|doesn't) have (an? |any )?(real )?(issue|problem|pain)",
    r"\bruns? smoothly\b|\brunning smoothly\b",
    r"\bcouldn't name (any|one|a single)",
    r"\bsee what'?s out there\b",
]
PAIN_MILD = [
    r"nice[- ]to[- ]have",
    r"would be nice",
    r"\bminor\b",
    r"\ba bit (annoying|slow|clunky)\b",
    r"\bslightly\b",
    r"\bclunky\b",
    r"\bannoy",
    r"\bno cost\b",
    r"nobody has put a (cost|number)",
    r"\b(it'?d|would) be cool\b",
    r"\bworkaround is (fine|ok|okay)\b",
    r"\bnobody'?s complaining\b|\bno one'?s complaining\b",
    r"\bnot losing anything\b",
]
PAIN_SEVERE = [
    r"\bcritical\b",
    r"\burgent",
    r"killing (us|them)",
    r"\bsevere",
    r"\bdesperate",
    r"\bhuge\b",
    r"\bmassive",
    r"\blosing\b",
    r"\blost\b",
    r"\bmissed (a |the |their )?(deadline|filing|target)",
    r"\bfined\b|\bpenalt",
    r"\bescalat",
    r"\bchurn",
    r"\bburn(ing)? out\b",
    r"\bcan'?t scale\b",
]
PAIN_FELT = [
    r"\bproblem",
    r"\bstruggl",
    r"\bfrustrat",
    r"\bpainful\b|\bpain\b",
    r"\bmanual(ly)?\b",
    r"\btime[- ]consuming\b",
    r"\bcostly\b|\bexpensive\b",
    r"\bslow\b",
    r"\berrors?\b|\bmistakes\b",
    r"\bby hand\b",
    r"\bspreadsheets?\b",
    r"\bbottleneck",
    r"\bcomplain",
    r"\bmess\b",
    r"\bredo\b|\brework\b",
    r"\bdelays?\b",
]
PAIN_NUMBERS = [
    AMOUNT.pattern,
    r"\b\d+(\.\d+)?\s?%",
    r"\b\d+\s?(hours?|hrs|days?|weeks?)\s(a|per|every|each)\s(day|week|month|quarter|year)",
    r"\b\d+\+?\s?(hours?|hrs|days?)\b",
    r"\b(\d+|two|three|four|five|six)\s(people|ftes?|engineers|analysts|staff|reps)\b",
    r"\b\d+\s?(x|times)\b",
]


def _pain(text: str, today: date):
    none = _first(PAIN_NONE, text)
    if none:
        return 0, _clause(text, none), 0.85
    number = _first([p if isinstance(p, str) else p for p in PAIN_NUMBERS], text)
    severe = _first(PAIN_SEVERE, text)
    if severe and _negated(text, severe, window=2):
        severe = None
    felt = _first(PAIN_FELT, text)
    mild = _first(PAIN_MILD, text)
    if mild and not number and not severe:
        return 1, _clause(text, mild), 0.75
    if number and (severe or felt):
        return 3, _clause(text, number), 0.85
    if number:
        return 3, _clause(text, number), 0.65
    if severe:
        return 2, _clause(text, severe), 0.55
    if felt:
        return 2, _clause(text, felt), 0.7
    return None


BUDGET_NONE = [
    r"\bno (real |dedicated |allocated )?(budget|money|funding|funds)\b",
    r"\bbudget (is )?(unknown|unclear|tbd|zero|0)\b",
    r"\b(don'?t|do not|didn'?t) (have|know|mention)( a| any| the)? budget",
    r"\bnot budgeted\b",
    r"\bbudget (was )?(never|not) (came up|discussed|mentioned)",
    r"\bno idea (about|on|of) (the )?budget",
    r"\bbudget never came up\b",
    r"\b(didn't|did not) (get to|talk about|discuss|cover|ask about) (the )?budget",
    r"\bzero budget\b",
    r"\bbudget:? (is )?none\b",
]
BUDGET_ALLOCATED = [
    r"\bapproved\b",
    r"\ballocated\b",
    r"\bsigned off\b",
    r"\bring-?fenced\b",
    r"\bearmarked\b",
    r"\bcommitted\b",
    r"\b(have|has|got) (the |a )?budget\b",
    r"\bbudget is (there|in place|secured|locked)\b",
    r"\bsecured\b",
    r"\bpo (is )?(ready|raised|approved)\b",
]
BUDGET_PLANNED = [
    r"\bplann?ed\b",
    r"\bplanning\b",
    r"\bset aside\b",
    r"\bnext year'?s budget\b",
    r"\bin the plan\b",
    r"\bbudgeting for\b",
    r"\bpending\b",
    r"\bwaiting (for|on) (the )?(cfo'?s? |board'?s? |finance'?s? )?"
    r"(sign-?off|approval)",
    r"\brequested\b",
    r"\bforecast",
    r"\bexpect (to get|to have) budget\b",
]
BUDGET_DISCUSSED = [
    r"\bdiscuss",
    r"\btalking about\b",
    r"\bexploring\b",
    r"\blooking into\b",
    r"\bconsidering\b",
    r"\bwould (have|need) to find\b",
    r"\bneed to find\b",
    r"\bmight\b",
    r"\bmaybe\b",
    r"\bopen to\b",
    r"\bif the (price|numbers?) (is|are) right\b",
    r"\bballpark\b",
    r"\btalk(ing)? to finance\b",
    r"\bwhether they can (fund|afford|pay)",
    r"\bconversation (has )?started\b",
    r"\bearly days\b",
]


def _budget(text: str, today: date):
    none = _first(BUDGET_NONE, text)
    after = text[none.end() :] if none else ""
    contrast = re.match(r"\s*(yet\b|.*\bbut\b)", after)
    if none and not (
        contrast and (_first(BUDGET_PLANNED, after) or _first(BUDGET_DISCUSSED, after))
    ):
        return 0, _clause(text, none), 0.85
    if none:
        # "no budget yet, but they're discussing it": what follows counts.
        text = after
    allocations = [m for p in BUDGET_ALLOCATED for m in re.finditer(p, text)]
    allocated = min(allocations, key=lambda m: m.start()) if allocations else None
    if allocated and not any(_negated(text, m) for m in allocations):
        return 3, _clause(text, allocated), 0.85
    planned = _first(BUDGET_PLANNED, text)
    if planned and _negated(text, planned):
        planned = None
    if allocated or planned:
        # "not approved yet" still means money is on its way.
        match = planned or allocated
        return 2, _clause(text, match), 0.75
    discussed = _first(BUDGET_DISCUSSED, text)
    if discussed:
        return 1, _clause(text, discussed), 0.7
    amount = AMOUNT.search(text)
    if amount:
        return 2, _clause(text, amount), 0.5
    return None


DECIDER = (
    r"(ceo|cfo|cto|coo|cio|cmo|cro|cpo|chief \w+|founder|co-?founder|owner|"
    r"president|vp|vice president|svp|evp|head of \w+|managing director|gm|"
    r"general manager|partner)"
)
AUTHORITY_NONE = [
    r"\bno access\b",
    r"\b(no idea|don'?t know|unclear) who (decides|signs|the decision)",
    r"\bcan'?t (reach|get to|get hold of)\b",
    r"\bgatekeeper\b",
    r"\bintern\b|\bstudent\b",
    r"\bnever (met|spoke|talked)",
    r"\bwon'?t (introduce|connect)",
    r"\bleft the company\b",
    r"\bnobody (else )?(is )?(engaged|involved)\b",
    r"\b(didn't|did not) find out who\b",
    r"\bnot involved in (buying|the decision|purchasing)",
    r"\bno decision[- ]maker (identified|found|yet)\b",
    r"\bwouldn'?t put me through\b",
]
AUTHORITY_SIGNS = [
    r"\b(signs|sign off|signs off|signing off|sign the contract)\b",
    r"\b(decision[- ]maker|final say|final decision|makes the call|budget holder|"
    r"holds the budget|owns the budget|economic buyer)\b",
]
AUTHORITY_CHAMPION = [
    r"\bchampion\b",
    r"\b(will |can |offered to |agreed to |going to )"
    r"(intro|introduce|connect|bring in|loop in|set up)",
    r"\bintro(duction)? to (the |their )?",
    r"\bmeeting with (the |their )?" + DECIDER,
    r"\bbring(ing)? (in )?(the |their )?" + DECIDER,
    r"\bpitch(ing)? it (internally|to)\b",
    r"\bsell(ing)? it internally\b",
    r"'ll (intro|introduce|connect|bring|set up|loop)",
    r"\bwill bring us (in|into)\b",
    r"\b(is )?booking a (call|meeting) with\b",
    r"\bset(ting)? up a (call|meeting) with\b",
    r"\bpushing (hard|for it|for us)\b",
]
AUTHORITY_INFLUENCER = [
    r"\binfluencer\b",
    r"\bneeds? (approval|sign-?off) from\b",
    r"\bhas to (run it by|ask|check with)\b",
    r"\b(analyst|end user|user|engineer|developer|coordinator|specialist|associate)\b",
    r"\brecommend",
    r"\breports? to\b",
    r"\bnot the decision",
    r"\bresearching\b",
    r"\bgathering (info|information|options)\b",
    r"\bmanager\b|\bmgr\b",
    r"\bteam lead\b",
    r"\bcan recommend\b",
    r"\bapproval needed from\b",
    r"\bno intro\b",
]


def _authority(text: str, today: date):
    none = _first(AUTHORITY_NONE, text)
    if none:
        return 0, _clause(text, none), 0.8
    champion = _first(AUTHORITY_CHAMPION, text)
    signs = _first(AUTHORITY_SIGNS, text)
    decider = re.search(r"\b" + DECIDER + r"\b", text)
    needs = re.search(
        r"\bneeds? (approval|sign-?off) from|approval needed from|has to run it by"
        r"|reports? to",
        text,
    )
    influencer = _first(AUTHORITY_INFLUENCER, text)
    if champion:
        return 2, _clause(text, champion), 0.8
    # A decider's title counts when nothing says our contact is someone else.
    if signs and not _negated(text, signs) and not needs and not influencer:
        return 3, _clause(text, signs), 0.85
    if decider and not needs and not influencer and not signs:
        return 3, _clause(text, decider), 0.7
    if influencer or needs or signs:
        match = needs or influencer or signs
        return 1, _clause(text, match), 0.7
    director = re.search(r"\bdirector\b", text)
    if director:
        return 2, _clause(text, director), 0.55
    return None


MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# A season as a deadline means its start: "by summer" is early June.
SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
NUMBER_WORDS = {
    "a": 1, "one": 1, "two": 2, "couple of": 2, "a couple of": 2, "three": 3,
    "few": 3, "a few": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "nine": 9,
    "ten": 10, "twelve": 12, "eighteen": 18,
}  # fmt: skip
TIMELINE_NOW = [
    r"\basap\b",
    r"\bimmediately\b",
    r"\burgent(ly)?\b",
    r"\bright away\b",
    r"\bthis (month|week|quarter)\b",
    r"\b(next|coming) (few )?weeks\b",
    r"\bnext week\b",
    r"\byesterday\b",
    r"\bbefore (the )?(holidays|christmas|year[- ]end)\b",
]
TIMELINE_NEVER = [
    r"\bno (rush|timeline|date|deadline|timeframe|time frame)\b",
    r"\bnot (in )?(a )?(hurry|rush)\b",
    r"\bsomeday\b|\bsome day\b",
    r"\beventually\b",
    r"\bnot (this|next) year\b",
    r"\bin (a few|a couple of|two|2|3|three) years\b",
    r"\bnot for (a while|now)\b",
    r"\blong[- ]term\b",
]


def _timeline(text: str, today: date):
    never = _first(TIMELINE_NEVER, text)
    if never:
        return 0, _clause(text, never), 0.8
    now = _first(TIMELINE_NOW, text)
    found = _deadline(text, today)
    if now and (found is None or now.start() <= found[1].start()):
        return 3, _clause(text, now), 0.85
    if found is None:
        return None
    deadline, match, confidence = found
    span = relativedelta(deadline, today)
    months = span.years * 12 + span.months + span.days / 31
    # A deadline at a month's end counts by its month: "by March" seen in
    # early December is three months away, not four; a year away is 12+.
    level = 3 if months <= 3.5 else 2 if months <= 6.5 else 1 if months < 12 else 0
    return level, _clause(text, match), confidence


DEADLINE_CUE = re.compile(
    r"\b(by|before|until|till|go-?live|live|launch|deadline|need(s|ed)? it|in place"
    r"|kick ?off|start|roll ?out)\b"
)


def _deadline(text: str, today: date):
    """The date the text points at, the words that say it, and a confidence.

    With several dates, the one introduced as a deadline ("go-live by mid
    feb") wins; otherwise the soonest.
    """
    finders = (_quarter, _half, _relative_year, _in_so_many, _month_or_season, _year)
    found = [hit for finder in finders if (hit := finder(text, today))]
    if not found:
        return _parsed_date(text, today)
    cued = [hit for hit in found if _has_cue(text, hit[1])]
    return min(cued or found, key=lambda hit: hit[0])


def _has_cue(text: str, match: re.Match) -> bool:
    before = " ".join(text[: match.end()].split()[-4:])
    return bool(DEADLINE_CUE.search(before))


def _half(text: str, today: date):
    match = re.search(
        r"\b(not before |not until |before |by |in )?h([12])\s?(20\d\d|next year)?",
        text,
    )
    if not match:
        return None
    year = _year_of(match[3], today)
    half = int(match[2])
    if match[1] in ("not before ", "not until "):
        return date(year, 1 if half == 1 else 7, 1), match, 0.8
    return _month_end(year, 6 * half), match, 0.8


def _quarter(text: str, today: date):
    match = re.search(
        r"\b(end of |by |in |during |for |early |late |start of |beginning of )?"
        r"(?:q([1-4])|"
        r"(first|second|third|fourth|next) quarter)(?: of)?"
        r"(?: (next year|this year|20\d\d))?",
        text,
    )
    if not match:
        return None
    words = {"first": 1, "second": 2, "third": 3, "fourth": 4}
    if match[3] == "next":
        current = (today.month - 1) // 3 + 1
        quarter, year = (current % 4) + 1, today.year + (current == 4)
    else:
        quarter = int(match[2]) if match[2] else words[match[3]]
        year = _year_of(match[4], today)
        if year == today.year and quarter * 3 < today.month and not match[4]:
            year += 1
    if match[1] in ("start of ", "beginning of ", "early "):
        return date(year, quarter * 3 - 2, 1), match, 0.85
    return _month_end(year, quarter * 3), match, 0.85


def _relative_year(text: str, today: date):
    match = re.search(
        r"\b(early|beginning of|start of|mid|middle of|late|end of|by the end of)?"
        r"[- ]?(next|this|the) year\b",
        text,
    )
    if not match or (match[2] == "the" and not match[1]):
        return None
    year = today.year + (match[2] == "next")
    month = {
        "early": 2, "beginning of": 1, "start of": 1, "mid": 6, "middle of": 6,
        "late": 11, "end of": 12, "by the end of": 12,
    }.get(match[1] or "", 7 if match[2] == "next" else 12)  # fmt: skip
    return _month_end(year, month), match, 0.8


def _in_so_many(text: str, today: date):
    words = "|".join(sorted(map(re.escape, NUMBER_WORDS), key=len, reverse=True))
    match = re.search(
        rf"\b(?:in|within|next|over the next|around)\s(\d+|{words})\s?"
        r"(days?|weeks?|months?|years?)\b",
        text,
    )
    if not match:
        return None
    count = int(match[1]) if match[1].isdigit() else NUMBER_WORDS[match[1]]
    unit = match[2].rstrip("s")
    days = count * {"day": 1, "week": 7, "month": 30.44, "year": 365.25}[unit]
    try:
        return today + timedelta(days=days), match, 0.85
    except OverflowError:
        return date.max, match, 0.85


def _month_or_season(text: str, today: date):
    names = "|".join(sorted(list(MONTHS) + list(SEASONS), key=len, reverse=True))
    match = re.search(
        r"\b(by|before|in|for|until|around|end of|early|mid|late|this|next)?"
        rf"\s?({names})\b"
        r"(?:\s(next year|this year|20\d\d))?",
        text,
    )
    # "may" is a month only where a date is plainly meant.
    if not match or (match[2] == "may" and not match[1]):
        return None
    month = MONTHS.get(match[2]) or SEASONS[match[2]]
    year = _year_of(match[3], today)
    if not match[3] and (
        month < today.month or (month == today.month and match[1] == "next")
    ):
        year += 1
    if match[2] in SEASONS:
        return date(year, month, 1), match, 0.75
    day = {"early": 10, "mid": 15}.get(match[1] or "")
    deadline = date(year, month, day) if day else _month_end(year, month)
    return deadline, match, 0.8


def _year(text: str, today: date):
    match = re.search(r"\b(20\d\d)\b", text)
    if not match:
        return None
    year = int(match[1])
    return date(year, 6, 30) if year > today.year else date(year, 12, 31), match, 0.7


def _parsed_date(text: str, today: date):
    """What dateparser finds, keeping only matches that really name a time."""
    base = datetime.combine(today, datetime.min.time())
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"}
    found = search_dates(text, languages=["en"], settings=settings) or []
    for words, moment in found:
        if (
            re.search(r"\d|week|month|year|day|tomorrow", words)
            and moment.date() >= today
        ):
            match = re.search(re.escape(words), text)
            if match:
                return moment.date(), match, 0.65
    return None


def _year_of(words: str | None, today: date) -> int:
    if not words or words == "this year":
        return today.year
    if words == "next year":
        return today.year + 1
    return int(words)


def _month_end(year: int, month: int) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


RULES = {
    "pain": _pain,
    "budget": _budget,
    "authority": _authority,
    "timeline": _timeline,
}


class InputError(ValueError):
    """A line of `interpret` input that cannot be read; names the line."""


def parse_request(line: str, number: int, known: set[str]) -> tuple[str, str, date]:
    """One JSON line {"criterion", "text", "date"} as its three values."""
    try:
        data = json.loads(line)
        criterion, text = data["criterion"], data["text"]
        day = date.fromisoformat(data.get("date") or date.today().isoformat())
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InputError(f"line {number}: {_reason(error)}") from None
    if criterion not in known:
        raise InputError(
            f"line {number}: criterion {criterion!r} is not interpreted "
            f"(choose from {', '.join(sorted(known))})"
        )
    if not isinstance(text, str):
        raise InputError(f"line {number}: text must be a string")
    return criterion, text, day


def _reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error.msg})"
    if isinstance(error, KeyError):
        return f"missing key {error.args[0]!r}"
    return f"bad value ({error})"


@dataclass
class Check:
    """How the interpreter did on labelled examples."""

    right: dict[str, int]
    total: dict[str, int]
    misses: list[str]

    @property
    def accuracy(self) -> float:
        return sum(self.right.values()) / max(sum(self.total.values()), 1)


def check_examples(interpreter: Interpreter, lines: list[str]) -> Check:
    """Score every {"text", "date", "expected": {criterion: level}} example."""
    check = Check({}, {}, [])
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        example = json.loads(line)
        day = date.fromisoformat(example["date"])
        for criterion, expected in example["expected"].items():
            proposal = interpreter.interpret(criterion, example["text"], day)
            check.total[criterion] = check.total.get(criterion, 0) + 1
            if proposal.level == expected:
                check.right[criterion] = check.right.get(criterion, 0) + 1
            else:
                check.misses.append(
                    f"line {number} {criterion}: expected {expected}, got "
                    f"{proposal.level} from {example['text']!r}"
                )
    return check
