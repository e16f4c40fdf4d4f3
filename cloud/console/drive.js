// Driving: the keyboard, a gamepad and the touch joystick each set a wish (linear, angular in
// -1..1, positive angular turns left); the latest source that wishes to move wins. A wish is
// sent at once when it starts, stops or changes much, and repeated every 100 ms while it
// lasts, each command valid for 300 ms: when the page, the tab or the network goes away the
// robot stops by itself. Letting go sends one `stop`.

const REPEAT_MS = 100;
const BIG_CHANGE = 0.25; // smaller changes (a stick drifting) wait for the next repeat
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
  constructor({ control, speed }) {
    Object.assign(this, { control, speed });
    this.wishes = new Map(); // source -> [linear, angular], only the moving ones
    this.sent = [0, 0];
    this.timer = null;
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
    const moving = wantLinear || wantAngular;
    const wasMoving = sentLinear || sentAngular;
    if (!moving) {
      if (wasMoving) this.halt();
      return;
    }
    const big = Math.abs(wantLinear - sentLinear) > BIG_CHANGE || Math.abs(wantAngular - sentAngular) > BIG_CHANGE;
    if (!wasMoving || big) this.push();
  }

  // Send the current wish now and restart the repeat from now.
  push() {
    clearInterval(this.timer);
    this.sendWish();
    this.timer = setInterval(() => this.sendWish(), REPEAT_MS);
  }

  sendWish() {
    const [linear, angular] = this.current();
    this.sent = [linear, angular];
    this.control.drive(linear, angular, this.speed());
  }

  halt() {
    clearInterval(this.timer);
    this.timer = null;
    this.sent = [0, 0];
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
    clearInterval(this.timer);
    this.timer = null;
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
