// What the browser tests and benchmarks read in the operator console, which operators never
// get: tests/support/browser.py adds this to every page it opens, before the page's own
// scripts. It watches the console from outside, by what it sends and shows:
//
//   window.robotConsole = {
//     state,           // the console's state object (cloud/console/state.js)
//     send(command),   // one command by the console's best path; resolves to the path taken
//     sent,            // every command the page sent: [{id, action, path, at}], oldest first
//     firstMessageAt,  // performance.now() when the first telemetry message arrived, or null
//   }
//   window.robotViewer = {
//     frames,              // video frames presented
//     firstFrameMs,        // performance.now() of the first
//     joins,               // times the console asked for the camera (POST …/viewer)
//     frameJoin,           // the join the latest frame came through
//     joinFirstFrameWall,  // epoch ms of the first frame of the latest join
//   }
//
// `at` is performance.now() as the command left: a data channel's send(), or the fetch of
// POST …/publish. robotConsole appears once the console's modules have loaded.
(() => {
  const sent = [];
  const viewer = { frames: 0, firstFrameMs: null, joins: 0, frameJoin: 0, joinFirstFrameWall: null };
  window.robotViewer = viewer;

  const note = (body, path) => {
    const command = JSON.parse(body);
    if (command.action) sent.push({ id: command.id, action: command.action, path, at: performance.now() });
  };
  const channelSend = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    channelSend.call(this, data);
    if (this.label === "control") note(data, "datachannel");
  };
  const pageFetch = window.fetch;
  window.fetch = function (resource, options = {}) {
    const route = new URL(String(resource), location.href).pathname;
    if (options.method === "POST" && route.endsWith("/publish")) note(options.body, "publish");
    if (options.method === "POST" && route.endsWith("/viewer")) viewer.joins += 1;
    return pageFetch.call(this, resource, options);
  };

  addEventListener("DOMContentLoaded", async () => {
    const video = document.getElementById("video");
    if (!video) return; // not the console
    const onFrame = () => {
      viewer.frames += 1;
      if (viewer.firstFrameMs === null) viewer.firstFrameMs = performance.now();
      if (viewer.frameJoin !== viewer.joins) {
        viewer.frameJoin = viewer.joins;
        viewer.joinFirstFrameWall = Date.now();
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);

    const { state, operatorConsole } = await import(new URL("main.js", document.baseURI).href);
    const hooks = { state, sent, send: (command) => operatorConsole.send(command), firstMessageAt: null };
    state.subscribe((changed) => {
      const message = (changed.has("telemetry") && state.telemetry) || changed.has("rejections");
      if (hooks.firstMessageAt === null && message) {
        hooks.firstMessageAt = performance.now();
      }
    });
    window.robotConsole = hooks;
  });
})();
