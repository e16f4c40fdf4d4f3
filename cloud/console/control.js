// Commands to the robot and telemetry from it.
//
// Over the `control` data channel of the video connection when the robot has welcomed us on
// it (peer to peer: no cloud round trip) and the operator allows it, else through POST
// /publish. The channel speaks JSON text: we say {"type": "hello", "token"}, the robot
// answers {"type": "welcome", robot, drive, admin} or {"type": "denied", reason}; after the
// welcome, commands go as POST /publish takes them, and the robot's telemetry (state,
// rejected) comes back as it is published. An emergency stop goes both ways at once:
// whichever arrives first stops. The link and the telemetry go into the state object.

import { record } from "./telemetry.js";

const TTL_MS = 600; // how long a drive command stays valid: drive.js's keep-alive renews it

export class Control {
  constructor({ api, token, robot, state }) {
    Object.assign(this, { api, token, robot, state });
    this.channel = null; // the welcomed data channel, if any
    this.closed = false;
    this.sequence = 0;
    this.prefix = Math.random().toString(36).slice(2, 8);
  }

  // A new video connection's data channel: say hello when it opens.
  attach(channel) {
    channel.onopen = () => channel.send(JSON.stringify({ type: "hello", token: this.token }));
    channel.onmessage = (event) => this.receive(channel, event.data);
    channel.onclose = () => {
      if (this.closed || this.channel !== channel) return;
      this.channel = null;
      this.state.update({ channel: false });
    };
  }

  receive(channel, text) {
    if (this.closed) return; // a robot left behind
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (message.type === "welcome") {
      this.channel = channel;
      this.state.update({ channel: true, welcome: message });
    } else if (message.type === "denied") {
      this.state.update({ status: `the robot refused the data channel: ${message.reason}` });
      record(this.state, { type: "rejected", reason: message.reason, path: "datachannel" });
    } else if (message.type === "audio") {
      this.state.update({ audio: message.audio }); // the producer's own word on its audio
    } else if (["state", "health", "rejected"].includes(message.type)) {
      record(this.state, message);
    }
  }

  close() {
    this.closed = true;
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
    if (this.state.path !== "datachannel" || !this.channel || this.channel.readyState !== "open") return false;
    this.channel.send(JSON.stringify(command));
    return true;
  }

  identify(fields) {
    this.sequence += 1;
    return { ...fields, id: `${this.prefix}-${this.sequence}` };
  }

  async publish(command) {
    const route = this.robot ? `/robots/${encodeURIComponent(this.robot)}/publish` : "/publish";
    const refused = (reason) => record(this.state, { type: "rejected", reason, id: command.id, path: "publish" });
    try {
      const response = await fetch(this.api + route, {
        method: "POST",
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: JSON.stringify(command),
      });
      if (response.ok) return;
      const body = await response.json().catch(() => ({}));
      refused(body.reason || body.message || `POST ${route}: ${response.status}`);
    } catch (error) {
      refused(`not sent: ${error.message}`);
    }
  }
}

const round = (value) => Math.round(value * 1000) / 1000;
