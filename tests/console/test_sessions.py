"""Operator sessions in the console, with two (or three) real Chromium pages on two tokens:
one drives, the others watch; the second is refused while the first drives, asks, and is
handed control from the first page; an admin takes over at once; an e-stop from a watcher
stops a driving robot; a guest link made in the console opens it view-only, and its token
cannot drive, clear an e-stop or reach another robot; an expired link is refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from robot.contracts import access
from tests.support.console import console_url, open_console, token_with, wait_for_path
from tests.support.http import post
from tests.support.stack import RecordingStack

Page = Any


def session_says(**wanted: object) -> Callable[[dict], bool]:
    return lambda m: (
        m.get("type") == "state"
        and all((m.get("session") or {}).get(key) == value for key, value in wanted.items())
    )


def moving(m: dict) -> bool:
    return m.get("type") == "state" and m["wheels"]["left"] != 0


@pytest.fixture
def open_as(browser: Any, stack: RecordingStack) -> Iterator[Callable[..., Page]]:
    """Open a console page signed in as ``subject`` with ``scopes``, peer to peer."""
    opened: list[Page] = []

    def open_page(subject: str, *scopes: str) -> Page:
        token = token_with(stack, *(scopes or (access.SCOPE_DRIVE,)), subject=subject)
        page = open_console(browser, console_url(stack, token))
        wait_for_path(page, "datachannel")
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.close()
    # The next test starts with the wheels stopped, the latch clear and the lease free.
    root = {"Authorization": f"Bearer {token_with(stack, access.SCOPE_ADMIN, subject='root')}"}
    for action in ("clear_estop", "take_control", "release_control"):
        post(stack.url + "/publish", {"action": action}, root)
    stack.wait_for_telemetry(session_says(driver=None), timeout=5)


def shows(page: Page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector).textContent.includes(text)",
        arg=[selector, text],
        timeout=10_000,
    )


def test_the_second_is_refused_asks_and_is_handed_control_from_the_first_page(
    open_as: Callable[..., Page], stack: RecordingStack
) -> None:
    alice, bob = open_as("alice"), open_as("bob")
    stack.drain_telemetry()
    alice.keyboard.down("ArrowUp")
    stack.wait_for_telemetry(lambda m: moving(m) and session_says(driver="alice")(m), timeout=5)
    shows(alice, "#s-role", "driving")
    shows(bob, "#s-role", "watching")
    shows(bob, "#s-driver", "alice")
    shows(alice, "#s-watchers", "bob")

    bob.keyboard.down("ArrowDown")
    refused = stack.wait_for_telemetry(lambda m: m.get("kind") == "lease", timeout=5)
    bob.keyboard.up("ArrowDown")
    assert '"alice" drives' in refused["reason"] and refused["path"] == "datachannel"
    shows(bob, "#t-rejected", "alice")
    alice.keyboard.up("ArrowUp")

    bob.click("#request-control")
    bob.wait_for_selector("#requested", state="visible")
    alice.wait_for_selector("#handover", state="visible", timeout=10_000)
    shows(alice, "#handover-text", "bob asks for control")
    alice.click("#accept-control")
    stack.wait_for_telemetry(session_says(driver="bob", requested_by=None), timeout=5)
    shows(bob, "#s-role", "driving")
    shows(alice, "#s-driver", "bob")

    stack.drain_telemetry()
    bob.keyboard.down("ArrowUp")
    stack.wait_for_telemetry(lambda m: moving(m) and session_says(driver="bob")(m), timeout=5)
    bob.keyboard.up("ArrowUp")


def test_a_declined_request_keeps_the_driver(open_as: Callable[..., Page], stack) -> None:
    alice, bob = open_as("alice"), open_as("bob")
    alice.keyboard.press("ArrowUp")
    stack.wait_for_telemetry(session_says(driver="alice"), timeout=5)
    bob.click("#request-control")
    alice.wait_for_selector("#handover", state="visible", timeout=10_000)
    alice.click("#decline-control")
    stack.wait_for_telemetry(session_says(driver="alice", requested_by=None), timeout=5)
    bob.wait_for_selector("#request-control", state="visible", timeout=10_000)


def test_an_admin_takes_over_at_once(open_as: Callable[..., Page], stack) -> None:
    alice, root = open_as("alice"), open_as("root", access.SCOPE_ADMIN)
    stack.drain_telemetry()
    alice.keyboard.down("ArrowUp")
    stack.wait_for_telemetry(lambda m: moving(m) and session_says(driver="alice")(m), timeout=5)
    root.wait_for_selector("#take-control", state="visible", timeout=10_000)
    root.click("#take-control")
    taken = stack.wait_for_telemetry(session_says(driver="root"), timeout=5)
    # Stopped as the lease changed hands (or, on a busy machine, by alice's TTL just before).
    assert taken["wheels"] == {"left": 0.0, "right": 0.0}
    # alice's key is still down: each of its commands is refused now
    stack.wait_for_telemetry(lambda m: m.get("kind") == "lease", timeout=5)
    alice.keyboard.up("ArrowUp")
    shows(alice, "#s-driver", "root")


def test_an_estop_from_a_watcher_stops_a_driving_robot(open_as: Callable[..., Page], stack) -> None:
    alice, bob = open_as("alice"), open_as("bob")
    stack.drain_telemetry()
    alice.keyboard.down("ArrowUp")
    stack.wait_for_telemetry(moving, timeout=5)
    bob.click("#estop")
    stopped = stack.wait_for_telemetry(
        lambda m: m.get("type") == "state" and (m.get("estop") or {}).get("latched"), timeout=5
    )
    alice.keyboard.up("ArrowUp")
    assert stopped["wheels"] == {"left": 0.0, "right": 0.0}
    assert stopped["estop"]["by"] == "bob"
    assert stopped["session"]["driver"] == "alice"  # a stop takes nobody's lease


def test_a_guest_link_made_in_the_console_opens_it_view_only(
    open_as: Callable[..., Page], browser: Any, stack: RecordingStack
) -> None:
    root, alice = open_as("root", access.SCOPE_ADMIN), open_as("alice")
    root.fill("#guest-name", "Ann")
    root.click("#invite button")
    root.wait_for_selector("#guest-link", state="visible", timeout=10_000)
    link = root.input_value("#guest-link")
    assert link.startswith(f"{stack.url}/#token=")
    guest_token = link.split("#token=", 1)[1]

    guest = open_console(browser, link)
    try:
        wait_for_path(guest, "datachannel")
        guest.wait_for_selector("#guest-badge", state="visible")
        shows(guest, "#who", "Ann")
        shows(guest, "#path", "watching only")
        assert guest.is_hidden("#controls") and guest.is_hidden("#safety")
        shows(guest, "#s-role", "watching only")
        shows(alice, "#s-watchers", "Ann")
        assert alice.is_visible("#s-watchers .badge.guest")

        for count, action in enumerate(("forward", "clear_estop", "request_control"), 1):
            assert guest.evaluate(f"window.robotConsole.send({{action: '{action}'}})") == (
                "datachannel"
            )
            # The robot answers a refused console alone, on its own channel.
            guest.wait_for_function(
                f"window.robotConsole.state.rejections.length >= {count}", timeout=5_000
            )
            refused = guest.evaluate("window.robotConsole.state.rejections.at(-1)")
            assert refused["kind"] == "access", refused
    finally:
        guest.close()
    bearer = {"Authorization": f"Bearer {guest_token}"}
    assert post(stack.url + "/publish", {"action": "forward"}, bearer)[0] == 403
    assert post(f"{stack.url}/robots/{stack.thing_name}-2/viewer", {}, bearer)[0] == 403
    assert post(f"{stack.url}/robots/{stack.thing_name}/guests", {"name": "B"}, bearer)[0] == 403


def test_an_expired_guest_link_is_refused(browser: Any, stack: RecordingStack) -> None:
    expired = stack.expired_guest_token()
    page = browser.new_page()
    try:
        page.goto(f"{stack.url}/#token={expired}")
        page.wait_for_selector("#sign-in", state="visible", timeout=10_000)
        shows(page, "#sign-in-error", "expired")
        assert page.is_hidden("#console")
    finally:
        page.close()
    bearer = {"Authorization": f"Bearer {expired}"}
    assert post(stack.url + "/viewer", {}, bearer)[0] == 401
