// Joins the robot's KVS signaling channel as a viewer, with what POST /viewer returns:
// {channelArn, region, clientId, signalingUrl (presigned), iceServers}. The signaling is
// the official KVS WebRTC JS SDK's SignalingClient (kvs-webrtc.min.js, `KVSWebRTC`, loaded
// by the page before this module), which opens the socket with the URL the API presigned
// (its `requestSigner` hook), buffers the robot's candidates until the answer and reports
// the service's STATUS_RESPONSEs. A robot that is not streaming yet gets the offer when it
// starts (the service keeps it for the channel's MessageTtlSeconds): the page waits for the
// answer that long; a robot with no free viewer slot says so in its answer (docs/protocol.md),
// and the page tries again later. When the video stalls or the connection fails (the producer restarted),
// it joins again, with a fresh presigned URL, after a backoff that grows while joins fail.
// Each connection also carries the `control` data channel (ordered), which
// `onConnection(pc, channel)` hands to whoever drives over it (and may add audio to), and the
// robot's microphone's track goes to `onAudio(track)`. The video's stream and how it goes are
// the state object's `stream` and `status`; the view tells `frame()` of every frame it presents.

const STALL_MS = 1000; // no new frame for this long (30 would have come): join again
// MessageTtlSeconds (60 s by default), the producer's start and its answer's gathering.
const ANSWER_MS = 70_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 15_000;

export const retryDelay = (failures, random = Math.random) =>
  Math.min(FIRST_RETRY_MS * 2 ** failures, MAX_RETRY_MS) * (0.5 + random() / 2);

export class Viewer {
  constructor({ api, token, robot, state, onConnection = () => {}, onAudio = () => {} }) {
    Object.assign(this, { api, token, robot, state, onConnection, onAudio });
    this.frames = 0;
    this.lastFrameAt = 0;
    this.session = null;
    this.failures = 0; // joins in a row that showed no frame
  }

  report(status) {
    this.state.update({ status });
  }

  start() {
    this.join();
    this.stallTimer = setInterval(() => this.checkStall(), 250);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.stallTimer);
    clearTimeout(this.retryTimer);
    if (this.session) this.session.close();
    this.session = null;
    this.state.update({ stream: null });
  }

  get pc() {
    return this.session && this.session.pc;
  }

  frame() {
    if (this.stopped) return;
    this.frames += 1;
    this.failures = 0;
    this.lastFrameAt = performance.now();
    if (this.frames === 1 || this.stalled) this.report("watching");
    this.stalled = false;
  }

  checkStall() {
    const session = this.session;
    if (!session || session.closed || !this.lastFrameAt) return;
    if (performance.now() - this.lastFrameAt > STALL_MS && session.startedAt < this.lastFrameAt) {
      this.stalled = true;
      this.rejoin("the video stalled");
    }
  }

  rejoin(reason) {
    if (this.stopped) return;
    if (this.session) this.session.close();
    this.session = null;
    const delay = retryDelay(this.failures);
    this.failures += 1;
    this.report(`${reason}; joining again…`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.join(), delay);
  }

  async join() {
    if (this.session || this.stopped) return;
    const session = new Session(this);
    this.session = session;
    try {
      await session.open();
    } catch (error) {
      if (this.session === session) this.rejoin(error.message);
    }
  }
}

class Session {
  constructor(viewer) {
    this.viewer = viewer;
    this.closed = false;
    this.startedAt = performance.now();
    this.sent = 0;
  }

  async open() {
    const { api, token, robot } = this.viewer;
    const report = (status) => this.viewer.report(status);
    const path = robot ? `/robots/${encodeURIComponent(robot)}/viewer` : "/viewer";
    report("asking for the camera…");
    const response = await fetch(api + path, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
    });
    const join = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${join.error || ""}`);
    if (this.closed) return;
    const { SignalingClient, Role } = globalThis.KVSWebRTC;
    const signaling = new SignalingClient({
      channelARN: join.channelArn,
      channelEndpoint: new URL(join.signalingUrl).origin,
      clientId: join.clientId,
      role: Role.VIEWER,
      region: join.region,
      // The URL is presigned by the API, which holds the credentials: the page has none.
      requestSigner: { getSignedURL: async () => join.signalingUrl },
    });
    this.signaling = signaling;
    // Unique per message, within what the service accepts ([a-zA-Z0-9_.-]{1,256}).
    const correlation = () => `${join.clientId}.${(this.sent += 1)}`;
    const pc = new RTCPeerConnection({ iceServers: join.iceServers || [] });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    this.viewer.onConnection(pc, pc.createDataChannel("control", { ordered: true }));
    pc.ontrack = (event) => {
      if (!this.closed && event.track.kind === "audio") this.viewer.onAudio(event.track);
      else if (!this.closed) this.viewer.state.update({ stream: event.streams[0] || new MediaStream([event.track]) });
    };
    pc.onconnectionstatechange = () => {
      if (["failed", "closed"].includes(pc.connectionState) && !this.closed) {
        this.fail(`connection ${pc.connectionState}`);
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (this.closed) return;
      // The end of ours (an empty candidate) lets the robot's ICE fail instead of waiting.
      const sent = candidate || { candidate: "", sdpMid: "0", sdpMLineIndex: 0 };
      signaling.sendIceCandidate(sent, undefined, correlation());
    };
    signaling.on("iceCandidate", (candidate) => {
      if (!this.closed) pc.addIceCandidate(candidate).catch(() => {});
    });
    signaling.on("statusResponse", (status) => {
      console.warn("KVS signaling refused a message:", status);
    });
    const answered = new Promise((resolve, reject) => {
      signaling.on("sdpAnswer", async (answer) => {
        if (answer.refused) {
          reject(new Error(`the robot refused: ${answer.refused}`));
          return;
        }
        try {
          await pc.setRemoteDescription(answer);
          resolve();
        } catch (error) {
          reject(error);
        }
      });
      signaling.on("close", () => reject(new Error("signaling closed")));
      signaling.on("error", () => reject(new Error("the signaling channel refused us")));
      setTimeout(() => reject(new Error("no answer from the robot")), ANSWER_MS);
    });
    const opened = new Promise((resolve) => signaling.on("open", resolve));
    signaling.open();
    await Promise.race([opened, answered]);
    signaling.on("close", () => {
      if (pc.connectionState !== "connected") this.fail("signaling closed");
    });
    await pc.setLocalDescription(await pc.createOffer());
    signaling.sendSdpOffer(pc.localDescription, undefined, correlation());
    report("waiting for the robot…");
    await answered;
    report("connecting…");
  }

  fail(reason) {
    if (this.viewer.session === this) this.viewer.rejoin(reason);
  }

  close() {
    this.closed = true;
    if (this.signaling) this.signaling.close();
    if (this.pc) this.pc.close();
  }
}
