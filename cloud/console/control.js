// Commands to the robot and telemetry from it.
//
// Over the `control` data channel of the video connection when the robot has welcomed us on
// it (peer to peer: no cloud round trip), else through POST /publish. The channel speaks
// JSON text: we say {"type": "hello", "token"}, the robot answers {"type": "welcome", robot,
// drive, admin} or {"type": "denied", reason}; after the welcome, commands go as POST
// /publish takes them, and the robot's telemetry (state, rejected) comes back as it is
// published. An emergency stop goes both ways at once: whichever arrives first stops.

const TTL_MS = 300; // how long a drive command stays valid: streaming at 10 Hz renews it

export class Control {
  constructor({ api, token, robot, report, onTelemetry, onPath }) {
    Object.assign(this, { api, token, robot, report, onTelemetry, onPath });
    this.channel = null; // the welcomed data channel, if any
    this.welcome = null;
    this.peerToPeer = true; // the operator may prefer /publish
    this.sequence = 0;
    this.prefix = Math.random().toString(36).slice(2, 8);
    this.sent = []; // [{id, path, at}] of the latest commands, for the tests and benchmark
  }

  get path() {
    return this.channel && this.peerToPeer ? "datachannel" : "publish";
  }

  // A new video connection's data channel: say hello when it opens.
  attach(channel) {
    channel.onopen = () => channel.send(JSON.stringify({ type: "hello", token: this.token }));
    channel.onmessage = (event) => this.receive(channel, event.data);
    channel.onclose = () => {
      if (this.channel !== channel) return;
      this.channel = null;
      this.onPath(this.path);
    };
  }

  receive(channel, text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "welcome") {
      this.channel = channel;
      this.welcome = message;
      this.onPath(this.path);
    } else if (message.type === "denied") {
      this.report(`the robot refused the data channel: ${message.reason}`);
      this.onTelemetry({ type: "rejected", reason: message.reason, path: "datachannel" });
    } else if (message.type === "state" || message.type === "rejected") {
      this.onTelemetry(message);
    }
  }

  setPeerToPeer(enabled) {
    this.peerToPeer = enabled;
    this.onPath(this.path);
  }

  close() {
    if (this.channel) this.channel.close();
    this.channel = null;
  }

  drive(linear, angular, speed) {
    return this.send({ action: "drive", linear: round(linear), angular: round(angular), speed: round(speed), ttl_ms: TTL_MS });
  }

  async estop() {
    const command = this.identify({ action: "estop" });
    this.overChannel(command);
    return this.publish(command);
  }

  // Send one command by the best path; resolves to the path it took.
  async send(fields) {
    const command = this.identify(fields);
    if (this.overChannel(command)) return "datachannel";
    await this.publish(command);
    return "publish";
  }

  overChannel(command) {
    if (this.path !== "datachannel" || this.channel.readyState !== "open") return false;
    this.channel.send(JSON.stringify(command));
    this.note(command, "datachannel");
    return true;
  }

  identify(fields) {
    this.sequence += 1;
    return { ...fields, id: `${this.prefix}-${this.sequence}` };
  }

  note(command, path) {
    this.sent.push({ id: command.id, action: command.action, path, at: performance.now() });
    if (this.sent.length > 50) this.sent.shift();
  }

  async publish(command) {
    const route = this.robot ? `/robots/${encodeURIComponent(this.robot)}/publish` : "/publish";
    this.note(command, "publish");
    try {
      const response = await fetch(this.api + route, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: JSON.stringify(command),
      });
      if (response.ok) return;
      const body = await response.json().catch(() => ({}));
      const reason = body.reason || body.message || `POST ${route}: ${response.status}`;
      this.onTelemetry({ type: "rejected", reason, id: command.id, path: "publish" });
    } catch (error) {
      this.onTelemetry({ type: "rejected", reason: `not sent: ${error.message}`, id: command.id, path: "publish" });
    }
  }
}

const round = (value) => Math.round(value * 1000) / 1000;
