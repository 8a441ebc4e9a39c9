"""The digest's chart: the funnel and SLA compliance per day, as a PNG.

Drawn on matplotlib's Agg canvas through `Figure` directly, never pyplot, so
that no screen is needed and two threads drawing at once share no state.
Slack shows an image about 360 px wide in the channel, so the figure is
1200 x 800 px with fonts sized to stay legible at that scale, and every
series has a marker or hatch as well as a colour-blind-safe colour.
"""

import io
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.domain.digest_series import Series

# Okabe & Ito's palette, distinguishable with the common colour-vision
# deficiencies.
BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
GREY = "#6E6E6E"
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION)

WIDTH_IN, HEIGHT_IN, DPI = 12, 8, 100
TITLE_PT, LABEL_PT, TICK_PT = 30, 22, 19
CENTRED_NOTE = {"ha": "center", "va": "center", "fontsize": LABEL_PT, "color": GREY}
NO_DATA = "No activity in these {days} days"


def render_chart(series: Series) -> bytes:
    """The series as a 1200 x 800 PNG: the funnel above, SLA compliance below."""
    figure = build_figure(series)

    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    # No "Software" entry: the bytes then depend on the series alone.
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def build_figure(series: Series) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    funnel, sla = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    figure.suptitle(chart_title(series.days), fontsize=TITLE_PT, fontweight="bold")
    positions = list(range(len(series.days)))

    _draw_funnel(funnel, series, positions)
    _draw_compliance(sla, series, positions)

    sla.set_xticks(positions, [f"{day.day}" for day in series.days])
    for axes in (funnel, sla):
        axes.tick_params(labelsize=TICK_PT)
        axes.spines[["top", "right"]].set_visible(False)
        if series.is_empty:
            note = NO_DATA.format(days=len(series.days))
            axes.text(0.5, 0.5, note, transform=axes.transAxes, **CENTRED_NOTE)
    return figure


def chart_title(days: list[date]) -> str:
    """ "Funnel and SLAs, 18 – 31 March 2026", naming each month and year once."""
    first, last = days[0], days[-1]
    if first.year != last.year:
        span = f"{first.day} {first:%b %Y} – {last.day} {last:%b %Y}"
    elif first.month != last.month:
        span = f"{first.day} {first:%b} – {last.day} {last:%b %Y}"
    else:
        span = f"{first.day} – {last.day} {last:%B %Y}"
    return f"Funnel and SLAs, {span}"


def _draw_funnel(axes, series: Series, positions: list[int]) -> None:
    lines = (
        ("MQLs", series.mqls, BLUE, "o", "-"),
        ("SQLs", series.sqls, ORANGE, "s", "--"),
        ("Accepted", series.accepted, GREEN, "^", "-."),
        ("Meetings", series.meetings, VERMILLION, "D", ":"),
    )
    for label, values, colour, marker, style in lines:
        axes.plot(
            positions,
            values,
            label=label,
            color=colour,
            marker=marker,
            linestyle=style,
            linewidth=3.5,
            markersize=10,
        )
    axes.set_ylabel("Leads", fontsize=LABEL_PT)
    axes.set_ylim(bottom=0, top=max(1, *series.mqls, *series.sqls) * 1.3)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    axes.legend(
        loc="upper left",
        ncol=4,
        fontsize=TICK_PT,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.0,
        borderaxespad=0.1,
    )


def _draw_compliance(axes, series: Series, positions: list[int]) -> None:
    compliance = series.compliance
    measured = [
        (x, value)
        for x, value in zip(positions, compliance, strict=True)
        if value is not None
    ]
    axes.bar(
        [x for x, _ in measured],
        [value for _, value in measured],
        color=BLUE,
        width=0.7,
        label="SLA met on time",
    )
    # A day with no clock stopped or overdue is no day of 0 %: it gets a dash.
    for x, value in zip(positions, compliance, strict=True):
        if value is None:
            axes.text(x, 4, "–", ha="center", fontsize=LABEL_PT, color=GREY)
    axes.set_ylim(0, 100)
    axes.set_yticks([0, 50, 100], ["0 %", "50 %", "100 %"])
    axes.set_ylabel("SLA met", fontsize=LABEL_PT)
