// The page: the only module that touches the document. It renders the state object (each
// part when a field it shows changes) and hands the operator's input to the console's
// handlers (main.js). Everything is shown as text, never parsed as HTML.

import { listed } from "./fleet.js";
import { joystick } from "./drive.js";
import { batteryBadge, linkIndicator } from "./health.js";
import { describeLimits } from "./limits.js";
import { person, seat } from "./session.js";
import { overlay } from "./stats.js";
import { describe, drawMap, wheelBar } from "./telemetry.js";

const $ = (id) => document.getElementById(id);
const TYPING = "input[type=text], input[type=password], textarea";

// [the fields a part shows, how it shows them]
const PARTS = [
  [["phase", "problem", "oidc"], signIn],
  [["phase", "operator", "scopes", "guest"], signedIn],
  [["telemetry", "operator", "scopes", "welcome", "channel"], session],
  [["invitation", "scopes", "welcome"], invitation],
  [["channel", "p2p", "scopes"], path],
  [["robot", "welcome", "fleet"], robot],
  [["estop", "scopes", "welcome"], latch],
  [["telemetry", "estop", "rejections", "channel"], telemetry],
  [["trail"], map],
  [["telemetry"], limits],
  [["speed", "p2p"], settings],
  [["status"], (state) => { $("status").textContent = state.status; }],
  [["video"], (state) => { $("stats").textContent = overlay(state.video); }],
  [["video", "health"], link],
  [["health"], battery],
  [["videoFrozen"], (state) => { $("frozen").hidden = !state.videoFrozen; }],
  [["stream"], (state) => { $("video").srcObject = state.stream; }],
  [["roomAudio"], (state) => { $("room").srcObject = state.roomAudio; }],
  [["mic", "micProblem", "audio", "scopes"], audio],
  [["gamepad"], (state) => { $("gamepad").textContent = state.gamepad ? `gamepad: ${state.gamepad}` : ""; }],
];

function render(state, changed) {
  for (const [fields, part] of PARTS) if (fields.some((field) => changed.has(field))) part(state);
}

function signIn(state) {
  $("sign-in").hidden = state.phase !== "signing-in";
  $("sign-in-error").textContent = state.problem;
  $("oidc").hidden = !state.oidc;
}

function signedIn(state) {
  const on = state.phase === "signed-in";
  for (const id of ["console", "sign-out", "path"]) $(id).hidden = !on;
  const name = state.guest || person(state.operator).name || "?";
  $("who").textContent = on ? `${name} (${[...state.scopes].join(" ") || "no scopes"})` : "";
  $("guest-badge").hidden = !(on && state.guest);
  $("controls").hidden = !state.drives; // the robot would refuse every command of this token
  $("safety").hidden = !(on && state.drives);
}

function path(state) {
  const badge = $("path");
  badge.textContent = !state.drives ? "watching only" : state.path === "datachannel" ? "peer to peer" : "via /publish";
  badge.className = `badge ${state.drives ? state.path : ""}`;
}

function robot(state) {
  $("robot-name").textContent = state.robotName || "(this stack's robot)";
  const { robots, note } = listed(state.fleet, state.robotName);
  if (note) {
    const item = document.createElement("li");
    item.className = "muted";
    item.textContent = note;
    $("fleet").replaceChildren(item);
    return;
  }
  $("fleet").replaceChildren(...robots.map((each) => fleetItem(each, each.name === state.robotName)));
}

function fleetItem(robot, current) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.robot = robot.name;
  button.className = current ? "current" : "";
  const since = robot.since ? ` since ${new Date(robot.since * 1000).toLocaleTimeString()}` : "";
  button.title = `${robot.link}${since}`;
  const dot = document.createElement("span");
  dot.className = `dot ${robot.link}`;
  const label = document.createElement("span");
  label.textContent = `${robot.name} — ${robot.link}`;
  button.append(dot, label);
  button.addEventListener("click", () => handlers.pick(robot.name));
  item.append(button);
  return item;
}

function session(state) {
  const shown = seat(state);
  $("s-role").textContent = shown.known ? shown.role : "—";
  $("s-role").className = `role ${shown.role === "driving" ? "driving" : ""}`;
  $("s-driver").replaceChildren(...(shown.driver ? named(shown.driver) : [text("nobody")]));
  $("s-watchers").replaceChildren(...shown.watchers.map((each) => {
    const item = document.createElement("li");
    item.append(...named(each));
    return item;
  }));
  $("handover").hidden = !shown.asking;
  $("handover-text").textContent = shown.asking ? `${shown.asking.name}${shown.asking.guest ? " (guest)" : ""} asks for control` : "";
  $("accept-control").dataset.to = shown.asking ? shown.asking.subject : "";
  $("decline-control").dataset.to = shown.asking ? shown.asking.subject : "";
  $("request-control").hidden = !shown.offers.request;
  $("requested").hidden = !shown.offers.requested;
  $("take-control").hidden = !shown.offers.take;
  $("release-control").hidden = !shown.offers.release;
}

// A person's name, and a badge when they are a guest.
function named({ name, guest }) {
  if (!guest) return [text(name)];
  const badge = document.createElement("span");
  badge.className = "badge guest";
  badge.textContent = "guest";
  return [text(`${name} `), badge];
}

const text = (value) => document.createTextNode(value);

function invitation(state) {
  $("invite").hidden = !state.admin;
  const made = state.invitation;
  $("guest-link").hidden = !(made && made.url);
  $("guest-link").value = made && made.url ? made.url : "";
  $("guest-error").textContent = made && made.error ? made.error : "";
}

function latch(state) {
  $("estop").classList.toggle("latched", state.latched);
  $("clear-estop").hidden = !(state.latched && state.admin);
}

