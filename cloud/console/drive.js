// Driving: the keyboard, a gamepad and the touch joystick each set a wish (linear, angular in
// -1..1, positive angular turns left); the latest source that wishes to move wins. A wish is
// sent when it starts or changes (a change within MIN_GAP_MS of the last command waits for
// the gap's end: a moving stick says at most ten a second), and said again every KEEPALIVE_MS
// while it lasts unchanged, each command valid for control.js's TTL_MS: when the page, the tab
// or the network goes away the robot stops by itself. Letting go sends one `stop` at once.

export const KEEPALIVE_MS = 250; // twice within the TTL (600 ms): one lost command stops nothing
export const MIN_GAP_MS = 100;
const DEAD_ZONE = 0.15; // of a gamepad stick's travel
const GAMEPAD_POLL_MS = 50;

const KEYS = {
  ArrowUp: [1, 0], KeyW: [1, 0],
  ArrowDown: [-1, 0], KeyS: [-1, 0],
  ArrowLeft: [0, 1], KeyA: [0, 1],
  ArrowRight: [0, -1], KeyD: [0, -1],
};
const ESTOP_KEYS = new Set(["Space", "Escape"]);

export class Driver {
  // `allowed()`: whether wishes to move may be sent now (not while the picture is frozen).
  constructor({ control, speed, allowed = () => true, now = () => performance.now() }) {
    Object.assign(this, { control, speed, allowed, now });
    this.wishes = new Map(); // source -> [linear, angular], only the moving ones
    this.sent = [0, 0];
    this.sentAt = -Infinity;
    this.timer = null; // the next command's: a change due, or the keep-alive
    this.dueAt = null;
  }

  current() {
    const latest = [...this.wishes.values()].pop();
    return latest || [0, 0];
  }

  set(source, linear, angular) {
    this.wishes.delete(source); // re-inserted last: the latest moving source wins
    if (linear || angular) this.wishes.set(source, [linear, angular]);
    const [wantLinear, wantAngular] = this.current();
    const [sentLinear, sentAngular] = this.sent;
    const wasMoving = sentLinear || sentAngular;
    const moving = (wantLinear || wantAngular) && this.allowed();
    if (!moving) {
      if (wasMoving) this.halt();
      return;
    }
    if (wantLinear === sentLinear && wantAngular === sentAngular) {
      this.schedule(this.sentAt + KEEPALIVE_MS - this.now()); // nothing new is due: keep alive
      return;
    }
    const wait = this.sentAt + MIN_GAP_MS - this.now();
    if (!wasMoving || wait <= 0) this.push();
    else this.schedule(wait);
  }

  // Send the current wish now; the keep-alive runs from now.
  push() {
    const [linear, angular] = this.current();
    this.sent = [linear, angular];
    this.sentAt = this.now();
    this.control.drive(linear, angular, this.speed());
    this.schedule(KEEPALIVE_MS);
  }

  schedule(ms) {
    clearTimeout(this.timer);
    this.dueAt = this.now() + ms;
    this.timer = setTimeout(() => this.push(), ms);
  }

  halt() {
    this.drop();
    this.control.send({ action: "stop" });
  }

  // Every source lets go (the window lost focus, the robot changes).
  release() {
    this.wishes.clear();
    if (this.timer) this.halt();
  }

  // Forget every wish without a word (an e-stop is on its way, and says more than a stop).
  drop() {
    this.wishes.clear();
    clearTimeout(this.timer);
    this.timer = null;
    this.dueAt = null;
    this.sent = [0, 0];
  }
}

// The keys held down, as one wish. `down` says whether the key is the console's (then the
// page should neither scroll nor type).
export class Keyboard {
  constructor(driver, estop) {
    Object.assign(this, { driver, estop });
    this.held = new Set();
  }

  down(code) {
    if (ESTOP_KEYS.has(code)) {
      this.estop();
      return true;
    }
    if (!KEYS[code]) return false;
    if (this.held.has(code)) return true; // the key's own auto-repeat: ours keeps time
    this.held.add(code);
    this.wish();
    return true;
  }

  up(code) {
    if (this.held.delete(code)) this.wish();
  }

  // The window lost focus or was hidden: no key-up will come.
  letGo() {
    this.held.clear();
    this.driver.release();
  }

  wish() {
    let linear = 0;
    let angular = 0;
    for (const code of this.held) {
      linear += KEYS[code][0];
      angular += KEYS[code][1];
    }
    this.driver.set("keys", Math.sign(linear), Math.sign(angular));
  }
}

// A stick axis with the dead zone cut out and the rest stretched back to -1..1.
export function deadZone(value) {
  const size = Math.abs(value);
  if (size < DEAD_ZONE) return 0;
  return Math.sign(value) * Math.min(1, (size - DEAD_ZONE) / (1 - DEAD_ZONE));
}

// The Gamepad API has no events for axes: poll. Standard mapping: left stick (axes 0, 1)
// drives, button 1 (B, circle) is the emergency stop. The pad's name goes to the state.
export function pollGamepad(driver, estop, state) {
  let pressed = false;
  let name = "";
  setInterval(() => {
    const pad = [...(navigator.getGamepads ? navigator.getGamepads() : [])].find(Boolean);
    if ((pad ? pad.id : "") !== name) {
      name = pad ? pad.id : "";
      state.update({ gamepad: name });
      if (!pad) driver.set("gamepad", 0, 0);
    }
    if (!pad) return;
    const stop = Boolean(pad.buttons[1] && pad.buttons[1].pressed);
    if (stop && !pressed) estop();
    pressed = stop;
    driver.set("gamepad", -deadZone(pad.axes[1] || 0), -deadZone(pad.axes[0] || 0));
  }, GAMEPAD_POLL_MS);
}

// A thumb (or a mouse) at (x, y) on the round pad whose box is `box`: up drives forward, left
// turns left. The wish, and where the knob goes (px from its rest).
export function joystick(x, y, box) {
  const radius = box.width / 2;
  let across = (x - box.left - radius) / radius;
  let down = (y - box.top - radius) / radius;
  const length = Math.hypot(across, down);
  if (length > 1) [across, down] = [across / length, down / length];
  return { linear: -deadZone(down), angular: -deadZone(across), knob: [across * radius * 0.6, down * radius * 0.6] };
}
