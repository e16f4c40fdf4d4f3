// The operator console: sign in, pick a robot, watch it, drive it, see what it says.
//
// Settings: `console/config.json` beside the page ({api, oidc}), which the address fragment
// may override: #api=<REST API URL>&robot=<name> (a fragment never reaches a server).
import * as auth from "./auth.js";
import { Control } from "./control.js";
import { Driver, bindGamepad, bindJoystick, bindKeyboard } from "./drive.js";
import { Fleet } from "./fleet.js";
import { VideoStats } from "./stats.js";
import { TelemetryPanel } from "./telemetry.js";
import { Viewer } from "./viewer.js";

const $ = (id) => document.getElementById(id);
const report = (text) => { $("status").textContent = text; };

async function loadConfig() {
  try {
    const response = await fetch("console/config.json", { cache: "no-store" });
    if (response.ok) return await response.json();
  } catch {
    // no config beside the page: the API is this origin, and tokens are pasted
  }
  return {};
}

class Console {
  constructor(api, token) {
    Object.assign(this, { api, token });
    const scopes = auth.scopes(token);
    this.admin = scopes.has("robot:admin");
    this.drives = this.admin || scopes.has("robot:drive");
    this.panel = new TelemetryPanel($("map"));
    this.driver = new Driver({ control: null, speed: () => Number($("speed").value) });
    this.fleet = new Fleet({ api, token, list: $("fleet"), onPick: (name) => this.connect(name) });
    this.viewer = null;
    this.control = null;
    this.stats = null;
    this.latched = false;
  }

  start(robot) {
    const who = auth.claims(this.token) || {};
    $("who").textContent = `${who.sub || "?"} (${[...auth.scopes(this.token)].join(" ") || "no scopes"})`;
    $("console").hidden = false;
    $("sign-out").hidden = false;
    $("path").hidden = false;
    $("sign-out").onclick = () => {
      auth.forget();
      location.reload();
    };
    $("estop").onclick = () => this.estop();
    $("clear-estop").onclick = () => this.control.send({ action: "clear_estop" });
    $("p2p").onchange = (event) => this.control.setPeerToPeer(event.target.checked);
    const speed = $("speed");
    speed.oninput = () => { $("speed-value").textContent = `${Math.round(speed.value * 100)} %`; };
    this.connect(robot);
    if (!this.drives) {
      $("controls").hidden = true; // the robot would refuse every command of this token
      return;
    }
    $("safety").hidden = false;
    bindKeyboard(this.driver, () => this.estop());
    bindGamepad(this.driver, () => this.estop(), (text) => { $("gamepad").textContent = text; });
    bindJoystick(this.driver, $("joystick"), $("knob"));
  }

  // Watch and drive `robot` ("" is the stack's own robot, POST /publish's).
  connect(robot) {
    if (this.viewer) {
      this.driver.release(); // the robot we leave stops
      this.viewer.stop();
      this.stats.stop();
      this.control.close();
    }
    this.robot = robot;
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (robot) fragment.set("robot", robot);
    history.replaceState(null, "", `${location.pathname}${location.search}${fragment.size ? `#${fragment}` : ""}`);
    this.panel.clear();
    const { api, token } = this;
    this.control = new Control({
      api, token, robot, report,
      onTelemetry: (message) => this.telemetry(message),
      onPath: (path) => this.showPath(path),
    });
    this.control.peerToPeer = $("p2p").checked;
    this.driver.control = this.control;
    this.viewer = new Viewer({
      api, token, robot, report,
      video: $("video"),
      onConnection: (pc, channel) => this.control.attach(channel),
    });
    this.viewer.start();
    this.stats = new VideoStats(this.viewer, $("stats"));
    this.showPath(this.control.path);
    window.robotViewer = this.viewer; // for the browser tests and the benchmarks
  }

  get robotName() {
    return this.robot || (this.control.welcome && this.control.welcome.robot) || "";
  }

  showPath(path) {
    const badge = $("path");
    badge.textContent = !this.drives ? "watching only" : path === "datachannel" ? "peer to peer" : "via /publish";
    badge.className = `badge ${this.drives ? path : ""}`;
    $("robot-name").textContent = this.robotName || "(this stack's robot)";
    this.fleet.select(this.robotName);
    // Telemetry comes on the data channel: without one, what the panel shows is old.
    $("telemetry").classList.toggle("stale", !this.control.channel);
    if (this.control.welcome && this.control.welcome.admin) this.admin = true;
    this.showLatch();
  }

  telemetry(message) {
    this.panel.show(message);
    if (message.type === "state" && message.estop) {
      this.latched = Boolean(message.estop.latched);
      this.showLatch();
    }
  }

  showLatch() {
    $("estop").classList.toggle("latched", this.latched);
    $("clear-estop").hidden = !(this.latched && this.admin);
  }

  estop() {
    this.driver.drop();
    this.control.estop();
  }
}

async function main() {
  const config = await loadConfig();
  const fragment = new URLSearchParams(location.hash.slice(1));
  const api = (fragment.get("api") || config.api || location.origin).replace(/\/$/, "");
  const oidc = config.oidc || null;
  const open = (token) => {
    $("sign-in").hidden = true;
    const operatorConsole = new Console(api, token);
    window.robotConsole = operatorConsole; // for the browser tests and the benchmarks
    operatorConsole.start(fragment.get("robot") || "");
  };
  let token = null;
  let problem = "";
  try {
    token = await auth.currentToken(oidc);
  } catch (error) {
    problem = error.message;
  }
  if (token) return open(token);
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = problem;
  if (oidc) {
    $("oidc").hidden = false;
    $("oidc").onclick = () => auth.beginOidc(oidc).catch((error) => { $("sign-in-error").textContent = error.message; });
  }
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    try {
      open(auth.remember($("token").value.trim()));
    } catch (error) {
      $("sign-in-error").textContent = error.message;
    }
  });
}

main();
