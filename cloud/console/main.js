// The viewer page: the robot's camera, and arrow keys that drive it.
// Settings come from the address fragment (never sent to a server):
//   #token=<JWT>&robot=<name>&api=<REST API URL>   (robot and api are optional)
import { Viewer } from "./viewer.js";
import { bindKeys } from "./drive.js";

const params = new URLSearchParams(location.hash.slice(1));
const api = (params.get("api") || location.origin).replace(/\/$/, "");
const robot = params.get("robot") || "";
const status = document.getElementById("status");
const report = (text) => { status.textContent = text; };

function start(token) {
  const viewer = new Viewer({ api, token, robot, video: document.getElementById("video"), report });
  viewer.start();
  bindKeys({ api, token, robot, report });
  window.robotViewer = viewer; // for the browser tests and the latency benchmark
}

const token = params.get("token");
if (token) {
  start(token);
} else {
  const form = document.getElementById("login");
  form.hidden = false;
  report("a token is needed to watch");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    form.hidden = true;
    start(document.getElementById("token").value.trim());
  });
}
