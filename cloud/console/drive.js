// Arrow keys drive the robot through POST /publish, with the AWS sample's commands.
// A held key repeats every 100 ms (each command drives for its TTL, 500 ms by default, so
// the robot stops by itself when the key, the page or the network goes away); letting go
// sends "stop".

const KEYS = {
  ArrowUp: "forward",
  ArrowDown: "backwards",
  ArrowLeft: "left",
  ArrowRight: "right",
  " ": "stop",
};
const REPEAT_MS = 100;

export function bindKeys({ api, token, robot, report }) {
  const path = robot ? `/robots/${encodeURIComponent(robot)}/publish` : "/publish";
  let held = null;
  let timer = null;

  async function send(action) {
    try {
      const response = await fetch(api + path, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ action }),
      });
      if (!response.ok) report(`driving refused: ${response.status}`);
    } catch (error) {
      report(`driving failed: ${error.message}`);
    }
  }

  function release() {
    clearInterval(timer);
    timer = null;
    if (held && held !== "stop") send("stop");
    held = null;
  }

  addEventListener("keydown", (event) => {
    const action = KEYS[event.key];
    if (!action || event.target.tagName === "INPUT") return;
    event.preventDefault();
    if (held === action) return; // the key's own auto-repeat: ours keeps time
    release();
    held = action;
    send(action);
    if (action !== "stop") timer = setInterval(() => send(action), REPEAT_MS);
  });
  addEventListener("keyup", (event) => { if (KEYS[event.key] === held) release(); });
  addEventListener("blur", release);
}
