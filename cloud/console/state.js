// The console's one state object: who is signed in, which robot, the operator's choices, the
// link, what the robot last said. Modules change it with `update`, naming what changed; the
// view (view.js) renders what changed. What follows from it (the path commands take, the
// robot's name, whether this operator may clear the e-stop, the link's grade) is computed,
// never stored twice.

import { linkGrade } from "./health.js";

export class State {
  constructor() {
    this.phase = "starting"; // then "signing-in" or "signed-in"
    this.problem = ""; // why signing in failed
    this.oidc = null; // the identity provider to sign in with, if the stack has one
    this.token = null;
    this.operator = ""; // the token's subject: who the robot's drive lease names
    this.guest = ""; // a guest link's token: the guest's name (its guest claim)
    this.scopes = new Set();
    this.robot = ""; // the robot asked for: "" is the stack's own (POST /publish's)
    this.welcome = null; // the robot's welcome on the data channel: {robot, drive, admin}
    this.channel = false; // a welcomed data channel is open
    this.p2p = true; // the operator lets commands take the data channel
    this.speed = 0.6; // the speed limit, 0.1..1
    this.estop = null; // the robot's e-stop latch as it last reported it: {latched, by, via}
    this.telemetry = null; // the robot's latest state message
    this.rejections = []; // the latest refusals, newest last
    this.trail = []; // odometry points, for the map
    this.status = "starting…";
    this.stream = null; // the video's MediaStream
    this.video = null; // {connection, figures}: the video's link and its latest figures
    this.health = null; // the robot's latest health report (battery, Wi-Fi, temperature)
    this.videoFrozen = false; // no new frame for VIDEO_STALE_MS: driving is paused (freeze.js)
    this.gamepad = ""; // the connected gamepad's name
    this.roomAudio = null; // the robot's microphone: a MediaStream
    this.mic = false; // the operator's microphone goes to the robot
    this.micProblem = ""; // why it cannot
    this.audio = null; // the robot's audio as it last said: {listening, speaking, muted, volume}
    this.fleet = { robots: [], error: null };
    this.invitation = null; // the latest guest link made here: {url, expires}, or {error}
    this.listeners = new Set();
  }

  // Change some fields; each listener hears which.
  update(changes) {
    Object.assign(this, changes);
    const changed = new Set(Object.keys(changes));
    for (const listener of this.listeners) listener(changed, this);
  }

  // Returns the unsubscribe function.
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get path() {
    return this.channel && this.p2p ? "datachannel" : "publish";
  }

  get robotName() {
    return this.robot || (this.welcome && this.welcome.robot) || "";
  }

  // The robot would refuse every command of a token without these.
  get drives() {
    return this.scopes.has("robot:drive") || this.scopes.has("robot:admin");
  }

  get admin() {
    return this.scopes.has("robot:admin") || Boolean(this.welcome && this.welcome.admin);
  }

  // The link to the robot, good / fair / poor, from the video's figures (null without them).
  get linkGrade() {
    return linkGrade(this.video && this.video.figures);
  }

  get latched() {
    return Boolean(this.estop && this.estop.latched);
  }
}
