// The video overlay's figures: latency, frame rate, bitrate and size of the video, from
// getStats() once a second, into the state object's `video`. Latency here is what the
// receiving side can know: half the ICE round trip plus the time frames wait in the jitter
// buffer (the tests measure glass to glass from a clock the test cameras draw in the picture).

const PERIOD_MS = 1000;

// The figures between two inbound-rtp reports of the video, `rtt` the ICE round trip in s.
export function figures(previous, inbound, rtt) {
  const seconds = (inbound.timestamp - previous.timestamp) / 1000;
  const emitted = inbound.jitterBufferEmittedCount - previous.jitterBufferEmittedCount;
  const buffered = emitted > 0 ? ((inbound.jitterBufferDelay - previous.jitterBufferDelay) / emitted) * 1000 : 0;
  const lost = (inbound.packetsLost || 0) - (previous.packetsLost || 0);
  const received = inbound.packetsReceived - previous.packetsReceived;
  return {
    rttMs: Math.round((rtt || 0) * 1000),
    lossPct: lost + received > 0 ? Math.round((Math.max(0, lost) / (lost + received)) * 1000) / 10 : 0,
    latencyMs: Math.round((rtt || 0) * 500 + buffered),
    fps: Math.round((inbound.framesDecoded - previous.framesDecoded) / seconds),
    kbps: Math.round(((inbound.bytesReceived - previous.bytesReceived) * 8) / seconds / 1000),
    width: inbound.frameWidth,
    height: inbound.frameHeight,
  };
}

export function overlay(video) {
  if (!video) return "no video yet";
  if (video.connection !== "connected") return `video: ${video.connection}`;
  const { latencyMs, fps, kbps, width, height } = video.figures;
  const rate = kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
  return `${latencyMs} ms · ${fps} fps · ${rate} · ${width}×${height}`;
}

export class VideoStats {
  constructor(viewer, state) {
    Object.assign(this, { viewer, state });
    this.previous = null;
    this.timer = setInterval(() => this.update(), PERIOD_MS);
  }

  stop() {
    this.stopped = true; // a getStats() under way belongs to the robot left behind
    clearInterval(this.timer);
  }

  async update() {
    const pc = this.viewer.pc;
    const figuresSoFar = this.state.video && this.state.video.figures;
    if (!pc || pc.connectionState !== "connected") {
      this.previous = null;
      this.state.update({ video: { connection: pc ? pc.connectionState : "joining", figures: figuresSoFar } });
      return;
    }
    let inbound = null;
    let rtt = null;
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "video") inbound = report;
      if (report.type === "candidate-pair" && report.nominated && report.currentRoundTripTime !== undefined) {
        rtt = report.currentRoundTripTime;
      }
    });
    if (!inbound || this.stopped) return;
    const previous = this.previous;
    this.previous = inbound;
    // Connected counts from the first figures: until then the overlay says how it got here.
    if (previous) this.state.update({ video: { connection: "connected", figures: figures(previous, inbound, rtt) } });
  }
}
