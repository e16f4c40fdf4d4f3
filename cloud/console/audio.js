// Two-way audio on the video's connection: the robot's microphone plays in the page (the
// view's <audio> element); the operator's microphone goes to the robot once they turn it on
// (the browser's own echo cancellation, noise suppression and gain: getUserMedia's defaults).
// Turned off, the track stays and sends silence, so turning it on again is immediate. The
// robot plays only an operator who may drive.

export class Audio {
  constructor({ state }) {
    this.state = state;
    this.track = null; // the operator's microphone, once asked for
    this.transceiver = null; // the current connection's audio
  }

  // A new connection, before its offer: audio both ways.
  attach(pc) {
    this.transceiver = pc.addTransceiver(this.track || "audio", { direction: "sendrecv" });
  }

  // The robot's microphone arrived.
  heard(track) {
    this.state.update({ roomAudio: new MediaStream([track]) });
  }

  async setMic(on) {
    if (on && !this.track) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        [this.track] = stream.getAudioTracks();
      } catch (error) {
        this.state.update({ mic: false, micProblem: `no microphone: ${error.message}` });
        return;
      }
      if (this.transceiver) await this.transceiver.sender.replaceTrack(this.track);
    }
    if (this.track) this.track.enabled = on;
    this.state.update({ mic: on, micProblem: "" });
  }
}
