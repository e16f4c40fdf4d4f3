// Who drives and who watches: the robot's drive lease as telemetry reports it (`session`:
// {driver, since, requested_by, watchers}), what this operator may do about it, and guest
// links (POST /robots/{name}/guests, for admins). The hand-over steps themselves are commands
// (request_control, accept_control, decline_control, release_control, take_control), sent
// like any other by control.js.

const GUEST_PREFIX = "guest:"; // a guest link's subject: guest:<name>:<id>

// A subject as a person reads it: a guest's name with a badge, anyone else's subject as it is.
export function person(subject) {
  if (!subject || !subject.startsWith(GUEST_PREFIX)) return { name: subject || "", guest: false };
  const rest = subject.slice(GUEST_PREFIX.length);
  const cut = rest.lastIndexOf(":");
  return { name: cut > 0 ? rest.slice(0, cut) : rest, guest: true };
}

// What the session panel shows and offers, for the state object.
export function seat(state) {
  const session = (state.telemetry && state.telemetry.session) || null;
  const me = state.operator;
  if (!session) return { known: false, role: "", driver: null, watchers: [], asking: null, offers: {} };
  const { driver, requested_by: asking } = session;
  const driving = Boolean(driver) && driver === me;
  const role = !state.drives ? "watching only" : driving ? "driving" : driver ? "watching" : "nobody drives: drive to take control";
  return {
    known: true,
    role,
    driver: driver ? person(driver) : null,
    watchers: (session.watchers || []).map(person),
    asking: driving && asking ? { subject: asking, ...person(asking) } : null,
    offers: {
      request: state.drives && Boolean(driver) && !driving && asking !== me,
      requested: Boolean(driver) && !driving && asking === me,
      take: state.admin && Boolean(driver) && !driving,
      release: driving,
    },
  };
}

// A guest link for `robot`: {url, token, subject, expires} or an Error with the reason.
export async function invite({ api, token, robot, name, drive, hours }) {
  const response = await fetch(`${api}/robots/${encodeURIComponent(robot)}/guests`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, drive, ttl_s: Math.round(hours * 3600) }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.reason || body.error || body.message || `${response.status}`);
  return body;
}
