"""Uploading the digest chart through Slack's external upload flow."""

import pytest

from bot.chart import render_chart
from bot.slack.poster import PostError, SlackPoster, make_web_client
from tests.test_chart import busy_series

CHANNEL = "C0DIGEST01"


@pytest.fixture
def poster(fake_slack):
    client = make_web_client("xoxb-test", f"{fake_slack.base_url}api/")
    return SlackPoster(client)


def test_chart_goes_through_upload_url_then_completes_in_the_channel(
    fake_slack, poster
):
    png = render_chart(busy_series())

    file_id = poster.upload_file(
        CHANNEL,
        "digest-2026-03-31.png",
        png,
        "Funnel and SLAs, 18 – 31 March 2026",
        initial_comment="The last 14 days",
    )

    methods = [call.method for call in fake_slack.calls]
    assert methods == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    reserved = fake_slack.calls[0].args
    assert reserved["filename"] == "digest-2026-03-31.png"
    assert int(reserved["length"]) == len(png)
    [shared] = fake_slack.files_in(CHANNEL)
    assert shared.id == file_id
    assert shared.content == png
    assert shared.title == "Funnel and SLAs, 18 – 31 March 2026"
    assert shared.initial_comment == "The last 14 days"
    assert fake_slack.pending_uploads == {}


def test_upload_in_a_thread_carries_the_thread_ts(fake_slack, poster):
    poster.upload_file(
        CHANNEL, "chart.png", b"\x89PNG-bytes", "Chart", thread_ts="1700000000.000001"
    )

    [shared] = fake_slack.files_in(CHANNEL)
    assert shared.thread_ts == "1700000000.000001"


def test_a_channel_name_is_refused_and_nothing_is_shared(fake_slack, poster):
    with pytest.raises(PostError) as raised:
        poster.upload_file("#digest", "chart.png", b"\x89PNG-bytes", "Chart")

    assert raised.value.code == "invalid_arguments"
    assert fake_slack.files == []


def test_a_missing_scope_is_reported_with_slacks_error(fake_slack, poster):
    fake_slack.fail("files.getUploadURLExternal", "missing_scope")

    with pytest.raises(PostError) as raised:
        poster.upload_file(CHANNEL, "chart.png", b"\x89PNG-bytes", "Chart")

    assert raised.value.code == "missing_scope"
    assert [call.method for call in fake_slack.calls] == ["files.getUploadURLExternal"]


def test_the_fake_refuses_a_reservation_without_a_filename_or_length(fake_slack):
    assert fake_slack.handle("files.getUploadURLExternal", {"length": "10"}) == {
        "ok": False,
        "error": "invalid_arguments",
    }
    assert fake_slack.handle(
        "files.getUploadURLExternal", {"filename": "chart.png"}
    ) == {"ok": False, "error": "invalid_arguments"}


def test_the_fake_refuses_to_complete_a_file_whose_bytes_never_came(fake_slack):
    reserved = fake_slack.handle(
        "files.getUploadURLExternal", {"filename": "chart.png", "length": "10"}
    )

    answer = fake_slack.handle(
        "files.completeUploadExternal",
        {"files": f'[{{"id": "{reserved["file_id"]}"}}]', "channel_id": CHANNEL},
    )

    assert answer == {"ok": False, "error": "file_not_found"}
    assert fake_slack.handle("files.completeUploadExternal", {}) == {
        "ok": False,
        "error": "invalid_arguments",
    }
