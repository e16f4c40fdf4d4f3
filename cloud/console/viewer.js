// Joins the robot's KVS signaling channel as a viewer, with what POST /viewer returns:
// {channelArn, clientId, signalingUrl (presigned), iceServers}. Plain WebSocket and
// RTCPeerConnection; the messages are KVS's: {action, messagePayload: base64(JSON)}.
// When the video stalls or the connection fails (the robot's producer restarted), it
// joins again, with a fresh presigned URL. Each connection also carries the `control` data
// channel (ordered), which `onConnection(pc, channel)` hands to whoever drives over it (and
// may add audio to), and the robot's microphone's track goes to `onAudio(track)`. The
// video's stream and how it goes are the state object's `stream` and `status`; the view
// tells `frame()` of every frame it presents.

const STALL_MS = 1000; // no new frame for this long (30 would have come): join again
const ANSWER_MS = 3000; // no answer to the offer in this time: the robot is not there yet
const RETRY_MS = 250;

const encode = (value) => btoa(JSON.stringify(value));
const decode = (text) => JSON.parse(atob(text));

export class Viewer {
  constructor({ api, token, robot, state, onConnection = () => {}, onAudio = () => {} }) {
    Object.assign(this, { api, token, robot, state, onConnection, onAudio });
    this.frames = 0;
    this.lastFrameAt = 0;
    this.session = null;
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
    this.report(`${reason}; joining again…`);
    setTimeout(() => this.join(), RETRY_MS);
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
        this.viewer.rejoin(`connection ${pc.connectionState}`);
      }
    };
    const ws = new WebSocket(join.signalingUrl);
    this.ws = ws;
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("the signaling channel refused us"));
    });
    ws.onclose = () => { if (!this.closed && pc.connectionState !== "connected") this.fail("signaling closed"); };
    const send = (action, payload) =>
      ws.send(JSON.stringify({ action, messagePayload: encode(payload), correlationId: `c${Date.now()}` }));
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && ws.readyState === WebSocket.OPEN) send("ICE_CANDIDATE", candidate.toJSON());
    };
    const answered = new Promise((resolve, reject) => {
      ws.onmessage = async (message) => {
        const event = JSON.parse(message.data);
        if (event.messageType === "SDP_ANSWER") {
          await pc.setRemoteDescription(decode(event.messagePayload));
          resolve();
        } else if (event.messageType === "ICE_CANDIDATE") {
          await pc.addIceCandidate(decode(event.messagePayload));
        } else if (event.messageType === "STATUS_RESPONSE") {
          reject(new Error("the robot is not streaming yet"));
        } else if (event.messageType === "GO_AWAY") {
          ws.close();
        }
      };
      setTimeout(() => reject(new Error("no answer from the robot yet")), ANSWER_MS);
    });
    await pc.setLocalDescription(await pc.createOffer());
    send("SDP_OFFER", { type: "offer", sdp: pc.localDescription.sdp });
    report("waiting for the robot…");
    await answered;
    report("connecting…");
  }

  fail(reason) {
    if (this.viewer.session === this) this.viewer.rejoin(reason);
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
    if (this.pc) this.pc.close();
  }
}
