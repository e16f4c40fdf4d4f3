// What the robot says about itself: its state messages and refusals, kept in the state
// object (with its odometry trail), the panel's texts, and the trail drawn on a small map
// that keeps the whole trail in view (grid lines every metre).

import { recordHealth } from "./health.js";

const TRAIL_POINTS = 2000;
const REJECTIONS = 20;
const MIN_SPAN_M = 2;

const percent = (value) => `${Math.round(value * 100)} %`;

// One message from the robot: {type: "state", …}, {type: "health", …} (health.js) or
// {type: "rejected", reason, path?}.
export function record(state, message) {
  if (message.type === "health") {
    recordHealth(state, message);
    return;
  }
  if (message.type === "rejected") {
    const rejections = [...state.rejections, message].slice(-REJECTIONS);
    state.update({ rejections });
    return;
  }
  const changes = { telemetry: message };
  if (message.estop) changes.estop = message.estop;
  if (message.odometry) changes.trail = extend(state.trail, message.odometry);
  state.update(changes);
}

// The trail with `pose` added when the robot moved or turned since the last point.
export function extend(trail, pose) {
  const last = trail[trail.length - 1];
  if (last && Math.hypot(pose.x - last.x, pose.y - last.y) <= 0.005 && pose.heading === last.heading) return trail;
  return [...trail, { x: pose.x, y: pose.y, heading: pose.heading }].slice(-TRAIL_POINTS);
}

// The panel's texts for the latest state message and refusal.
export function describe({ telemetry, estop, rejections }) {
  const message = telemetry || {};
  const { video, wheels, command, odometry } = message;
  const rejected = rejections[rejections.length - 1];
  const who = estop ? [estop.by && `by ${estop.by}`, estop.via && `via ${estop.via}`].filter(Boolean).join(" ") : "";
  return {
    link: message.link || "—",
    video: video ? `${video.state}${video.viewers ? `, ${video.viewers} watching` : ""}` : "—",
    estop: !estop ? "—" : estop.latched ? `LATCHED ${who}`.trim() : "clear",
    wheels: wheels ? `${percent(wheels.left)} / ${percent(wheels.right)}` : "—",
    reason: command ? `${command.action} (${message.reason})` : message.reason || "—",
    rejected: rejected ? `${rejected.reason}${rejected.path ? ` (${rejected.path})` : ""}` : "—",
    pose: odometry
      ? `x ${odometry.x.toFixed(2)} m, y ${odometry.y.toFixed(2)} m, heading ${Math.round((odometry.heading * 180) / Math.PI)}°`
      : "",
  };
}

// A wheel's bar grows from its middle: right for forwards, left for backwards (in % of the bar).
export function wheelBar(value) {
  return { left: 50 + Math.min(0, value) * 50, width: Math.abs(value) * 50, back: value < 0 };
}

// The trail and the robot at `pose` (or none) on a 2D canvas context.
export function drawMap(context, trail, pose) {
  const { width, height } = context.canvas;
  context.clearRect(0, 0, width, height);
  const xs = trail.map((p) => p.x).concat([0]);
  const ys = trail.map((p) => p.y).concat([0]);
  const span = Math.max(MIN_SPAN_M, Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)) * 1.2;
  const scale = Math.min(width, height) / span; // pixels per metre
  const middle = [(Math.max(...xs) + Math.min(...xs)) / 2, (Math.max(...ys) + Math.min(...ys)) / 2];
  // The robot's x is forward at heading 0 (drawn upwards), its y to the left.
  const at = (x, y) => [width / 2 - (y - middle[1]) * scale, height / 2 - (x - middle[0]) * scale];
  context.strokeStyle = "#2a2a2a";
  context.lineWidth = 1;
  for (let metre = Math.floor(-span); metre <= Math.ceil(span); metre += 1) {
    const [gx] = at(0, metre + Math.round(middle[1]));
    const [, gy] = at(metre + Math.round(middle[0]), 0);
    context.beginPath();
    context.moveTo(gx, 0);
    context.lineTo(gx, height);
    context.moveTo(0, gy);
    context.lineTo(width, gy);
    context.stroke();
  }
  if (trail.length > 1) {
    context.strokeStyle = "#4ea1ff";
    context.lineWidth = 2;
    context.beginPath();
    trail.forEach((p, i) => context[i ? "lineTo" : "moveTo"](...at(p.x, p.y)));
    context.stroke();
  }
  if (!pose) return;
  const [px, py] = at(pose.x, pose.y);
  context.save();
  context.translate(px, py);
  context.rotate(-pose.heading);
  context.fillStyle = "#fff";
  context.beginPath();
  context.moveTo(0, -9);
  context.lineTo(6, 7);
  context.lineTo(-6, 7);
  context.closePath();
  context.fill();
  context.restore();
}
