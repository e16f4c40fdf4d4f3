// The video overlay: latency, frame rate, bitrate and size of the video, from getStats()
// once a second. Latency here is what the receiving side can know: half the ICE round trip
// plus the time frames wait in the jitter buffer (the robot's drawn test cameras also carry
// a clock in the picture, which latency.js reads for glass-to-glass figures).

const PERIOD_MS = 1000;

export class VideoStats {
  constructor(viewer, element) {
    Object.assign(this, { viewer, element });
    this.previous = null;
    this.figures = null; // the latest figures, for the tests and the benchmark
    this.timer = setInterval(() => this.update(), PERIOD_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  async update() {
    const pc = this.viewer.pc;
    if (!pc || pc.connectionState !== "connected") {
      this.previous = null;
      this.element.textContent = pc ? `video: ${pc.connectionState}` : "video: joining";
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
    if (!inbound) return;
    const previous = this.previous;
    this.previous = inbound;
    if (!previous) return;
    const seconds = (inbound.timestamp - previous.timestamp) / 1000;
    const emitted = inbound.jitterBufferEmittedCount - previous.jitterBufferEmittedCount;
    const buffered = emitted > 0 ? ((inbound.jitterBufferDelay - previous.jitterBufferDelay) / emitted) * 1000 : 0;
    this.figures = {
      latencyMs: Math.round((rtt || 0) * 500 + buffered),
      fps: Math.round((inbound.framesDecoded - previous.framesDecoded) / seconds),
      kbps: Math.round(((inbound.bytesReceived - previous.bytesReceived) * 8) / seconds / 1000),
      width: inbound.frameWidth,
      height: inbound.frameHeight,
    };
    const { latencyMs, fps, kbps, width, height } = this.figures;
    const rate = kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
    this.element.textContent = `${latencyMs} ms · ${fps} fps · ${rate} · ${width}×${height}`;
  }
}
