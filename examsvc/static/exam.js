/* The exam room: draws the candidate's paper from /exam/api/state and keeps the server in step.
 *
 * The server is the record. Every answer change becomes one save with the next sequence number of
 * the attempt; the server keeps, per item, the save with the highest number, so an older tab or a
 * retried request never overwrites a newer answer and a repeated save is only acknowledged again.
 * Saves wait in a queue, in memory and in localStorage under the attempt's id, until the server
 * confirms them: a lost network, a crash or a reload loses nothing that was chosen on this
 * computer, and "saved" is shown only for what the server confirmed. Time comes from the server
 * (remaining_seconds) and is re-synchronised by /exam/api/ping; the browser's clock only counts
 * down in between. Only stems and options (sanitised on the server) are inserted as HTML; every
 * other text is set as text.
 */
"use strict";

(() => {
  const root = document.getElementById("exam-room");
  if (!root) return;

  const T = JSON.parse(document.getElementById("exam-strings").textContent);
  const $ = (id) => document.getElementById(id);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  const urls = { state: root.dataset.stateUrl, save: root.dataset.saveUrl, submit: root.dataset.submitUrl,
                 ping: root.dataset.pingUrl, signIn: root.dataset.signInUrl };
  const csrf = root.dataset.csrf;
  const paged = root.dataset.layout !== "scrolling";

  const PING_MS = 30000;            // re-synchronise the time (and learn of a pause or extra time)
  const PAUSED_PING_MS = 5000;      // while paused: notice the resume quickly
  const REQUEST_TIMEOUT_MS = 15000; // a request hanging this long counts as a network failure
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const LOW_TIME_SECONDS = 300;
  const CLOSED = new Set(["submitted", "expired", "terminated"]);

  const state = {
    loaded: false, attemptId: null, language: "zh", items: [], byPosition: new Map(),
    counter: 0,         // the last sequence number used by (or known to) this page
    queue: [],          // saves not yet confirmed: {position, response, flagged, seq, sent}
    sending: false, submitting: false, current: 0,
    deadline: 0,        // performance.now() at which the remaining time reaches zero (a monotonic clock:
                        // changing the computer's clock changes nothing)
    pausedRemaining: 0, paused: false, closed: false, offline: false, signedOut: false,
    backoff: BACKOFF_MIN_MS, retryTimer: null, pingTimer: null, lastZeroSync: -Infinity,
  };

  // --- talking to the server ----------------------------------------------------------------

  class NetworkError extends Error {}

  async function request(method, url, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const headers = { "Accept": "application/json", "X-CSRFToken": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const response = await fetch(url, { method, headers, credentials: "same-origin", cache: "no-store",
                                           signal: controller.signal,
                                           body: body === undefined ? undefined : JSON.stringify(body) });
      let data = null;
      try { data = await response.json(); } catch (error) { data = null; }
      // A proxy's error page or a server restart is a passing failure, like a lost network.
      if (response.status >= 500 || data === null) throw new NetworkError(`HTTP ${response.status}`);
      return { ok: response.ok, status: response.status, data };
    } catch (error) {
      throw error instanceof NetworkError ? error : new NetworkError(String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  /** Refusals that concern the whole attempt; true when handled. */
  function refusal(result) {
    const code = result.data.code;
    if (code === "attempt_closed") { showClosed(null); return true; }
    if (code === "attempt_paused" || result.status === 423) { showPaused(state.pausedRemaining || remaining()); return true; }
    if (result.status === 401) {
      state.signedOut = true;
      notice(T.signed_out, "offline");
      return true;
    }
    if (code === "csrf") {
      notice(T.page_expired);
      persist();
      setTimeout(() => window.location.reload(), 1500);
      return true;
    }
    return false;
  }

  // --- the queue of unconfirmed saves -------------------------------------------------------

  const storageKey = () => `examsvc.exam.unconfirmed.${state.attemptId}`;

  function persist() {
    if (state.attemptId === null) return;
    try {
      const entries = state.queue.map(({ position, response, flagged, seq }) => ({ position, response, flagged, seq }));
      if (entries.length) window.localStorage.setItem(storageKey(), JSON.stringify(entries));
      else window.localStorage.removeItem(storageKey());
    } catch (error) { /* storage disabled or full: the in-memory queue still holds them */ }
  }

  function stored() {
    try {
      const entries = JSON.parse(window.localStorage.getItem(storageKey()) || "[]");
      return Array.isArray(entries) ? entries.filter((e) => e && Number.isInteger(e.position) && Number.isInteger(e.seq)
                                                           && Array.isArray(e.response)) : [];
    } catch (error) { return []; }
  }

  function change(item, response, flagged) {
    if (state.closed || state.paused || !state.loaded) return;
    item.local = { response: [...response].sort(), flagged };
    item.error = null;
    state.current = state.items.indexOf(item);
    // The server keeps the highest sequence number per item: an older save of this item still
    // waiting to be sent is superseded (one already on its way is left alone).
    state.queue = state.queue.filter((e) => e.position !== item.position || e.sent);
    state.counter += 1;
    state.queue.push({ position: item.position, response: item.local.response, flagged, seq: state.counter, sent: false });
    persist();
    drawItemState(item);
    drawNav();
    flush();
  }

  async function flush() {
    if (state.sending || state.closed || state.paused || state.signedOut) return;
    const entry = state.queue[0];
    if (!entry) return;
    state.sending = true;
    entry.sent = true;
    let result;
    try {
      result = await request("POST", urls.save, { position: entry.position, response: entry.response,
                                                   flagged: entry.flagged, seq: entry.seq });
    } catch (error) {
      state.sending = false;
      entry.sent = false;
      if (!(error instanceof NetworkError)) throw error;
      wentOffline();
      return;
    }
    state.sending = false;
    entry.sent = false;
    if (result.ok) {
      state.queue = state.queue.filter((e) => e !== entry);
      persist();
      cameOnline();
      confirmed(entry);
      setRemaining(result.data.remaining_seconds);
      flush();
      return;
    }
    if (refusal(result)) return;
    state.queue = state.queue.filter((e) => e !== entry);
    persist();
    const item = state.byPosition.get(entry.position);
    if (result.data.code === "stale") {  // another page saved a newer answer: show the server's
      notice(T.stale);
      await loadState();
      return;
    }
    if (item) {  // refused for good (it cannot succeed on a retry): say so on the item
      item.error = result.data.message || String(result.status);
      drawItemState(item);
      drawNav();
    }
    flush();
  }

  function confirmed(entry) {
    const item = state.byPosition.get(entry.position);
    if (!item) return;
    if (entry.seq >= item.confirmed.seq) {
      item.confirmed = { response: entry.response, flagged: entry.flagged, seq: entry.seq };
    }
    drawItemState(item);
    drawNav();
  }

  // --- network state and re-synchronising ---------------------------------------------------

  function wentOffline() {
    if (!state.offline) {
      state.offline = true;
      notice(T.offline, "offline");
      state.items.forEach(drawItemState);
      drawNav();
    }
    scheduleRetry();
  }

  function cameOnline() {
    if (!state.offline) return;
    state.offline = false;
    state.backoff = BACKOFF_MIN_MS;
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    notice(null, "offline");
    state.items.forEach(drawItemState);
    drawNav();
  }

  function scheduleRetry() {
    if (state.retryTimer !== null || state.closed) return;
    state.retryTimer = setTimeout(() => { state.retryTimer = null; recover(); }, state.backoff);
    state.backoff = Math.min(state.backoff * 2, BACKOFF_MAX_MS);
  }

  async function recover() {
    if (!state.loaded) { await loadState(); return; }
    await sync();
    flush();
  }

  function schedulePing() {
    clearTimeout(state.pingTimer);
    if (!state.closed) state.pingTimer = setTimeout(sync, state.paused ? PAUSED_PING_MS : PING_MS);
  }

  async function sync() {
    if (state.closed) return;
    clearTimeout(state.pingTimer);
    let result;
    try {
      result = await request("GET", urls.ping);
    } catch (error) {
      wentOffline();
      schedulePing();
      return;
    }
    if (!result.ok) {
      refusal(result);
    } else {
      cameOnline();
      state.counter = Math.max(state.counter, result.data.last_seq || 0);
      setStatus(result.data.status, result.data.remaining_seconds);
    }
    schedulePing();
  }

  // --- time ---------------------------------------------------------------------------------

  function setRemaining(seconds) {
    if (typeof seconds !== "number") return;
    state.deadline = performance.now() + seconds * 1000;
    tick();
  }

  function remaining() {
    if (state.closed) return 0;
    if (state.paused) return state.pausedRemaining;
    return Math.max(0, Math.ceil((state.deadline - performance.now()) / 1000));
  }

  function clockText(seconds) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  }

  function tick() {
    if (!state.loaded) return;
    const seconds = remaining();
    const clock = $("exam-remaining");
    clock.textContent = clockText(seconds);
    clock.classList.toggle("low", seconds < LOW_TIME_SECONDS);
    // At zero the server decides (it closes the attempt, or extra time was granted meanwhile).
    if (seconds === 0 && !state.closed && !state.paused && performance.now() - state.lastZeroSync > 5000) {
      state.lastZeroSync = performance.now();
      sync();
    }
  }

  // --- the attempt's status -----------------------------------------------------------------

  function setStatus(status, seconds) {
    if (CLOSED.has(status)) { showClosed(status); return; }
    if (status === "paused") { showPaused(seconds); return; }
    if (state.paused) {
      state.paused = false;
      $("exam-paused").hidden = true;
      $("exam-submit").disabled = false;
      schedulePing();
    }
    setRemaining(seconds);
    flush();
  }

  function showPaused(seconds) {
    state.paused = true;
    if (typeof seconds === "number") state.pausedRemaining = seconds;
    $("exam-paused").hidden = false;
    $("exam-submit").disabled = true;
    const dialog = $("exam-confirm");
    if (dialog.open) dialog.close();
    tick();
    schedulePing();
  }

  const CLOSED_REASON = { submitted: "closed_submitted", expired: "closed_expired", terminated: "closed_terminated" };

  async function showClosed(status) {
    const lost = state.closed ? 0 : state.queue.length;
    state.closed = true;
    state.queue = [];
    persist();
    clearTimeout(state.pingTimer);
    clearTimeout(state.retryTimer);
    const dialog = $("exam-confirm");
    if (dialog.open) dialog.close();
    $("exam-main").hidden = true;
    $("exam-pager").hidden = true;
    $("exam-submit").hidden = true;
    $("exam-paused").hidden = true;
    notice(null);
    $("exam-remaining").textContent = clockText(0);
    $("exam-closed").hidden = false;
    $("exam-closed-kept").textContent = T.closed_kept;
    if (lost) {
      $("exam-closed-lost").textContent = fill(T.closed_lost, { count: lost });
      $("exam-closed-lost").hidden = false;
    }
    if (status === null) {  // refused as closed: ask the server why
      try {
        const result = await request("GET", urls.ping);
        status = result.ok ? result.data.status : "expired";
      } catch (error) { status = "expired"; }
    }
    $("exam-closed-reason").textContent = T[CLOSED_REASON[status] || "closed_expired"];
  }

  // --- loading ------------------------------------------------------------------------------

  async function loadState() {
    let result;
    try {
      result = await request("GET", urls.state);
    } catch (error) {
      if (!state.loaded) $("exam-loading").textContent = T.load_failed;
      wentOffline();
      return;
    }
    if (!result.ok) {
      if (!refusal(result) && !state.loaded) $("exam-loading").textContent = result.data.message || T.load_failed;
      return;
    }
    cameOnline();
    apply(result.data);
  }

  function apply(data) {
    state.attemptId = data.attempt_id;
    state.language = data.language;
    state.items = data.items.map((raw) => ({
      number: raw.number, position: raw.position, type: raw.type, points: raw.points, language: raw.language || data.language,
      stem: raw.stem, options: raw.options, error: null,
      confirmed: { response: raw.response, flagged: raw.flagged, seq: raw.seq },
      local: { response: raw.response, flagged: raw.flagged },
    }));
    state.byPosition = new Map(state.items.map((item) => [item.position, item]));
    // Unconfirmed saves of this page and of an earlier page on this computer (a reload, a crash):
    // resend those the server has not yet seen; one it already holds a newer answer for is dropped.
    const bySeq = new Map();
    for (const entry of [...stored(), ...state.queue]) bySeq.set(entry.seq, entry);
    const latest = new Map();
    for (const entry of [...bySeq.values()].sort((a, b) => a.seq - b.seq)) {
      const item = state.byPosition.get(entry.position);
      if (item && entry.seq > item.confirmed.seq) latest.set(entry.position, entry);
    }
    state.queue = [...latest.values()].sort((a, b) => a.seq - b.seq)
      .map(({ position, response, flagged, seq }) => ({ position, response, flagged: Boolean(flagged), seq, sent: false }));
    for (const entry of state.queue) {
      state.byPosition.get(entry.position).local = { response: entry.response, flagged: entry.flagged };
    }
    // A new tab continues above every number the server (or this computer) has seen.
    state.counter = Math.max(state.counter, data.last_seq || 0, ...state.queue.map((e) => e.seq));
    persist();
    state.loaded = true;
    drawPaper();
    $("exam-submit").disabled = false;
    setStatus(data.status, data.remaining_seconds);
    schedulePing();
  }

  // --- drawing ------------------------------------------------------------------------------

  function el(tag, attributes = {}, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function notice(text, kind = "") {
    const box = $("exam-notice");
    if (text === null) {
      if (!kind || box.dataset.kind === kind) { box.hidden = true; box.textContent = ""; box.dataset.kind = ""; }
      return;
    }
    box.textContent = text;
    box.dataset.kind = kind;
    box.className = "exam-notice" + (kind ? ` ${kind}` : "");
    box.hidden = false;
  }

  function choicesOf(item) {
    if (item.type === "true_false") {
      return [{ value: "T", label: T.true, html: null }, { value: "F", label: T.false, html: null }];
    }
    return item.options.map((option) => ({ value: option.value, label: `${option.label}.`, html: option.text }));
  }

  function buildItem(item) {
    const article = el("article", { class: "exam-item", id: `item-${item.number}` });
    article.dataset.position = String(item.position);
    article.dataset.type = item.type;
    const header = el("header");
    header.append(el("span", { class: "item-number" }, fill(T.question, { number: item.number })),
                  el("span", { class: "muted" }, `${T[item.type] || ""} · ${fill(T.points, { points: item.points })}`));
    const status = el("span", { class: "item-status", role: "status" });
    header.append(status);
    article.append(header);

    const mongolian = item.language === "mn";
    const text = el("div", { class: mongolian ? "item-text mongolian" : "item-text", lang: mongolian ? "mn-Mong" : "zh-CN" });
    const stem = el("div", { class: "item-stem", id: `stem-${item.number}` });
    stem.innerHTML = item.stem;  // rich text, sanitised on the server
    text.append(stem);
    const inputs = [];
    if (["true_false", "single_choice", "multiple_choice"].includes(item.type)) {
      const fieldset = el("fieldset", { class: "item-options", "aria-labelledby": `stem-${item.number}` });
      for (const choice of choicesOf(item)) {
        const label = el("label", { class: "option" });
        const input = el("input", { type: item.type === "multiple_choice" ? "checkbox" : "radio",
                                    name: `answer-${item.number}`, value: choice.value });
        input.addEventListener("change", () => {
          change(item, inputs.filter((i) => i.checked).map((i) => i.value), item.local.flagged);
        });
        inputs.push(input);
        label.append(input, el("span", { class: "option-label" }, choice.label));
        if (choice.html !== null) {
          const optionText = el("span", { class: "option-text" });
          optionText.innerHTML = choice.html;  // rich text, sanitised on the server
          label.append(optionText);
        }
        fieldset.append(label);
      }
      text.append(fieldset);
    } else {
      text.append(el("p", { class: "muted" }, T.not_on_screen));
    }
    article.append(text);

    const actions = el("div", { class: "item-actions" });
    const flag = el("button", { type: "button", class: "flag-toggle", "aria-pressed": "false" });
    flag.addEventListener("click", () => change(item, item.local.response, !item.local.flagged));
    const clear = el("button", { type: "button", class: "clear-answer" }, T.clear);
    clear.addEventListener("click", () => change(item, [], item.local.flagged));
    actions.append(flag, clear);
    article.append(actions);
    item.dom = { article, inputs, status, flag, clear, cell: null };
    return article;
  }

  function saveState(item) {
    if (item.error) return "error";
    if (state.queue.some((e) => e.position === item.position)) return state.offline ? "unsaved" : "saving";
    return item.confirmed.seq > 0 ? "saved" : "";
  }

  function drawItemState(item) {
    if (!item.dom) return;
    const { article, inputs, status, flag, clear } = item.dom;
    for (const input of inputs) {
      input.checked = item.local.response.includes(input.value);
      input.closest(".option").classList.toggle("chosen", input.checked);
    }
    flag.setAttribute("aria-pressed", String(item.local.flagged));
    flag.textContent = item.local.flagged ? T.flagged : T.flag;
    clear.disabled = item.local.response.length === 0;
    const saving = saveState(item);
    article.dataset.saveState = saving;
    status.className = `item-status ${saving}`;
    status.textContent = { error: fill(T.unsaved, { message: item.error }), unsaved: T.unsaved_offline,
                           saving: T.saving, saved: T.saved, "": "" }[saving];
  }

  function drawNav() {
    let answered = 0;
    let flagged = 0;
    for (const item of state.items) {
      const isAnswered = item.local.response.length > 0;
      answered += isAnswered ? 1 : 0;
      flagged += item.local.flagged ? 1 : 0;
      const cell = item.dom && item.dom.cell;
      if (!cell) continue;
      cell.classList.toggle("answered", isAnswered);
      cell.classList.toggle("flagged", item.local.flagged);
      cell.classList.toggle("pending", state.queue.some((e) => e.position === item.position));
      cell.classList.toggle("current", state.items[state.current] === item);
      const words = [fill(T.question, { number: item.number }), isAnswered ? T.answered : T.unanswered];
      if (item.local.flagged) words.push(T.flagged_short);
      cell.setAttribute("aria-label", words.join(" · "));
      cell.title = words.join(" · ");
      cell.dataset.state = isAnswered ? "answered" : "unanswered";
      cell.dataset.flagged = String(item.local.flagged);
    }
    $("exam-count-answered").textContent = String(answered);
    $("exam-count-flagged").textContent = String(flagged);
    $("exam-count-unanswered").textContent = String(state.items.length - answered);
    drawConfirm();
  }

  function drawPaper() {
    const list = $("exam-items");
    const grid = $("exam-grid");
    list.replaceChildren(...state.items.map(buildItem));
    grid.replaceChildren(...state.items.map((item, index) => {
      const cell = el("button", { type: "button" }, String(item.number));
      cell.addEventListener("click", () => show(index, true));
      item.dom.cell = cell;
      return cell;
    }));
    state.items.forEach(drawItemState);
    $("exam-pager").hidden = !paged;
    show(Math.min(state.current, Math.max(0, state.items.length - 1)), false);
  }

  function show(index, jump) {
    state.current = index;
    if (paged) {
      state.items.forEach((item, i) => { item.dom.article.hidden = i !== index; });
      $("exam-position").textContent = fill(T.question_of, { number: index + 1, total: state.items.length });
      $("exam-prev").disabled = index === 0;
      $("exam-next").disabled = index >= state.items.length - 1;
      if (jump) window.scrollTo({ top: 0 });
    } else if (jump && state.items[index]) {
      state.items[index].dom.article.scrollIntoView({ block: "start" });
    }
    drawNav();
  }

  // --- submitting ---------------------------------------------------------------------------

  function drawConfirm() {
    const dialog = $("exam-confirm");
    if (!dialog.open) return;
    const answered = state.items.filter((item) => item.local.response.length > 0).length;
    const flagged = state.items.filter((item) => item.local.flagged).length;
    $("exam-confirm-summary").replaceChildren(
      el("li", {}, fill(T.confirm_unanswered, { count: state.items.length - answered })),
      el("li", {}, fill(T.confirm_flagged, { count: flagged })));
    const pending = $("exam-confirm-pending");
    pending.hidden = state.queue.length === 0;
    pending.textContent = fill(T.confirm_pending, { count: state.queue.length });
    if (!state.submitting) $("exam-confirm-ok").disabled = state.queue.length > 0;
  }

  function openConfirm() {
    if (state.closed || state.paused || !state.loaded) return;
    $("exam-confirm-error").hidden = true;
    $("exam-confirm").showModal();
    drawConfirm();
    flush();
  }

  async function submit() {
    if (state.queue.length || state.submitting) return;
    const button = $("exam-confirm-ok");
    const error = $("exam-confirm-error");
    const label = button.textContent;
    state.submitting = true;
    button.disabled = true;
    button.textContent = T.submitting;
    error.hidden = true;
    let result;
    try {
      result = await request("POST", urls.submit);
    } catch (failure) {
      result = null;
      wentOffline();
    }
    state.submitting = false;
    button.textContent = label;
    button.disabled = false;
    if (result && result.ok) { showClosed(result.data.status); return; }
    if (result && refusal(result)) return;
    error.textContent = fill(T.submit_failed, { message: result ? (result.data.message || result.status) : T.network_error });
    error.hidden = false;
  }

  // --- wiring -------------------------------------------------------------------------------

  $("exam-prev").addEventListener("click", () => { if (state.current > 0) show(state.current - 1, true); });
  $("exam-next").addEventListener("click", () => { if (state.current < state.items.length - 1) show(state.current + 1, true); });
  $("exam-submit").addEventListener("click", openConfirm);
  $("exam-confirm-cancel").addEventListener("click", () => $("exam-confirm").close());
  $("exam-confirm-ok").addEventListener("click", submit);
  window.addEventListener("online", () => {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    state.backoff = BACKOFF_MIN_MS;
    recover();
  });
  window.addEventListener("offline", () => { if (state.loaded && !state.closed) wentOffline(); });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible" && state.loaded) sync(); });
  setInterval(tick, 250);
  loadState();
})();
