"""`make demo`: the sample lead goes through the SDR queue before its interview."""

import subprocess
import sys


def test_the_demo_lead_is_posted_to_the_queue_and_claimed_before_the_interview(
    tmp_path,
):
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    posted = out.index("┌─ #sdr-queue ──")
    claimed = out.index("sam (SDR) clicks: Claim")
    updated = out.index("┌─ #sdr-queue (message updated)")
    qualify = out.index("sam (SDR) types: /qualify dana@northwind.example")
    assert posted < claimed < updated < qualify
    assert "== MQL: Dana Lee (Northwind) ==" in out
    assert "Claimed by @sam (SDR)" in out
    assert "Dana Lee (Northwind) is yours." in out
