"""The digest chart: a PNG Slack can preview, in colour-blind-safe colours."""

import io
import struct
from datetime import date, timedelta

from matplotlib.colors import to_hex
from matplotlib.image import imread

from bot.chart import PALETTE, build_figure, chart_title, render_chart
from bot.domain.digest_series import Series

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAYS = [date(2026, 3, 18) + timedelta(days=n) for n in range(14)]
ZEROS = [0] * 14


def busy_series() -> Series:
    return Series(
        days=DAYS,
        mqls=[8, 12, 9, 0, 0, 11, 14, 10, 9, 13, 0, 0, 7, 12],
        sqls=[3, 5, 4, 0, 0, 6, 7, 5, 3, 6, 0, 0, 2, 5],
        accepted=[2, 4, 3, 0, 0, 5, 6, 4, 2, 5, 0, 0, 1, 4],
        meetings=[1, 2, 2, 0, 0, 3, 4, 2, 1, 3, 0, 0, 1, 2],
        sla_met=[5, 6, 7, 0, 0, 8, 6, 5, 7, 6, 0, 0, 4, 6],
        sla_late=[1, 0, 2, 0, 0, 1, 2, 0, 1, 1, 0, 0, 1, 0],
        sla_open_past_due=[0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1],
    )


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which always comes first."""
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_chart_is_a_png_of_1200_by_800_under_300_kb():
    png = render_chart(busy_series())

    assert png.startswith(PNG_SIGNATURE)
    assert png_size(png) == (1200, 800)
    assert len(png) < 300_000


def test_the_same_series_draws_the_same_bytes():
    assert render_chart(busy_series()) == render_chart(busy_series())


def test_every_series_is_drawn_in_an_okabe_ito_colour():
    figure = build_figure(busy_series())
    funnel, sla = figure.axes

    line_colours = [to_hex(line.get_color()).upper() for line in funnel.lines]
    bar_colours = {to_hex(bar.get_facecolor()).upper() for bar in sla.patches}

    assert line_colours == list(PALETTE)
    assert bar_colours == {PALETTE[0]}


def test_the_palette_colours_reach_the_pixels():
    pixels = imread(io.BytesIO(render_chart(busy_series())))
    seen = {
        "#{:02X}{:02X}{:02X}".format(*(round(c * 255) for c in pixel[:3]))
        for pixel in pixels.reshape(-1, pixels.shape[-1])[::7]
    }

    assert set(PALETTE) <= seen


def test_a_series_with_no_data_draws_zeros_and_says_so():
    empty = Series(DAYS, ZEROS, ZEROS, ZEROS, ZEROS, ZEROS, ZEROS, ZEROS)

    figure = build_figure(empty)
    png = render_chart(empty)

    funnel, sla = figure.axes
    assert [list(line.get_ydata()) for line in funnel.lines] == [ZEROS] * 4
    notes = [text.get_text() for axes in figure.axes for text in axes.texts]
    assert notes.count("No activity in these 14 days") == 2
    assert len(sla.patches) == 0
    assert png_size(png) == (1200, 800)


def test_days_without_clocks_get_a_dash_not_a_zero_bar():
    figure = build_figure(busy_series())

    _, sla = figure.axes

    assert len(sla.patches) == 10
    assert [text.get_text() for text in sla.texts] == ["–"] * 4


def test_title_names_the_date_range_with_each_month_once():
    assert chart_title(DAYS) == "Funnel and SLAs, 18 – 31 March 2026"
    assert chart_title([date(2026, 2, 25), date(2026, 3, 10)]) == (
        "Funnel and SLAs, 25 Feb – 10 Mar 2026"
    )
    assert chart_title([date(2026, 12, 25), date(2027, 1, 7)]) == (
        "Funnel and SLAs, 25 Dec 2026 – 7 Jan 2027"
    )