function telemetry(state) {
  const text = describe(state);
  for (const field of ["link", "video", "estop", "wheels", "reason", "rejected"]) $(`t-${field}`).textContent = text[field];
  $("t-estop").className = state.latched ? "latched" : "";
  const wheels = state.telemetry && state.telemetry.wheels;
  if (wheels) for (const side of ["left", "right"]) bar($(`t-${side}`), wheelBar(wheels[side]));
  // Telemetry comes on the data channel: without one, what the panel shows is old.
  $("telemetry").classList.toggle("stale", !state.channel);
}

function limits(state) {
  const { ahead, limit } = describeLimits(state.telemetry);
  $("t-ahead").textContent = ahead;
  $("t-limit").textContent = limit;
}

function bar(element, { left, width, back }) {
  element.style.left = `${left}%`;
  element.style.width = `${width}%`;
  element.className = back ? "back" : "";
}

function link(state) {
  const shown = linkIndicator(state.video, state.linkGrade, state.health);
  Object.assign($("link-quality"), { textContent: shown.text, title: shown.title, className: `badge link ${shown.grade}` });
}

function battery(state) {
  const shown = batteryBadge(state.health);
  Object.assign($("battery"), { hidden: shown.hidden, textContent: shown.text, title: shown.title, className: `badge battery ${shown.level}` });
}

function map(state) {
  $("t-pose").textContent = describe(state).pose;
  drawMap($("map").getContext("2d"), state.trail, (state.telemetry && state.telemetry.odometry) || null);
}

function audio(state) {
  $("audio").hidden = !state.drives; // the robot plays, and takes settings from, drivers only
  $("mic").textContent = state.mic ? "Microphone off" : "Microphone on";
  $("mic-problem").textContent = state.micProblem;
  const robot = state.audio;
  $("robot-mic").disabled = !robot;
  $("robot-mic").textContent = robot && robot.muted ? "Robot's microphone on" : "Robot's microphone off";
  $("robot-mic").dataset.on = robot && robot.muted ? "true" : "false";
  $("volume").disabled = !robot;
  if (robot) {
    $("volume").value = robot.volume;
    $("volume-value").textContent = `${robot.volume} %`;
  }
}

function settings(state) {
  $("speed").value = state.speed;
  $("speed-value").textContent = `${Math.round(state.speed * 100)} %`;
  $("p2p").checked = state.p2p;
}

let handlers = null;

// Show `state` from now on, and hand the operator's input to `given` (main.js): sign-in, the
// buttons and settings, the keys, the joystick, the fleet list; and each presented frame.
export function start(state, given) {
  handlers = given;
  state.subscribe((changed) => render(state, changed));
  render(state, new Set(PARTS.flatMap(([fields]) => fields)));
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    handlers.signIn($("token").value.trim());
  });
  $("oidc").addEventListener("click", () => handlers.signInWithProvider());
  $("sign-out").addEventListener("click", () => handlers.signOut());
  $("estop").addEventListener("click", () => handlers.estop());
  $("clear-estop").addEventListener("click", () => handlers.clearEstop());
  $("request-control").addEventListener("click", () => handlers.session({ action: "request_control" }));
  $("take-control").addEventListener("click", () => handlers.session({ action: "take_control" }));
  $("release-control").addEventListener("click", () => handlers.session({ action: "release_control" }));
  for (const [id, action] of [["accept-control", "accept_control"], ["decline-control", "decline_control"]]) {
    $(id).addEventListener("click", (event) => handlers.session({ action, to: event.target.dataset.to }));
  }
  $("invite").addEventListener("submit", (event) => {
    event.preventDefault();
    handlers.invite($("guest-name").value.trim(), $("guest-drive").checked, Number($("guest-hours").value));
  });
  $("speed").addEventListener("input", (event) => handlers.choose({ speed: Number(event.target.value) }));
  $("p2p").addEventListener("change", (event) => handlers.choose({ p2p: event.target.checked }));
  $("mic").addEventListener("click", () => handlers.mic($("mic").textContent === "Microphone on"));
  $("robot-mic").addEventListener("click", (event) => handlers.robotMic(event.target.dataset.on === "true"));
  $("volume").addEventListener("change", (event) => handlers.volume(Number(event.target.value)));
  bindKeys();
  bindJoystick($("joystick"), $("knob"));
  const video = $("video");
  const onFrame = () => {
    handlers.frame();
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

function bindKeys() {
  addEventListener("keydown", (event) => {
    if (event.target.matches && event.target.matches(TYPING)) return; // a token being pasted
    if (event.ctrlKey || event.metaKey || event.altKey) return; // the browser's shortcuts
    if (handlers.keyDown(event.code)) event.preventDefault();
  });
  addEventListener("keyup", (event) => handlers.keyUp(event.code));
  addEventListener("blur", () => handlers.letGo());
  document.addEventListener("visibilitychange", () => { if (document.hidden) handlers.letGo(); });
}

// A thumb (or a mouse) on the round pad.
function bindJoystick(pad, knob) {
  function move(event) {
    const { linear, angular, knob: [x, y] } = joystick(event.clientX, event.clientY, pad.getBoundingClientRect());
    knob.style.transform = `translate(${x}px, ${y}px)`;
    handlers.joystick(linear, angular);
  }
  pad.addEventListener("pointerdown", (event) => {
    pad.setPointerCapture(event.pointerId);
    pad.classList.add("active");
    move(event);
  });
  pad.addEventListener("pointermove", (event) => { if (pad.hasPointerCapture(event.pointerId)) move(event); });
  const end = () => {
    pad.classList.remove("active");
    knob.style.transform = "";
    handlers.joystick(0, 0);
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
}
