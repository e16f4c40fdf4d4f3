// The fleet: GET /robots lists the robots this token may see, each with its link state.
// Picking one drives it. Refreshed every few seconds; a stack without the route (or a
// refusal) leaves only the robot in use.

const REFRESH_MS = 5000;

export class Fleet {
  constructor({ api, token, list, onPick }) {
    Object.assign(this, { api, token, list, onPick });
    this.robots = [];
    this.current = "";
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  async refresh() {
    try {
      const response = await fetch(`${this.api}/robots`, { headers: { Authorization: `Bearer ${this.token}` } });
      if (!response.ok) throw new Error(`GET /robots: ${response.status}`);
      this.robots = (await response.json()).robots || [];
      this.error = null;
    } catch (error) {
      this.error = error.message;
    }
    this.render();
  }

  select(name) {
    this.current = name;
    this.render();
  }

  render() {
    const robots = this.robots.length || !this.current ? this.robots : [{ name: this.current, link: "unknown" }];
    if (!robots.length) {
      this.list.innerHTML = `<li class="muted">${this.error ? "no fleet list here" : "no robots"}</li>`;
      return;
    }
    this.list.replaceChildren(
      ...robots.map((robot) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.robot = robot.name;
        button.className = robot.name === this.current ? "current" : "";
        const since = robot.since ? ` since ${new Date(robot.since * 1000).toLocaleTimeString()}` : "";
        button.title = `${robot.link}${since}`;
        const dot = document.createElement("span");
        dot.className = `dot ${robot.link}`;
        const label = document.createElement("span");
        label.textContent = `${robot.name} — ${robot.link}`;
        button.append(dot, label);
        button.addEventListener("click", () => this.onPick(robot.name));
        item.append(button);
        return item;
      }),
    );
  }
}
