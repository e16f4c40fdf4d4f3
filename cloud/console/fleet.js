// The fleet: GET /robots lists the robots this token may see, each with its link state, into
// the state object's `fleet`. Refreshed every few seconds; a stack without the route (or a
// refusal) leaves only the robot in use.

const REFRESH_MS = 5000;

export class Fleet {
  constructor({ api, token, state }) {
    Object.assign(this, { api, token, state });
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  async refresh() {
    try {
      const response = await fetch(`${this.api}/robots`, { headers: { Authorization: `Bearer ${this.token}` } });
      if (!response.ok) throw new Error(`GET /robots: ${response.status}`);
      this.state.update({ fleet: { robots: (await response.json()).robots || [], error: null } });
    } catch (error) {
      this.state.update({ fleet: { robots: this.state.fleet.robots, error: error.message } });
    }
  }
}

// The robots to list: the fleet's, else the one in use (its link unknown); with a note when
// there are none.
export function listed({ robots, error }, current) {
  if (robots.length || !current) {
    return { robots, note: robots.length ? "" : error ? "no fleet list here" : "no robots" };
  }
  return { robots: [{ name: current, link: "unknown" }], note: "" };
}
