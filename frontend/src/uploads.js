// Uploads with progress: files and whole folders (chosen or dropped), one bar per file and
// one overall. Small files go in one form post; large ones in chunks that survive a network
// cut (the upload waits for the connection and resumes where the server stands) and a page
// reload (the upload's address is kept in localStorage). Without JavaScript the form still
// posts the files.
const CHUNKED_FROM = 8 * 1024 * 1024;
const BATCH_BYTES = 32 * 1024 * 1024;

function csrfToken(form) {
  const input = form.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function request(method, url, { body = null, headers = {}, onProgress = null } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded));
    xhr.addEventListener("load", () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText || "{}"); } catch (_e) { data = {}; }
      resolve({ status: xhr.status, data });
    });
    xhr.addEventListener("error", () => reject(new Error("network")));
    xhr.addEventListener("abort", () => reject(new Error("network")));
    xhr.send(body);
  });
}

function waitOnline() {
  if (navigator.onLine) return new Promise((r) => setTimeout(r, 2000));
  return new Promise((resolve) => window.addEventListener("online", resolve, { once: true }));
}

// Files of a drop, with their path inside the dropped folders.
async function droppedFiles(items) {
  const found = [];
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      found.push({ file, path: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      let batch;
      do {
        batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      } while (batch.length);
    }
  }
  const entries = [...items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  for (const entry of entries) await walk(entry, "");
  return found;
}

class Row {
  constructor(list, label, size, texts) {
    this.size = size;
    this.sent = 0;
    this.texts = texts;
    this.el = document.createElement("p");
    this.name = document.createElement("span");
    this.name.textContent = label;
    this.state = document.createElement("span");
    this.state.textContent = ` — ${texts.waiting}`;
    this.bar = document.createElement("progress");
    this.bar.max = Math.max(size, 1);
    this.bar.value = 0;
    this.bar.setAttribute("aria-label", label);
    this.el.append(this.name, this.state, document.createElement("br"), this.bar);
    list.append(this.el);
  }
  progress(sent) { this.sent = Math.min(sent, this.size); this.bar.value = this.sent; }
  done() { this.progress(this.size); this.state.textContent = ` — ${this.texts.done}`; this.el.dataset.state = "done"; }
  fail(message) {
    this.state.textContent = ` — ${this.texts.failed}${message ? ` : ${message}` : ""}`;
    this.el.dataset.state = "failed";
  }
  note(message) { this.state.textContent = ` — ${message}`; }
}

export function startUploads(form) {
  if (!form || !("XMLHttpRequest" in window)) return;
  const list = form.querySelector("[data-progress]");
  const zone = form.querySelector("[data-dropzone]");
  const texts = {
    done: form.dataset.done, failed: form.dataset.failed, waiting: form.dataset.waiting,
    offline: form.dataset.offline, total: form.dataset.total, sending: form.dataset.sending,
  };
  const token = csrfToken(form);
  let total = null;

  function updateTotal(rows) {
    const size = rows.reduce((s, r) => s + r.size, 0);
    const sent = rows.reduce((s, r) => s + r.sent, 0);
    total.progress(size ? (sent / size) * total.size : 0);
  }

  async function sendBatch(batch, rows) {
    const body = new FormData();
    body.append("csrfmiddlewaretoken", token);
    for (const { file, path } of batch) {
      body.append("files", file, file.name);
      body.append("paths", path);
      body.append("modified", String(file.lastModified || ""));
    }
    const sizes = batch.map((b) => b.file.size);
    const mine = rows.slice(0, batch.length);
    mine.forEach((row) => row.note(texts.sending));
    const reply = await request("POST", form.action, {
      body,
      headers: { "X-CSRFToken": token },
      onProgress: (loaded) => {
        let left = loaded;
        mine.forEach((row, i) => { row.progress(Math.min(left, sizes[i])); left -= sizes[i]; });
        updateTotal(rowsAll);
      },
    });
    const errors = reply.data.errors || [];
    mine.forEach((row, i) => {
      const error = errors.find((e) => e.startsWith(`${batch[i].file.name} :`));
      if (error || reply.status >= 400) row.fail(error || (errors[0] || ""));
      else row.done();
    });
  }

  // A request that a network cut stops is made again once the connection is back.
  async function untilSent(row, send) {
    for (;;) {
      try { return await send(); } catch (_e) {
        row.note(texts.offline);
        await waitOnline();
        row.note(texts.sending);
      }
    }
  }

  async function sendChunked({ file, path }, row) {
    row.note(texts.sending);
    const key = `parvis-upload|${form.dataset.startUrl}|${path}|${file.size}|${file.lastModified}`;
    let state = null;
    const kept = localStorage.getItem(key);
    if (kept) {
      try {
        const reply = await request("GET", JSON.parse(kept).url);
        if (reply.status === 200) state = reply.data;
      } catch (_e) { state = null; }
    }
    if (!state) {
      const body = new FormData();
      body.append("name", file.name);
      body.append("size", String(file.size));
      body.append("path", path);
      body.append("modified", String(file.lastModified || ""));
      const reply = await untilSent(row, () => request("POST", form.dataset.startUrl, { body, headers: { "X-CSRFToken": token } }));
      if (reply.status !== 201) { row.fail(reply.data.error); return; }
      state = reply.data;
      localStorage.setItem(key, JSON.stringify({ url: state.url }));
    }
    let offset = state.offset;
    while (offset < file.size) {
      const end = Math.min(offset + state.chunk, file.size);
      try {
        const reply = await request("PUT", state.url, {
          body: file.slice(offset, end),
          headers: { "X-CSRFToken": token, "Upload-Offset": String(offset), "Content-Type": "application/octet-stream" },
          onProgress: (loaded) => { row.progress(offset + loaded); updateTotal(rowsAll); },
        });
        if (reply.status === 200) { offset = reply.data.offset; row.progress(offset); continue; }
        if (reply.status === 409 && typeof reply.data.offset === "number") { offset = reply.data.offset; continue; }
        row.fail(reply.data.error); return;
      } catch (_e) {
        // What the lost chunk had sent no longer counts: only acknowledged bytes are shown.
        row.progress(offset);
        updateTotal(rowsAll);
        row.note(texts.offline);
        await waitOnline();
        try {
          const status = await request("GET", state.url);
          if (status.status === 200) offset = status.data.offset;
        } catch (_e2) { /* still offline: try again */ }
        row.progress(offset);
        row.note(texts.sending);
      }
    }
    const finished = await untilSent(row, () => request("POST", `${state.url}terminer/`, { headers: { "X-CSRFToken": token } }));
    localStorage.removeItem(key);
    if (finished.status === 200) row.done();
    else row.fail(finished.data.error);
  }

  let rowsAll = [];
  let busy = false;
  const button = form.querySelector("button[type=submit]");
  async function upload(files) {
    if (!files.length || busy) return;
    busy = true;
    if (button) button.disabled = true;
    try { await uploadAll(files); } finally {
      busy = false;
      if (button) button.disabled = false;
    }
  }

  async function uploadAll(files) {
    list.replaceChildren();
    total = new Row(list, texts.total, 1000, texts);
    total.note(texts.sending);
    const small = files.filter((f) => f.file.size < CHUNKED_FROM);
    const large = files.filter((f) => f.file.size >= CHUNKED_FROM);
    const ordered = [...small, ...large];
    rowsAll = ordered.map((f) => new Row(list, f.path || f.file.name, f.file.size, texts));
    let index = 0;
    while (index < small.length) {
      const batch = [];
      let bytes = 0;
      while (index < small.length && (batch.length === 0 || bytes + small[index].file.size <= BATCH_BYTES)) {
        bytes += small[index].file.size;
        batch.push(small[index]);
        index += 1;
      }
      const rows = rowsAll.slice(index - batch.length, index);
      // A batch cut off by the network is sent again once the connection is back, as the
      // message promises (a batch is small: at worst a file gets a second, identical version).
      for (;;) {
        try { await sendBatch(batch, rows); break; } catch (_e) {
          rows.forEach((r) => { r.progress(0); r.note(texts.offline); });
          updateTotal(rowsAll);
          await waitOnline();
        }
      }
      updateTotal(rowsAll);
    }
    for (let i = 0; i < large.length; i += 1) {
      await sendChunked(large[i], rowsAll[small.length + i]);
      updateTotal(rowsAll);
    }
    form.dataset.finished = rowsAll.every((r) => r.el.dataset.state === "done") ? "ok" : "errors";
    if (form.dataset.finished === "ok") total.done();
    else total.fail("");
    if (form.dataset.finished === "ok") window.location.assign(window.location.pathname);
  }

  function chosen() {
    const files = [];
    for (const input of form.querySelectorAll("input[type=file]")) {
      for (const file of input.files) files.push({ file, path: file.webkitRelativePath || file.name });
    }
    return files;
  }

  form.addEventListener("submit", (event) => {
    const files = chosen();
    if (!files.length) return; // the server answers with its own message: choose a file
    event.preventDefault();
    upload(files);
  });
  if (zone) {
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", async (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      const items = event.dataTransfer.items;
      const files = items && items.length && items[0].webkitGetAsEntry
        ? await droppedFiles(items)
        : [...event.dataTransfer.files].map((file) => ({ file, path: file.name }));
      upload(files);
    });
  }
}
