// What the console shows of the robot's health and of its own link to the robot: the battery
// badge (with a warning when low) from the robot's health reports, and one link indicator,
// good / fair / poor, from the video connection's figures (getStats, stats.js), with the
// figures in its title (shown on hover).

// A link is poor past any of these, good within all of the first ones.
const GOOD = { rttMs: 150, lossPct: 1, kbps: 100 };
const POOR = { rttMs: 400, lossPct: 5, kbps: 20 };

// The grade of the figures (null before there are any).
export function linkGrade(figures) {
  if (!figures || figures.rttMs === undefined) return null;
  const { rttMs, lossPct, kbps } = figures;
  if (rttMs > POOR.rttMs || lossPct > POOR.lossPct || kbps < POOR.kbps) return "poor";
  if (rttMs <= GOOD.rttMs && lossPct <= GOOD.lossPct && kbps >= GOOD.kbps) return "good";
  return "fair";
}

// The link indicator's text and title for the video's state ({connection, figures}), with what
// the robot measures of its side (its Wi-Fi signal, the control link's round trip) from its health report.
export function linkIndicator(video, grade, health) {
  const wifi = health && health.wifi;
  const roundTrip = health && health.control_link && health.control_link.round_trip_ms;
  const robotSide = [
    wifi && wifi.signal_dbm !== null ? `robot Wi-Fi ${wifi.signal_dbm} dBm` : "",
    typeof roundTrip === "number" ? `commands ${Math.round(roundTrip)} ms round trip` : "",
  ].filter(Boolean);
  if (!video || video.connection !== "connected" || !grade) {
    const title = [video ? `video ${video.connection}` : "no video yet", ...robotSide].join(" · ");
    return { grade: "none", text: "link —", title };
  }
  const { rttMs, lossPct, kbps } = video.figures;
  const title = [`round trip ${rttMs} ms`, `loss ${lossPct} %`, `${kbps} kbit/s`, ...robotSide].join(" · ");
  return { grade, text: `link ${grade}`, title };
}

// One health report from the robot: {type: "health", battery?, wifi?, control_link?, …}.
export function recordHealth(state, message) {
  state.update({ health: message });
}

// The battery badge: hidden without a gauge; its level is the class (ok, low, critical).
export function batteryBadge(health) {
  const battery = health && health.battery;
  if (!battery || battery.percent === undefined) return { hidden: true, text: "", level: "", title: "" };
  const minutes = battery.minutes_left ? `, about ${Math.round(battery.minutes_left)} min left` : "";
  const warning = { low: " — low, charge soon", critical: " — critical: forward at a crawl" }[battery.level] || "";
  const current = battery.current_ma === null ? "" : ` · ${Math.round(battery.current_ma)} mA`;
  return {
    hidden: false,
    text: `battery ${Math.round(battery.percent)} %${battery.level === "ok" ? "" : " !"}`,
    level: battery.level,
    title: `${battery.voltage.toFixed(2)} V${current}${minutes}${warning}`,
  };
}
