// The discussion island: new messages, edits, reactions, typing and unread counts without a
// reload, over the page's websocket (/ws/discussion/<id>/).
//
// Nothing is lost and nothing shows twice:
// - every change of a conversation has a number (`seq`); the page keeps the last one it applied
//   (`last`) and asks the server for everything after it when the socket opens, when a number
//   jumps (a lost event), and every 25 seconds anyway; a message's state is applied only if it
//   is newer than the one shown (`u`), so receiving it twice changes nothing;
// - a message is sent with an id chosen here and kept in localStorage until the server
//   acknowledges it, so one written while offline is sent once the connection is back, and one
//   sent again after a cut is stored once (the server keys it by that id).
// Without JavaScript the page's forms do the same through ordinary requests.
const SESSION_ENDED = 4401;
const ACCESS_LOST = 4403;

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function when(iso) {
  const date = new Date(iso);
  const two = (n) => String(n).padStart(2, "0");
  return `${two(date.getDate())}/${two(date.getMonth() + 1)}/${date.getFullYear()} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

export function startChat(root) {
  if (!root || !("WebSocket" in window)) return;
  const d = root.dataset;
  const t = (key, params = {}) => (d[key] || "").replace(/\{(\w+)\}/g, (_, k) => params[k] ?? "");
  const me = Number(d.user);
  const conversation = Number(d.conversation);
  const threadId = d.thread ? Number(d.thread) : null;
  const manage = d.manage === "1";
  const canPost = d.post === "1";
  const palette = (d.reactions || "").split(" ").filter(Boolean);
  const list = root.querySelector("[data-messages]");
  const status = root.querySelector("[data-chat-status]");
  const live = root.querySelector("[data-chat-live]");
  const typing = root.querySelector("[data-typing]");
  const composer = root.querySelector("[data-composer]");
  const here = root.querySelector("[data-unread-here]");
  const markForm = root.querySelector("[data-mark-read]");
  const outboxKey = `parvis-chat-outbox-${conversation}`;
  const known = new Map(); // message id -> the `u` of the state shown
  let last = Number(d.head) || 0;
  let socket = null;
  let open = false;
  let syncing = false;
  let missed = false;
  let delay = 1000;
  let leaving = false;
  let stopped = false;
  let lastTyping = 0;
  let lastRead = 0;
  let typingTimer = null;

  window.addEventListener("beforeunload", () => { leaving = true; });
  window.addEventListener("pagehide", () => { leaving = true; });

  // --- Outbox: messages written but not yet acknowledged -----------------------------------
  const outbox = () => {
    try { return JSON.parse(localStorage.getItem(outboxKey) || "[]"); } catch { return []; }
  };
  const saveOutbox = (items) => {
    try { localStorage.setItem(outboxKey, JSON.stringify(items)); } catch { /* private mode */ }
  };
  const dropFromOutbox = (clientId) => {
    saveOutbox(outbox().filter((item) => item.client_id !== clientId));
    const pending = list.querySelector(`[data-client-id="${clientId}"]`);
    if (pending) pending.remove();
  };

  function send(data) {
    if (socket && open) socket.send(JSON.stringify(data));
  }

  function requestSync() {
    syncing = true;
    send({ type: "sync", after: last });
  }

  // --- Drawing a message ---------------------------------------------------------------------
  function shows(state) {
    return threadId === null ? state.parent === null : state.id === threadId || state.parent === threadId;
  }

  function repliesText(n) {
    if (!n) return t("tReply");
    return n === 1 ? t("tReplyOne") : t("tReplies", { n });
  }

  function build(state) {
    const li = el("li", state.deleted ? "msg is-deleted" : "msg");
    li.id = `m-${state.id}`;
    Object.assign(li.dataset, {
      id: state.id, seq: state.seq, u: state.u, author: state.author ?? "",
      parent: state.parent ?? "", replies: state.replies,
    });
    if (state.author === me && !state.deleted) li.dataset.src = state.src || "";
    const head = el("p", "msg-head");
    head.append(el("span", "msg-author", state.name), " ");
    const time = el("time", "", when(state.at));
    time.dateTime = state.at;
    head.append(time);
    if (state.edited) head.append(" ", el("span", "msg-edited", t("tEdited")));
    const body = el("div", "msg-body");
    if (state.deleted) body.append(el("p", "muted", t("tDeleted")));
    else body.innerHTML = state.html; // sanitised by the server (nh3, a short allow-list)
    li.append(head, body);
    if (state.files && state.files.length) {
      const files = el("ul", "msg-files");
      for (const f of state.files) {
        const item = el("li");
        const link = el("a", "", f.name);
        link.href = f.url;
        item.append(link);
        files.append(item);
      }
      li.append(files);
    }
    if (state.links && state.links.length) {
      const previews = el("div", "msg-previews");
      li.append(previews);
      for (const path of state.links) loadPreview(previews, path);
    }
    const reactions = el("div", "msg-reactions");
    for (const [emoji, users] of state.reactions || []) {
      const chip = el("span", "reaction", `${emoji} ${users.length}`);
      chip.dataset.emoji = emoji;
      chip.dataset.users = users.join(",");
      reactions.append(chip);
    }
    li.append(reactions);
    if (threadId === null && state.parent === null) {
      const foot = el("p", "msg-foot");
      const link = el("a", "", repliesText(state.replies));
      link.href = `${d.threadBase}${state.id}/`;
      foot.append(link);
      li.append(foot);
    }
    enhance(li);
    return li;
  }

  async function loadPreview(box, path) {
    try {
      const response = await fetch(`${d.previewUrl}?lien=${encodeURIComponent(path)}`, { credentials: "same-origin" });
      if (response.status !== 200) return;
      const holder = document.createElement("div");
      holder.innerHTML = await response.text(); // rendered and escaped by the server
      box.append(...holder.childNodes);
    } catch { /* no preview */ }
  }

  // Buttons a page with JavaScript adds to each message: reactions, edit, delete.
  function enhance(li) {
    const deleted = li.classList.contains("is-deleted");
    const author = Number(li.dataset.author);
    const id = Number(li.dataset.id);
    for (const chip of li.querySelectorAll(".reaction")) {
      const button = el("button", "reaction", chip.textContent);
      button.type = "button";
      button.dataset.emoji = chip.dataset.emoji;
      const mine = (chip.dataset.users || "").split(",").includes(String(me));
      button.setAttribute("aria-pressed", mine ? "true" : "false");
      button.setAttribute("aria-label", t("tReactWith", { emoji: chip.dataset.emoji }));
      button.disabled = !canPost || deleted;
      button.addEventListener("click", () => send({ type: "react", id, emoji: button.dataset.emoji }));
      chip.replaceWith(button);
    }
    if (deleted || !canPost) return;
    const tools = el("div", "msg-tools");
    const react = el("details", "react-menu");
    const summary = el("summary", "", t("tReact"));
    react.append(summary);
    for (const emoji of palette) {
      const button = el("button", "link", emoji);
      button.type = "button";
      button.setAttribute("aria-label", t("tReactWith", { emoji }));
      button.addEventListener("click", () => { send({ type: "react", id, emoji }); react.open = false; });
      react.append(button);
    }
    tools.append(react);
    if (author === me) {
      const edit = el("button", "link", t("tEdit"));
      edit.type = "button";
      edit.addEventListener("click", () => startEdit(li));
      tools.append(edit);
    }
    if (author === me || manage) {
      const remove = el("button", "link", t("tDelete"));
      remove.type = "button";
      remove.addEventListener("click", () => {
        if (window.confirm(t("tConfirmDelete"))) send({ type: "delete", id });
      });
      tools.append(remove);
    }
    li.append(tools);
  }

  function startEdit(li) {
    const body = li.querySelector(".msg-body");
    if (!body || li.querySelector("form.msg-edit")) return;
    const form = el("form", "msg-edit");
    const label = el("label", "visually-hidden", t("tEdit"));
    const area = el("textarea");
    area.id = `edit-${li.dataset.id}`;
    label.htmlFor = area.id;
    area.rows = 3;
    area.value = li.dataset.src || "";
    const save = el("button", "", t("tSave"));
    save.type = "submit";
    const cancel = el("button", "secondary", t("tCancel"));
    cancel.type = "button";
    form.append(label, area, save, " ", cancel);
    body.hidden = true;
    body.after(form);
    area.focus();
    cancel.addEventListener("click", () => { form.remove(); body.hidden = false; });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send({ type: "edit", id: Number(li.dataset.id), body: area.value });
      form.remove();
      body.hidden = false;
    });
  }

  function apply(state) {
    if (state.u < (known.get(state.id) ?? -1)) return; // an older state than the one shown
    known.set(state.id, state.u);
    if (!shows(state)) return;
    const existing = document.getElementById(`m-${state.id}`);
    const fresh = build(state);
    if (existing) {
      existing.replaceWith(fresh);
      return;
    }
    const empty = list.querySelector("[data-empty]");
    if (empty) empty.remove();
    const after = [...list.querySelectorAll("li.msg:not(.is-pending)")].find((li) => Number(li.dataset.seq) > state.seq);
    const pending = list.querySelector("li.is-pending");
    list.insertBefore(fresh, after || pending || null);
    if (state.author !== me && !state.deleted) {
      if (live) live.textContent = t("tNew", { name: state.name });
      if (document.visibilityState === "visible") markRead();
      else setUnreadHere(Number(here?.textContent || 0) + 1);
    }
  }

  // --- Unread counts -------------------------------------------------------------------------
  function setBadge(badge, n) {
    if (!badge) return;
    badge.dataset.n = String(n);
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = n === 0;
  }
  function setUnreadHere(n) {
    setBadge(here, n);
    setBadge(document.querySelector(`[data-unread-for="${conversation}"]`), n);
  }
  function markRead() {
    const now = Date.now();
    if (now - lastRead < 1000) return;
    lastRead = now;
    send({ type: "read" });
    setUnreadHere(0);
  }

  // --- What the server says ------------------------------------------------------------------
  function handle(data) {
    switch (data.type) {
      case "ready":
        delay = 1000;
        setStatus("");
        requestSync();
        for (const item of outbox()) send({ type: "post", ...item });
        if (document.visibilityState === "visible" && Number(here?.textContent || 0) > 0) markRead();
        break;
      case "sync":
        for (const state of data.messages) apply(state);
        last = Math.max(last, data.head);
        if (data.more) { requestSync(); break; }
        syncing = false;
        if (missed) { missed = false; requestSync(); }
        break;
      case "event":
        if (data.seq <= last) break;
        if (syncing) { missed = true; break; }
        if (data.seq !== last + 1) { requestSync(); break; }
        for (const state of data.messages) apply(state);
        last = data.seq;
        break;
      case "activity": {
        if (data.conversation === conversation || !data.new || data.new === me) break;
        const badge = document.querySelector(`[data-unread-for="${data.conversation}"]`);
        if (badge) setBadge(badge, Number(badge.dataset.n || 0) + 1);
        break;
      }
      case "read":
        if (data.conversation === conversation) setUnreadHere(0);
        else setBadge(document.querySelector(`[data-unread-for="${data.conversation}"]`), 0);
        break;
      case "typing":
        if (data.user === me || !typing) break;
        typing.textContent = t("tTyping", { name: data.name });
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => { typing.textContent = ""; }, 4000);
        break;
      case "ack":
        if (data.action === "post" && data.client_id) dropFromOutbox(data.client_id);
        break;
      case "error":
        if (data.client_id) dropFromOutbox(data.client_id);
        if (data.message) setStatus(data.message);
        break;
      default:
        break;
    }
  }

  function setStatus(text) {
    if (status) status.textContent = text;
  }

  function connect() {
    if (stopped || (socket && socket.readyState <= WebSocket.OPEN)) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const current = new WebSocket(`${scheme}://${window.location.host}${d.socket}`);
    socket = current;
    // A socket given up on (see "offline" below) says nothing more to the page.
    current.addEventListener("open", () => { if (socket === current) open = true; });
    current.addEventListener("message", (event) => { if (socket === current) handle(JSON.parse(event.data)); });
    current.addEventListener("close", (event) => {
      if (socket !== current) return;
      open = false;
      syncing = false;
      if (leaving) return;
      if (event.code === SESSION_ENDED) {
        const lastReload = Number(sessionStorage.getItem("parvis-reload") || 0);
        if (Date.now() - lastReload > 60000) {
          sessionStorage.setItem("parvis-reload", String(Date.now()));
          window.location.assign(window.location.pathname + window.location.search);
        }
        return;
      }
      if (event.code === ACCESS_LOST) {
        stopped = true;
        setStatus(t("tRefused"));
        if (composer) composer.hidden = true;
        return;
      }
      setStatus(t("tOffline"));
      if (navigator.onLine === false) return; // the "online" event will connect again
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  // --- The page's forms ----------------------------------------------------------------------
  if (composer) {
    const area = composer.querySelector("textarea");
    const files = composer.querySelector("input[type=file]");
    composer.addEventListener("submit", (event) => {
      if (files && files.files.length) return; // files go through the form, as without JavaScript
      event.preventDefault();
      const body = area.value.trim();
      if (!body) return;
      const item = { client_id: newId(), body, parent: threadId };
      saveOutbox([...outbox(), item]);
      showPending(item);
      area.value = "";
      send({ type: "post", ...item });
    });
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        composer.requestSubmit();
      }
    });
    area.addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTyping > 2000) { lastTyping = now; send({ type: "typing" }); }
    });
  }

  function showPending(item) {
    const li = el("li", "msg is-pending");
    li.dataset.clientId = item.client_id;
    li.append(el("p", "msg-head", t("tSending")), el("div", "msg-body", item.body));
    const empty = list.querySelector("[data-empty]");
    if (empty) empty.remove();
    list.append(li);
  }
  for (const item of outbox()) showPending(item);

  if (markForm) {
    markForm.addEventListener("submit", (event) => {
      if (!open) return;
      event.preventDefault();
      lastRead = 0;
      markRead();
    });
  }

  for (const li of list.querySelectorAll("li.msg")) {
    if (li.classList.contains("is-pending")) continue;
    known.set(Number(li.dataset.id), Number(li.dataset.u));
    enhance(li);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && Number(here?.textContent || 0) > 0) markRead();
  });
  // When the network goes, a socket may stay "open" for minutes without carrying anything (no
  // close comes until TCP gives up), and a message sent into it would wait for that. The browser
  // knows sooner: the socket is dropped at once, what is written meanwhile waits in the outbox,
  // and the page connects again (and sends it) when the browser says the network is back, not
  // before (an attempt while offline can only fail).
  window.addEventListener("offline", () => {
    if (stopped || !socket) return;
    const dropped = socket;
    socket = null;
    open = false;
    syncing = false;
    dropped.close();
    setStatus(t("tOffline"));
  });
  window.addEventListener("online", () => { if (!open && !stopped) { delay = 1000; connect(); } });
  setInterval(() => { if (open && !syncing) requestSync(); }, 25000);
  connect();
}
