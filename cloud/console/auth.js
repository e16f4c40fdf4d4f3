// Sign-in: the operator's JWT, which every request and the data channel's hello carry.
// It comes from, in this order:
//   - the address fragment, `#token=<JWT>` (what `robot sim` prints; a fragment never reaches
//     a server), which is then removed from the address bar;
//   - the return from the identity provider (`?code=…&state=…`): OIDC authorization code
//     with PKCE (RFC 7636), exchanged at the provider's token endpoint by the page itself;
//   - this tab's session storage (a reload keeps the operator signed in, a new tab does not);
//   - a token pasted into the sign-in form.

const STORED = "robot-console-token";
const PENDING = "robot-console-oidc"; // {state, verifier} while at the identity provider

export function claims(token) {
  // For display only (who, which scopes): the robot and the authorizer verify the signature.
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return null;
  }
}

export function scopes(token) {
  const found = claims(token) || {};
  const raw = found.scope ?? found.scp ?? "";
  return new Set((Array.isArray(raw) ? raw.join(" ") : String(raw)).split(/\s+/).filter(Boolean));
}

function expired(token) {
  const exp = (claims(token) || {}).exp;
  return typeof exp === "number" && exp * 1000 <= Date.now();
}

export function remember(token) {
  const found = claims(token);
  if (!found) throw new Error("that is not a JWT");
  if (expired(token)) throw new Error("that token has expired");
  sessionStorage.setItem(STORED, token);
  return token;
}

export function forget() {
  sessionStorage.removeItem(STORED);
}

// The token to use now, or null when the operator must sign in.
export async function currentToken(oidc) {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("token")) {
    const token = fragment.get("token");
    fragment.delete("token");
    history.replaceState(null, "", location.pathname + location.search + (fragment.size ? `#${fragment}` : ""));
    return remember(token);
  }
  const query = new URLSearchParams(location.search);
  if ((query.has("code") || query.has("error")) && oidc) return remember(await finishOidc(oidc, query));
  const stored = sessionStorage.getItem(STORED);
  if (stored && !expired(stored)) return stored;
  forget();
  return null;
}

const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const randomText = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => location.origin + location.pathname;

// The discovery document names its issuer, which must be the configured one exactly (OpenID
// Connect Discovery 1.0, 4.3): otherwise a document from elsewhere would pick the endpoints
// the operator's code and verifier go to.
async function discover(oidc) {
  const response = await fetch(`${oidc.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the identity provider's discovery answered ${response.status}`);
  const provider = await response.json();
  if (provider.issuer !== oidc.issuer) {
    throw new Error(`the identity provider calls itself ${provider.issuer}, not ${oidc.issuer}`);
  }
  return provider;
}

// Off to the identity provider; it sends the browser back here with ?code=…&state=….
export async function beginOidc(oidc) {
  const provider = await discover(oidc);
  const verifier = randomText();
  const state = randomText();
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING, JSON.stringify({ state, verifier }));
  const url = new URL(provider.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: oidc.client_id,
    redirect_uri: redirectUri(),
    scope: oidc.scopes,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(url);
}

async function finishOidc(oidc, query) {
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", location.pathname + location.hash); // the code is single-use
  if (query.has("error")) throw new Error(`the identity provider said: ${query.get("error")}`);
  if (!pending || pending.state !== query.get("state")) throw new Error("the sign-in did not start here; try again");
  const provider = await discover(oidc);
  const response = await fetch(provider.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: query.get("code"),
      redirect_uri: redirectUri(),
      client_id: oidc.client_id,
      code_verifier: pending.verifier,
    }),
  });
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`the token exchange failed: ${tokens.error || response.status}`);
  // The access token is what the authorizer verifies (issuer, audience, scopes).
  return tokens.access_token;
}
