// The telemetry panel: what the robot last said about itself, and its odometry trail on a
// small map that keeps the whole trail in view (grid lines every metre).

const TRAIL_POINTS = 2000;
const MIN_SPAN_M = 2;

const $ = (id) => document.getElementById(id);
const percent = (value) => `${Math.round(value * 100)} %`;

// A bar that grows from its middle: right for forwards, left for backwards.
function wheelBar(bar, value) {
  bar.style.left = `${50 + Math.min(0, value) * 50}%`;
  bar.style.width = `${Math.abs(value) * 50}%`;
  bar.className = value < 0 ? "back" : "";
}

export class TelemetryPanel {
  constructor(canvas) {
    this.canvas = canvas;
    this.trail = [];
    this.latest = null; // the latest state message
    this.rejections = []; // the latest refusals, newest last
    this.messages = 0;
    this.firstMessageAt = null; // performance.now() of the first message, for the benchmark
    this.clear();
  }

  clear() {
    this.trail = [];
    this.latest = null;
    this.draw(null);
  }

  show(message) {
    this.messages += 1;
    if (this.firstMessageAt === null) this.firstMessageAt = performance.now();
    if (message.type === "rejected") {
      this.rejections.push(message);
      if (this.rejections.length > 20) this.rejections.shift();
      const where = message.path ? ` (${message.path})` : "";
      $("t-rejected").textContent = `${message.reason}${where}`;
      return;
    }
    this.latest = message;
    $("t-link").textContent = message.link || "—";
    const video = message.video;
    $("t-video").textContent = video ? `${video.state}${video.viewers ? `, ${video.viewers} watching` : ""}` : "—";
    if (message.wheels) {
      wheelBar($("t-left"), message.wheels.left);
      wheelBar($("t-right"), message.wheels.right);
      $("t-wheels").textContent = `${percent(message.wheels.left)} / ${percent(message.wheels.right)}`;
    }
    if (message.estop) this.showLatch(message.estop);
    const command = message.command;
    $("t-reason").textContent = command ? `${command.action} (${message.reason})` : message.reason || "—";
    if (message.odometry) this.addPoint(message.odometry);
  }

  showLatch(estop) {
    const who = [estop.by && `by ${estop.by}`, estop.via && `via ${estop.via}`].filter(Boolean).join(" ");
    $("t-estop").textContent = estop.latched ? `LATCHED ${who}`.trim() : "clear";
    $("t-estop").className = estop.latched ? "latched" : "";
  }

  addPoint(pose) {
    const last = this.trail[this.trail.length - 1];
    if (!last || Math.hypot(pose.x - last.x, pose.y - last.y) > 0.005 || pose.heading !== last.heading) {
      this.trail.push({ x: pose.x, y: pose.y, heading: pose.heading });
      if (this.trail.length > TRAIL_POINTS) this.trail.shift();
    }
    $("t-pose").textContent = `x ${pose.x.toFixed(2)} m, y ${pose.y.toFixed(2)} m, heading ${Math.round((pose.heading * 180) / Math.PI)}°`;
    this.draw(pose);
  }

  draw(pose) {
    const context = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    context.clearRect(0, 0, width, height);
    const xs = this.trail.map((p) => p.x).concat([0]);
    const ys = this.trail.map((p) => p.y).concat([0]);
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
    if (this.trail.length > 1) {
      context.strokeStyle = "#4ea1ff";
      context.lineWidth = 2;
      context.beginPath();
      this.trail.forEach((p, i) => context[i ? "lineTo" : "moveTo"](...at(p.x, p.y)));
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
}
