"""The console's DOM-free modules on their own, in Chromium, in a page without the console's
elements (the `modules` fixture): the state object, telemetry, the command paths, the fleet
list, the video figures, sign-in tokens and the viewer's frames. Stand-ins take the place of
the network (fetch, a data channel); whatever a module decides shows in the state object.
And the split itself: only view.js touches the document."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest

from sim.aws.console_site import ROOT

SDK_BUNDLE = "kvs-webrtc.min.js"  # deploy/console_sdk.py copies it here


def test_the_state_tells_each_listener_what_changed(modules: Any) -> None:
    heard = modules.evaluate(
        """async () => {
          const { State } = await import("/state.js");
          const state = new State();
          const heard = [];
          const stop = state.subscribe((changed, s) => heard.push([[...changed], s.path]));
          state.update({ channel: true });
          state.update({ p2p: false, speed: 0.3 });
          stop();
          state.update({ p2p: true });
          return { heard, path: state.path, speed: state.speed };
        }"""
    )
    assert heard["heard"] == [[["channel"], "datachannel"], [["p2p", "speed"], "publish"]]
    assert heard["path"] == "datachannel" and heard["speed"] == 0.3


def test_what_follows_from_the_state_is_computed_from_it(modules: Any) -> None:
    derived = modules.evaluate(
        """async () => {
          const { State } = await import("/state.js");
          const state = new State();
          const seen = () => ({ robot: state.robotName, drives: state.drives, admin: state.admin,
                                latched: state.latched, path: state.path });
          const before = seen();
          state.update({ scopes: new Set(["robot:drive"]), welcome: { robot: "r1", admin: true },
                         estop: { latched: true, by: "x" } });
          const welcomed = seen();
          state.update({ robot: "r2", welcome: null, estop: { latched: false } });
          return [before, welcomed, seen()];
        }"""
    )
    assert derived[0] == {
        "robot": "",
        "drives": False,
        "admin": False,
        "latched": False,
        "path": "publish",
    }
    assert derived[1] == {
        "robot": "r1",
        "drives": True,
        "admin": True,  # the robot's welcome says so
        "latched": True,
        "path": "publish",  # welcomed, but the channel is not open
    }
    assert derived[2]["robot"] == "r2" and derived[2]["admin"] is False
    assert derived[2]["latched"] is False


RECORD = """async (messages) => {
  const { State } = await import("/state.js");
  const { record, describe } = await import("/telemetry.js");
  const state = new State();
  for (const message of messages) record(state, message);
  return { telemetry: state.telemetry, estop: state.estop, rejections: state.rejections,
           trail: state.trail, text: describe(state) };
}"""


def test_telemetry_keeps_the_latest_state_the_latch_and_the_trail(modules: Any) -> None:
    moving = {
        "type": "state",
        "wheels": {"left": 0.5, "right": -0.25},
        "reason": "drive",
        "command": {"action": "drive"},
        "link": "online",
        "video": {"state": "streaming", "viewers": 2},
        "estop": {"latched": True, "by": "ops", "via": "datachannel"},
        "odometry": {"x": 1.0, "y": 0.5, "heading": 0.0},
    }
    still = {**moving, "odometry": {"x": 1.001, "y": 0.5, "heading": 0.0}}  # under 5 mm
    no_latch = {k: v for k, v in moving.items() if k != "estop"}
    result = modules.evaluate(RECORD, [moving, still, no_latch])
    assert result["telemetry"] == no_latch
    assert result["estop"] == moving["estop"]  # kept until the robot reports it again
    assert result["trail"] == [{"x": 1.0, "y": 0.5, "heading": 0.0}]
    assert result["text"] == {
        "link": "online",
        "video": "streaming, 2 watching",
        "estop": "LATCHED by ops via datachannel",
        "wheels": "50 % / -25 %",
        "reason": "drive (drive)",
        "rejected": "—",
        "pose": "x 1.00 m, y 0.50 m, heading 0°",
    }


def test_refusals_are_kept_newest_last_and_only_the_latest_twenty(modules: Any) -> None:
    refusals = [{"type": "rejected", "reason": f"no {i}", "path": "publish"} for i in range(25)]
    result = modules.evaluate(RECORD, refusals)
    assert [r["reason"] for r in result["rejections"]] == [f"no {i}" for i in range(5, 25)]
    assert result["telemetry"] is None and result["estop"] is None
    assert result["text"]["rejected"] == "no 24 (publish)"
    assert result["text"]["estop"] == "—"


def test_the_map_draws_the_trail_and_the_robot(modules: Any) -> None:
    drawn = modules.evaluate(
        """async () => {
          const { drawMap } = await import("/telemetry.js");
          const context = new OffscreenCanvas(240, 240).getContext("2d");
          const count = () => {
            const seen = { grid: 0, trail: 0, robot: 0 };
            const data = context.getImageData(0, 0, 240, 240).data;
            for (let i = 0; i < data.length; i += 4) {
              const [r, g, b, a] = data.slice(i, i + 4);
              if (a === 255 && r > 240 && g > 240 && b > 240) seen.robot += 1;
              else if (a === 255 && b > 200 && r < 120) seen.trail += 1;
              else if (a) seen.grid += 1;
            }
            return seen;
          };
          drawMap(context, [], null);
          const empty = count();
          const pose = { x: 1, y: 0, heading: 0 };
          drawMap(context, [{ x: 0, y: 0, heading: 0 }, pose], pose);
          return [empty, count()];
        }"""
    )
    empty, moved = drawn
    assert empty["grid"] > 0 and empty["trail"] == 0 and empty["robot"] == 0
    assert moved["trail"] > 50 and moved["robot"] > 20


# A Control on a State, with fetch answered by `answer` and a stand-in data channel.
CONTROL = """async ([steps, answer]) => {
  const { State } = await import("/state.js");
  const { Control } = await import("/control.js");
  const state = new State();
  const posted = [];
  const realFetch = window.fetch;
  window.fetch = async (url, init) => {
    posted.push([url, JSON.parse(init.body)]);
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  };
  const channel = { readyState: "open", said: [], send(text) { this.said.push(JSON.parse(text)); },
                    close() { this.readyState = "closed"; } };
  const control = new Control({ api: "https://api.example", token: "T", robot: "r1", state });
  control.attach(channel);
  const paths = [];
  try {
    for (const [what, value] of steps) {
      if (what === "open") channel.onopen();
      else if (what === "say") channel.onmessage({ data: JSON.stringify(value) });
      else if (what === "p2p") state.update({ p2p: value });
      else if (what === "send") paths.push(await control.send(value));
      else if (what === "estop") await control.estop();
      else if (what === "channel-closed") channel.onclose();
      else if (what === "close") control.close();
    }
  } finally {
    window.fetch = realFetch;
  }
  return { said: channel.said, posted, paths, channel: state.channel, path: state.path,
           welcome: state.welcome, status: state.status, rejections: state.rejections,
           telemetry: state.telemetry };
}"""
OK = {"status": 200, "body": {}}


def test_control_says_hello_and_takes_the_channel_once_welcomed(modules: Any) -> None:
    welcome = {"type": "welcome", "robot": "r1", "drive": True, "admin": False}
    result = modules.evaluate(
        CONTROL,
        [
            [
                ["send", {"action": "stop"}],
                ["open", None],
                ["say", welcome],
                ["send", {"action": "stop"}],
                ["p2p", False],
                ["send", {"action": "stop"}],
            ],
            OK,
        ],
    )
    assert result["said"][0] == {"type": "hello", "token": "T"}
    assert result["paths"] == ["publish", "datachannel", "publish"]
    assert [c["action"] for c in result["said"][1:]] == ["stop"]
    assert [url for url, _ in result["posted"]] == ["https://api.example/robots/r1/publish"] * 2
    ids = [c["id"] for _, c in result["posted"]] + [result["said"][1]["id"]]
    assert len(set(ids)) == 3  # every command its own id
    assert result["welcome"] == welcome and result["channel"] is True
    assert result["path"] == "publish"  # the operator turned peer to peer off


def test_an_estop_goes_both_ways_and_a_refused_publish_is_telemetry(modules: Any) -> None:
    welcome = {"type": "welcome", "robot": "r1"}
    refused = {"status": 403, "body": {"reason": "needs robot:admin"}}
    result = modules.evaluate(
        CONTROL, [[["open", None], ["say", welcome], ["estop", None]], refused]
    )
    over_channel = result["said"][1]
    assert over_channel["action"] == "estop"
    assert result["posted"] == [["https://api.example/robots/r1/publish", over_channel]]
    assert result["rejections"] == [
        {
            "type": "rejected",
            "reason": "needs robot:admin",
            "id": over_channel["id"],
            "path": "publish",
        }
    ]


def test_telemetry_and_refusals_on_the_channel_reach_the_state(modules: Any) -> None:
    state_message = {"type": "state", "wheels": {"left": 0, "right": 0}, "reason": "idle"}
    result = modules.evaluate(
        CONTROL,
        [
            [
                ["say", {"type": "denied", "reason": "bad token"}],
                ["say", state_message],
                ["say", {"type": "mystery"}],
            ],
            OK,
        ],
    )
    assert result["status"] == "the robot refused the data channel: bad token"
    assert result["rejections"] == [
        {"type": "rejected", "reason": "bad token", "path": "datachannel"}
    ]
    assert result["telemetry"] == state_message
    assert result["channel"] is False


def test_a_closed_channel_falls_back_and_a_closed_control_hears_nothing(modules: Any) -> None:
    welcome = {"type": "welcome", "robot": "r1"}
    lost = modules.evaluate(
        CONTROL,
        [
            [
                ["open", None],
                ["say", welcome],
                ["channel-closed", None],
                ["send", {"action": "stop"}],
            ],
            OK,
        ],
    )
    assert lost["channel"] is False and lost["paths"] == ["publish"]
    left = modules.evaluate(CONTROL, [[["close", None], ["say", welcome]], OK])
    assert left["welcome"] is None and left["channel"] is False  # a robot left behind


FLEET = """async ([answer, current]) => {
  const { State } = await import("/state.js");
  const { Fleet, listed } = await import("/fleet.js");
  const state = new State();
  const realFetch = window.fetch;
  window.fetch = async () => answer === null ? Promise.reject(new Error("offline"))
    : new Response(JSON.stringify(answer.body), { status: answer.status });
  const fleet = new Fleet({ api: "https://api.example", token: "T", state });
  clearInterval(fleet.timer);
  try {
    await fleet.refresh();
  } finally {
    window.fetch = realFetch;
  }
  return { fleet: state.fleet, listed: listed(state.fleet, current) };
}"""


def test_the_fleet_lists_what_get_robots_answers_else_the_robot_in_use(modules: Any) -> None:
    robots = [{"name": "r1", "link": "online", "since": None}]
    found = modules.evaluate(FLEET, [{"status": 200, "body": {"robots": robots}}, "r1"])
    assert found["fleet"] == {"robots": robots, "error": None}
    assert found["listed"] == {"robots": robots, "note": ""}
    refused = modules.evaluate(FLEET, [{"status": 403, "body": {}}, "r9"])
    assert refused["fleet"] == {"robots": [], "error": "GET /robots: 403"}
    assert refused["listed"] == {"robots": [{"name": "r9", "link": "unknown"}], "note": ""}
    nothing = modules.evaluate(FLEET, [None, ""])
    assert nothing["listed"] == {"robots": [], "note": "no fleet list here"}
    empty = modules.evaluate(FLEET, [{"status": 200, "body": {"robots": []}}, ""])
    assert empty["listed"] == {"robots": [], "note": "no robots"}


def test_the_video_figures_and_the_overlay(modules: Any) -> None:
    shown = modules.evaluate(
        """async () => {
          const { figures, overlay } = await import("/stats.js");
          const before = { timestamp: 1000, jitterBufferEmittedCount: 100, jitterBufferDelay: 1,
                           framesDecoded: 100, bytesReceived: 0 };
          const after = { timestamp: 2000, jitterBufferEmittedCount: 130, jitterBufferDelay: 1.6,
                          framesDecoded: 130, bytesReceived: 250000,
                          frameWidth: 640, frameHeight: 480 };
          const seen = figures(before, after, 0.004);
          return [seen, overlay({ connection: "connected", figures: seen }),
                  overlay({ connection: "connected", figures: { ...seen, kbps: 1500 } }),
                  overlay({ connection: "connecting", figures: seen }), overlay(null)];
        }"""
    )
    assert shown[0] == {"latencyMs": 22, "fps": 30, "kbps": 2000, "width": 640, "height": 480}
    assert shown[1:] == [
        "22 ms · 30 fps · 2.0 Mbit/s · 640\N{MULTIPLICATION SIGN}480",
        "22 ms · 30 fps · 1.5 Mbit/s · 640\N{MULTIPLICATION SIGN}480",
        "video: connecting",
        "no video yet",
    ]


def jwt(claims: dict) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"e30.{part}.sig"


def test_tokens_are_read_for_their_subject_and_scopes_and_refused_when_unusable(
    modules: Any,
) -> None:
    later = time.time() + 3600
    tokens = [
        jwt({"sub": "ana", "scope": "robot:view robot:drive", "exp": later}),
        jwt({"sub": "bo", "scp": ["robot:admin"]}),
        jwt({"sub": "cy", "exp": time.time() - 10}),
        "not-a-token",
    ]
    result = modules.evaluate(
        """async (tokens) => {
          const auth = await import("/auth.js");
          const tried = (token) => {
            try {
              return auth.remember(token) === token;
            } catch (error) {
              return error.message;
            }
          };
          const out = tokens.map((t) => [auth.claims(t)?.sub ?? null, [...auth.scopes(t)],
                                         tried(t)]);
          auth.forget();
          return out;
        }""",
        tokens,
    )
    assert result == [
        ["ana", ["robot:view", "robot:drive"], True],
        ["bo", ["robot:admin"], True],
        ["cy", [], "that token has expired"],
        [None, [], "that is not a JWT"],
    ]


@pytest.mark.parametrize(
    "named",
    ["https://idp.evil.example", "https://idp.example/", "https://IDP.example", None, ""],
)
def test_a_discovery_document_naming_another_issuer_is_refused(modules: Any, named) -> None:
    said = modules.evaluate(
        """async (named) => {
          const auth = await import("/auth.js");
          const pageFetch = window.fetch;
          const document = { issuer: named, authorization_endpoint: "https://evil.example/a" };
          window.fetch = async () => new Response(JSON.stringify(document));
          try {
            const oidc = { issuer: "https://idp.example", client_id: "c", scopes: "openid" };
            await auth.beginOidc(oidc);
            return "went on";
          } catch (error) {
            return error.message;
          } finally {
            window.fetch = pageFetch;
            sessionStorage.clear();
          }
        }""",
        named,
    )
    shown = "null" if named is None else named
    assert said == f"the identity provider calls itself {shown}, not https://idp.example"


def test_the_viewer_says_watching_at_the_first_frame_and_not_after_it_stops(
    modules: Any,
) -> None:
    said = modules.evaluate(
        """async () => {
          const { State } = await import("/state.js");
          const { Viewer } = await import("/viewer.js");
          const state = new State();
          const viewer = new Viewer({ api: "", token: "T", robot: "", state });
          const statuses = [];
          state.subscribe((changed) => { if (changed.has("status")) statuses.push(state.status); });
          viewer.frame();
          viewer.frame();
          state.update({ stream: "a stream" });
          viewer.stop();
          viewer.frame();
          return { statuses, frames: viewer.frames, stream: state.stream };
        }"""
    )
    assert said == {"statuses": ["watching"], "frames": 2, "stream": None}


def test_only_the_view_touches_the_document() -> None:
    touching = re.compile(r"\bdocument\.|\bwindow\.|getElementById|addEventListener|innerHTML")
    for module in sorted(ROOT.glob("*.js")):
        if module.name == SDK_BUNDLE:
            continue  # the official KVS SDK's, not one of the console's modules
        source = module.read_text()
        if module.name == "view.js":
            assert source.count("const $ = ") == 1
            continue
        assert not touching.search(source), module.name
        assert "const $ = " not in source, module.name


def test_the_session_panel_follows_the_lease_and_who_this_operator_is(modules: Any) -> None:
    seats = modules.evaluate(
        """async () => {
          const { State } = await import("/state.js");
          const { seat } = await import("/session.js");
          const state = new State();
          const at = (session, operator, scopes) => {
            const telemetry = { type: "state", session };
            state.update({ operator, scopes: new Set(scopes), telemetry });
            const { role, driver, watchers, asking, offers } = seat(state);
            return { role, driver, watchers, asking, offers };
          };
          const watchers = ["bob", "guest:Ann:1a2b"];
          const asked = { driver: "alice", requested_by: "bob", watchers };
          return {
            unknown: seat(state).known,
            driver: at(asked, "alice", ["robot:drive"]),
            asker: at(asked, "bob", ["robot:drive"]),
            admin: at(asked, "root", ["robot:admin"]),
            guest: at(asked, "guest:Ann:1a2b", ["robot:view"]),
            free: at({ driver: null, requested_by: null, watchers: [] }, "bob", ["robot:drive"]),
          };
        }"""
    )
    assert seats["unknown"] is False
    driver = seats["driver"]
    assert driver["role"] == "driving"
    assert driver["asking"] == {"subject": "bob", "name": "bob", "guest": False}
    assert driver["watchers"] == [{"name": "bob", "guest": False}, {"name": "Ann", "guest": True}]
    assert driver["offers"] == {
        "request": False,
        "requested": False,
        "take": False,
        "release": True,
    }
    asker = seats["asker"]
    assert (asker["role"], asker["asking"], asker["driver"]) == (
        "watching",
        None,
        {"name": "alice", "guest": False},
    )
    assert asker["offers"] == {"request": False, "requested": True, "take": False, "release": False}
    assert seats["admin"]["offers"] == {
        "request": True,
        "requested": False,
        "take": True,
        "release": False,
    }
    assert seats["guest"]["role"] == "watching only"
    assert not any(seats["guest"]["offers"].values())
    assert seats["free"]["role"].startswith("nobody drives")
    assert not any(seats["free"]["offers"].values())


def test_a_guest_link_request_says_why_it_was_refused(modules: Any) -> None:
    said = modules.evaluate(
        """async () => {
          const { invite } = await import("/session.js");
          const sent = [];
          window.fetch = async (url, options) => {
            sent.push({ url, body: JSON.parse(options.body), auth: options.headers.Authorization });
            return new Response(JSON.stringify({ error: "forbidden", reason: "needs robot:admin" }),
                                { status: 403 });
          };
          try {
            const request = { name: "Ann", drive: true, hours: 4 };
            await invite({ api: "https://api", token: "T", robot: "r 1", ...request });
            return { sent, error: null };
          } catch (error) {
            return { sent, error: error.message };
          }
        }"""
    )
    assert said["error"] == "needs robot:admin"
    assert said["sent"] == [
        {
            "url": "https://api/robots/r%201/guests",
            "body": {"name": "Ann", "drive": True, "ttl_s": 14400},
            "auth": "Bearer T",
        }
    ]
