// Glass-to-glass latency: every frame the robot's drawn cameras send carries the wall-clock
// time it was drawn, in a strip of 48 black/white blocks across its top 16 rows (44 bits of
// epoch milliseconds, most significant first, then 4 check bits: the sum of the value's
// eleven nibbles modulo 16; robot/producer/timestamp.py draws it). For each frame the browser
// presents, this reads the strip and subtracts it from the time of presentation. A benchmark
// tool, not the console's: test pages get it at /latency.js (tests/support/browser.py).

const BLOCKS = 48;
const ROW = 8;

export function readStamp(pixels, width) {
  // pixels: RGBA of one row of the frame
  const block = Math.floor(width / BLOCKS);
  let word = 0;
  for (let i = 0; i < BLOCKS; i++) {
    const x = (i * block + Math.floor(block / 2)) * 4;
    const luma = (pixels[x] + pixels[x + 1] + pixels[x + 2]) / 3;
    word = word * 2 + (luma >= 128 ? 1 : 0);
  }
  let value = Math.floor(word / 16);
  const stamp = value;
  let check = 0;
  for (let i = 0; i < 11; i++) {
    check += value % 16;
    value = Math.floor(value / 16);
  }
  return check % 16 === word % 16 ? stamp : null;
}

// Latencies in ms of the frames presented during `seconds`.
export function measure(video, seconds) {
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const latencies = [];
  let unreadable = 0;
  return new Promise((resolve) => {
    const end = performance.now() + seconds * 1000;
    function onFrame(now, metadata) {
      const width = metadata.width;
      canvas.width = width;
      canvas.height = ROW + 1;
      context.drawImage(video, 0, 0, width, metadata.height, 0, 0, width, metadata.height);
      const stamp = readStamp(context.getImageData(0, ROW, width, 1).data, width);
      const presented = performance.timeOrigin + metadata.expectedDisplayTime;
      if (stamp === null) unreadable += 1;
      else latencies.push(presented - stamp);
      if (performance.now() < end) video.requestVideoFrameCallback(onFrame);
      else resolve({ latencies, unreadable });
    }
    video.requestVideoFrameCallback(onFrame);
  });
}
