// The token a secured gateway asks for: given once in the link (#token=…), then kept for
// this tab only (sessionStorage) and taken out of the address bar, so it is not bookmarked,
// shared with a screenshot of the URL, or sent to the server in a Referer.

const KEY = "rollcast.token";

/** Takes a token from `#token=…` if the link has one (and removes it), else the tab's stored one; null without. */
export function takeToken(location = window.location, history = window.history, storage = window.sessionStorage) {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const given = hash.get("token");
  if (given !== null) {
    hash.delete("token");
    const rest = hash.toString();
    history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    if (given.trim()) storage.setItem(KEY, given.trim());
    else storage.removeItem(KEY);
  }
  return storage.getItem(KEY);
}

/**
 * Why the gateway refuses this tab, or null when it does not: asked of `/api/access` (which any
 * valid token may read) after a WebSocket handshake failed, since a browser does not show a
 * failed handshake's status.
 */
export async function accessRefusal(token) {
  let response;
  try {
    response = await fetch("/api/access", { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: "no-store" });
  } catch {
    return null; // the gateway is unreachable: not a question of access
  }
  if (response.status !== 401 && response.status !== 403) return null;
  const body = await response.json().catch(() => ({}));
  return { status: response.status, reason: body.error ?? response.statusText };
}
