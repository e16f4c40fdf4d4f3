"""`robot sim` as a newcomer runs it: default state folder, the printed curl line, Ctrl-C."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.http import get, request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_banner(process: subprocess.Popen[str], deadline_s: float = 20) -> str:
    """stdout up to the banner's last line."""
    lines: list[str] = []
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C stops everything"):
            return "".join(lines)
    raise AssertionError("no banner from robot sim:\n" + "".join(lines))


def curl_request(banner: str) -> tuple[str, str, dict[str, str]]:
    """The (url, body, headers) of the curl line the banner prints."""
    match = re.search(r"^  (curl -d .*?/publish)$", banner, re.M | re.S)
    assert match, banner
    words = shlex.split(match.group(1).replace("\\\n", " "))
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    return words[-1], words[words.index("-d") + 1], headers


def test_robot_sim_drives_with_its_printed_curl_line_and_stops_clean(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "robot.cli", "sim", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
        start_new_session=True,
    )
    try:
        banner = read_banner(process)
        url, body, headers = curl_request(banner)
        assert url == f"http://127.0.0.1:{port}/publish"
        # The viewer page's address carries the same token, in its fragment.
        viewer = re.search(r"^  (http://\S+/)#token=(\S+)$", banner, re.M)
        assert viewer, banner
        assert f"Bearer {viewer.group(2)}" == headers["Authorization"]
        with urllib.request.urlopen(viewer.group(1), timeout=5) as page:
            assert b"<video" in page.read()
        status, _, answer = request("POST", url, body.encode(), headers)
        assert status == 200, answer
        # Two more operators, for the hand-over: another driver and an administrator, who
        # may make a guest link.
        tokens = re.findall(r"^  http://\S+/#token=(\S+)$", banner, re.M)
        assert len(tokens) == 3 and len(set(tokens)) == 3
        admin = {"Authorization": f"Bearer {tokens[2]}", "Content-Type": "application/json"}
        status, _, link = request(
            "POST", f"http://127.0.0.1:{port}/robots/sim-robot/guests", b'{"name": "Ann"}', admin
        )
        assert status == 200 and link["url"].startswith(f"http://127.0.0.1:{port}/#token="), link
        deadline = time.monotonic() + 5
        telemetry = f"http://127.0.0.1:{port}/telemetry"
        while get(telemetry, headers)[2].get("pose", {}).get("x", 0) <= 0:
            assert time.monotonic() < deadline, "the robot never moved"
            time.sleep(0.05)
        assert (tmp_path / ".sim" / "config.json").exists()  # the default state folder
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert process.wait(timeout=20) == 0
    assert processes_mentioning(str(tmp_path)) == [], "processes left behind"


def processes_mentioning(text: str) -> list[str]:
    """Command lines of running processes that contain ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if text in args:
            found.append(args)
    return found
