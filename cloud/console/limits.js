// What holds the robot back, from its state message: the distance its obstacle guard sees
// ahead, and the limiter stage capping the wheels (`limited_by`: link, obstacle, battery)
// with the link's round trip and the speed it allows. Text only: the view shows it.

export function describeLimits(telemetry) {
  const message = telemetry || {};
  const obstacle = message.obstacle;
  let ahead = "—"; // no guard on this robot
  if (obstacle) {
    if (obstacle.blind) ahead = "sensor silent: forward refused";
    else ahead = obstacle.distance_m === null ? "nothing in range" : `${obstacle.distance_m.toFixed(2)} m`;
  }
  const link = message.link_speed;
  const linkText = link && link.round_trip_ms !== null ? ` (round trip ${Math.round(link.round_trip_ms)} ms, at most ${Math.round(link.max_speed * 100)} %)` : "";
  const limitedBy = message.limited_by;
  const limit = !limitedBy ? "—" : limitedBy === "link" ? `link${linkText}` : limitedBy;
  return { ahead, limit };
}
