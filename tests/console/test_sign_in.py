"""Signing in to the console: the dev token in the address (what `robot sim` prints), a
pasted token, and OIDC authorization code with PKCE against a stand-in identity provider
(Playwright answers the provider's three endpoints; the console's own requests go to the
simulated stack). Signed in, the video of the simulated camera plays with its figures."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cloud.site.app import ConsoleSite, Settings
from robot.cli.sim import viewer_url
from robot.contracts import access
from sim.aws import console_site
from tests.support.console import (
    VIEWPORT,
    console_url,
    open_console,
    token_with,
    wait_for_frames,
)
from tests.support.stack import RecordingStack

ISSUER = "https://idp.example"  # answered by the test, never reached


def test_the_printed_address_signs_in_and_the_video_plays(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    page = open_console(browser, viewer_url(stack))
    pages.append(page)
    wait_for_frames(page, 30)
    size = page.evaluate(
        "(() => { const v = document.getElementById('video');"
        " return [v.videoWidth, v.videoHeight, v.paused]; })()"
    )
    assert size == [640, 480, False]
    assert page.is_visible("#console") and page.is_hidden("#sign-in")
    assert page.text_content("#who").startswith("sim-operator (robot:drive)")
    assert "token=" not in page.url  # the token left the address bar
    page.wait_for_function("window.robotConsole.state.video?.figures", timeout=5_000)
    figures = page.evaluate("window.robotConsole.state.video.figures")
    assert figures["fps"] > 10 and figures["kbps"] > 0 and figures["width"] == 640
    size = f"{figures['width']}\N{MULTIPLICATION SIGN}{figures['height']}"
    assert size in page.text_content("#stats")
    video = stack.wait_for_telemetry(
        lambda m: (m.get("video") or {}).get("state") == "streaming", timeout=10
    )["video"]
    assert video["viewers"] >= 1 and video["producer"] == "python"
    page.reload()  # the token is kept for this tab
    wait_for_frames(page, 1)
    assert page.is_visible("#console")


def test_without_a_token_the_console_asks_for_one(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    page.goto(stack.url + "/")
    page.wait_for_selector("#sign-in", state="visible")
    assert page.is_hidden("#console") and page.is_hidden("#oidc")  # the simulator has no IdP
    page.fill("#token", "not-a-token")
    page.click("#login button")
    assert page.text_content("#sign-in-error") == "that is not a JWT"
    assert page.is_hidden("#console")
    assert stack.identity is not None
    page.fill("#token", stack.identity.token)
    page.click("#login button")
    wait_for_frames(page, 10)
    assert page.is_visible("#console") and page.is_hidden("#sign-in")


def test_sign_in_with_an_identity_provider_uses_pkce(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    assert stack.identity is not None
    issued = stack.identity.token  # what the stand-in provider hands out
    seen: dict[str, Any] = {}
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "*"}

    # The console Lambda as a stack with an identity provider configures it: its settings and
    # the page's policy (which lets the page reach the provider) name the issuer.
    signaling = stack.video.viewer_origin()
    site = ConsoleSite(
        Settings(
            api_url=stack.url,
            oidc_issuer=ISSUER,
            oidc_client_id="console",
            oidc_scopes="openid robot:drive",
            connect_origins=(signaling,),
        )
    )

    def provider(route: Any) -> None:
        url = urlsplit(route.request.url)
        if url.path == "/.well-known/openid-configuration":
            route.fulfill(
                headers=cors,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                },
            )
        elif url.path == "/authorize":
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            seen["authorize"] = query
            back = f"{query['redirect_uri']}?code=the-code&state={query['state']}"
            route.fulfill(status=302, headers={"Location": back})
        elif url.path == "/token" and route.request.method == "POST":
            form = {key: values[0] for key, values in parse_qs(route.request.post_data).items()}
            seen["token"] = form
            route.fulfill(headers=cors, json={"access_token": issued, "token_type": "Bearer"})
        else:
            route.fulfill(status=204, headers=cors)  # CORS preflights

    served = {route: stack.front.lambda_routes[route] for route in console_site.ROUTES}
    stack.front.lambda_routes.update(dict.fromkeys(served, site))
    page.route(f"{ISSUER}/**", provider)
    try:
        page.goto(stack.url + "/")
        with page.expect_navigation(url=lambda url: url.startswith(stack.url + "/?code=")):
            page.click("#oidc")
        wait_for_frames(page, 10)
    finally:
        stack.front.lambda_routes.update(served)

    authorize, exchange = seen["authorize"], seen["token"]
    assert authorize["response_type"] == "code" and authorize["client_id"] == "console"
    assert authorize["scope"] == "openid robot:drive"
    assert authorize["redirect_uri"] == stack.url + "/"
    assert authorize["code_challenge_method"] == "S256"
    digest = hashlib.sha256(exchange["code_verifier"].encode()).digest()
    assert authorize["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert exchange["grant_type"] == "authorization_code" and exchange["code"] == "the-code"
    assert exchange["redirect_uri"] == stack.url + "/"
    assert "code=" not in page.url  # the single-use code left the address bar
    assert page.text_content("#who").startswith("sim-operator")


def test_a_sign_in_that_did_not_start_here_is_refused(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    oidc = {"issuer": ISSUER, "client_id": "console", "scopes": "openid"}
    page.route("**/console/config.json", lambda route: route.fulfill(json={"oidc": oidc}))
    page.goto(stack.url + "/?code=stolen&state=" + json.dumps("forged"))
    page.wait_for_selector("#sign-in", state="visible")
    assert page.text_content("#sign-in-error") == "the sign-in did not start here; try again"
    assert page.is_hidden("#console")


def test_a_token_that_may_only_watch_gets_no_controls(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    page = open_console(browser, console_url(stack, token_with(stack, access.SCOPE_VIEW)))
    pages.append(page)
    wait_for_frames(page, 10)
    assert page.text_content("#path") == "watching only"
    assert page.is_hidden("#controls") and page.is_hidden("#estop")
    page.keyboard.down("ArrowUp")
    page.wait_for_timeout(300)
    page.keyboard.up("ArrowUp")
    assert page.evaluate("window.robotConsole.sent") == []  # nothing was sent
