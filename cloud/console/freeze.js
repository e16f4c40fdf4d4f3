// A frozen picture must not be driven by: when no new frame has been presented for
// VIDEO_STALE_MS (default 700 ms; `videoStaleMs` in console/config.json), the picture the
// operator steers by is old, so every drive wish is let go (one `stop` if it was moving) and
// refused until frames come again; the state's `videoFrozen` says so, and the view says it
// on the picture. A robot whose video has not played yet is not frozen: there is nothing to
// mistake for the present.

export const VIDEO_STALE_MS = 700;
const CHECK_MS = 100;

export class FreezeWatch {
  // `lastFrameAt()`: performance.now() of the latest presented frame, 0 before the first.
  constructor({ lastFrameAt, state, driver, staleMs = VIDEO_STALE_MS, now = () => performance.now() }) {
    Object.assign(this, { lastFrameAt, state, driver, staleMs, now });
    this.timer = setInterval(() => this.check(), CHECK_MS);
  }

  frozen() {
    const at = this.lastFrameAt();
    return at > 0 && this.now() - at > this.staleMs;
  }

  check() {
    const frozen = this.frozen();
    if (frozen === this.state.videoFrozen) return;
    if (frozen) this.driver.release();
    this.state.update({ videoFrozen: frozen });
  }

  stop() {
    clearInterval(this.timer);
  }
}
