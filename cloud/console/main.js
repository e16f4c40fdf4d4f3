// The operator console: sign in, pick a robot, watch it, drive it, see what it says. This
// module wires the parts: the state object (state.js), the view (view.js, the only one that
// touches the page), and the handlers of the operator's input, which drive the rest.
//
// Settings: `console/config.json` beside the page ({api, oidc}), which the address fragment
// may override: #api=<REST API URL>&robot=<name> (a fragment never reaches a server; #api=
// only within chooseApi's list).
import { Audio } from "./audio.js";
import * as auth from "./auth.js";
import { Control } from "./control.js";
import { Driver, Keyboard, pollGamepad } from "./drive.js";
import { Fleet } from "./fleet.js";
import { FreezeWatch } from "./freeze.js";
import { invite } from "./session.js";
import { State } from "./state.js";
import { VideoStats } from "./stats.js";
import * as view from "./view.js";
import { Viewer } from "./viewer.js";

async function loadConfig() {
  try {
    const response = await fetch("console/config.json", { cache: "no-store" });
    if (response.ok) return await response.json();
  } catch {
    // no config beside the page: the API is this origin, and tokens are pasted
  }
  return {};
}

const fragment = () => new URLSearchParams(location.hash.slice(1));

// The API the token goes to: the configured one, or what #api= names only when that is the
// page's own origin, the configured API or one of config.json's "allowedApis". A link with
// any other #api= would hand the operator's token to whoever it names.
function chooseApi(requested, config) {
  const bare = (url) => String(url).replace(/\/$/, "");
  const configured = bare(config.api || location.origin);
  if (!requested) return configured;
  const allowed = [configured, location.origin, ...(config.allowedApis || [])].map(bare);
  if (allowed.includes(bare(requested))) return bare(requested);
  console.warn(`ignoring #api=${requested}: not this console's API`);
  return configured;
}

class Console {
  constructor(state) {
    this.state = state;
    this.api = "";
    this.driver = new Driver({ control: null, speed: () => state.speed, allowed: () => !state.videoFrozen });
    this.keyboard = null; // only for a token that may drive
    this.control = null;
    this.viewer = null;
    this.stats = null;
    this.audio = new Audio({ state });
  }

  async start() {
    const config = await loadConfig();
    this.api = chooseApi(fragment().get("api"), config);
    this.freeze = new FreezeWatch({
      lastFrameAt: () => (this.viewer ? this.viewer.lastFrameAt : 0),
      state: this.state,
      driver: this.driver,
      staleMs: config.videoStaleMs,
    });
    const oidc = config.oidc || null;
    let token = null;
    let problem = "";
    try {
      token = await auth.currentToken(oidc);
    } catch (error) {
      problem = error.message;
    }
    if (token) this.open(token);
    else this.state.update({ phase: "signing-in", problem, oidc });
  }

  open(token) {
    const { state } = this;
    const claims = auth.claims(token) || {};
    state.update({
      phase: "signed-in",
      token,
      operator: claims.sub || "",
      guest: typeof claims.guest === "string" ? claims.guest : "",
      scopes: auth.scopes(token),
    });
    this.fleet = new Fleet({ api: this.api, token, state });
    this.connect(fragment().get("robot") || "");
    if (!state.drives) return;
    const estop = () => this.estop();
    this.keyboard = new Keyboard(this.driver, estop);
    pollGamepad(this.driver, estop, state);
  }

  // Watch and drive `robot` ("" is the stack's own robot, POST /publish's).
  connect(robot) {
    if (this.viewer) {
      this.driver.release(); // the robot we leave stops
      this.viewer.stop();
      this.stats.stop();
      this.control.close();
    }
    const address = fragment();
    if (robot) address.set("robot", robot);
    history.replaceState(null, "", `${location.pathname}${location.search}${address.size ? `#${address}` : ""}`);
    const { api, state } = this;
    const { token } = state;
    state.update({ robot, welcome: null, channel: false, estop: null, telemetry: null, trail: [], video: null, videoFrozen: false, health: null, invitation: null });
    this.control = new Control({ api, token, robot, state });
    this.driver.control = this.control;
    const onConnection = (pc, channel) => {
      this.control.attach(channel);
      this.audio.attach(pc);
    };
    this.viewer = new Viewer({ api, token, robot, state, onConnection, onAudio: (track) => this.audio.heard(track) });
    this.viewer.start();
    this.stats = new VideoStats(this.viewer, state);
  }

  estop() {
    this.driver.drop();
    this.control.estop();
  }

  // One command by the best path, outside the driving (clearing the e-stop, say).
  send(command) {
    return this.control.send(command);
  }

  // What the view hands over, by name.
  handlers() {
    return {
      signIn: (text) => {
        try {
          this.open(auth.remember(text));
        } catch (error) {
          this.state.update({ problem: error.message });
        }
      },
      signInWithProvider: () => auth.beginOidc(this.state.oidc).catch((error) => this.state.update({ problem: error.message })),
      signOut: () => {
        auth.forget();
        location.reload();
      },
      estop: () => this.estop(),
      clearEstop: () => this.send({ action: "clear_estop" }),
      session: (command) => this.send(command), // the hand-over's steps
      invite: async (name, drive, hours) => {
        const { api, state } = this;
        try {
          const link = await invite({ api, token: state.token, robot: state.robotName, name, drive, hours });
          state.update({ invitation: { url: link.url, expires: link.expires } });
        } catch (error) {
          state.update({ invitation: { error: error.message } });
        }
      },
      choose: (changes) => this.state.update(changes), // the speed limit, peer to peer
      pick: (robot) => this.connect(robot),
      keyDown: (code) => Boolean(this.keyboard && this.keyboard.down(code)),
      keyUp: (code) => this.keyboard && this.keyboard.up(code),
      letGo: () => this.keyboard && this.keyboard.letGo(),
      joystick: (linear, angular) => this.state.drives && this.driver.set("touch", linear, angular),
      frame: () => this.viewer && this.viewer.frame(),
      mic: (on) => this.audio.setMic(on), // the operator's microphone
      robotMic: (on) => this.send({ action: "audio", mic: on }), // the room's privacy
      volume: (level) => this.send({ action: "audio", volume: level }), // the robot's speaker
    };
  }
}

// Exported for whoever imports this page's modules (the browser tests' hooks); nothing global.
export const state = new State();
export const operatorConsole = new Console(state);
view.start(state, operatorConsole.handlers());
operatorConsole.start();
