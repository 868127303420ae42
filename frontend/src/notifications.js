// Keeps the unread count in the header up to date over a websocket, and reconnects after a
// network cut or sleep with a growing delay. A close with 4401 means the session has ended:
// open the page again with a GET (at most once a minute), so the server shows the sign-in
// page; never `location.reload()`, which would send again a form this page answered. A close
// while the page is being left (sign-out, any navigation) is ignored. 4403: stop trying.
const SESSION_ENDED = 4401;
const ACCESS_LOST = 4403;

export function startNotifications(badge) {
  if (!badge || !("WebSocket" in window)) return;
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${window.location.host}/ws/notifications/`;
  const live = document.getElementById("notifications-live");
  let delay = 1000;
  let leaving = false;
  window.addEventListener("beforeunload", () => { leaving = true; });
  window.addEventListener("pagehide", () => { leaving = true; });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) { leaving = false; connect(); }
  });

  function render(count) {
    badge.textContent = String(count);
    badge.hidden = count === 0;
    badge.dataset.count = String(count);
  }

  function connect() {
    const socket = new WebSocket(url);
    socket.addEventListener("open", () => { delay = 1000; });
    socket.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      if (data.type !== "unread") return;
      render(data.count);
      if (data.title && live) live.textContent = data.title;
    });
    socket.addEventListener("close", (event) => {
      if (leaving) return;
      if (event.code === SESSION_ENDED) {
        const last = Number(sessionStorage.getItem("parvis-reload") || 0);
        if (Date.now() - last > 60000) {
          sessionStorage.setItem("parvis-reload", String(Date.now()));
          window.location.assign(window.location.pathname + window.location.search);
        }
        return;
      }
      if (event.code === ACCESS_LOST) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
}
