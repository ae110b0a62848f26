// The sandbox page: a Slack-like client for one person at a time. It reads /api/state, listens
// to /api/events (server-sent events) for changes, and posts what the person does to /api/...,
// where it becomes the payload Slack would send the bot.
"use strict";

const {el, icon} = BlockKit;
const SHORTCUTS = [
  {callback_id: "ask_switchboard", name: "Ask Switchboard", testid: "shortcut-ask"},
  {callback_id: "save_as_answer", name: "Save as answer", testid: "shortcut-save"},
];
const $ = (id) => document.getElementById(id);
const saved = JSON.parse(localStorage.getItem("sandbox") || "{}");
const ui = {
  user: saved.user || null, conversation: saved.conversation || null, thread: saved.thread || null,
  lastSeen: saved.lastSeen || {}, tourStep: saved.tourStep || 0,
  tourOpen: saved.tourOpen !== false, state: null, tour: [], editing: null,
  keys: {}, modalErrors: {}, busy: false, pending: false,
};

function persist() {
  localStorage.setItem("sandbox", JSON.stringify({
    user: ui.user, conversation: ui.conversation, thread: ui.thread, lastSeen: ui.lastSeen,
    tourStep: ui.tourStep, tourOpen: ui.tourOpen}));
}

// -- talking to the server ----------------------------------------------------------------
async function api(path, body) {
  const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify({user: ui.user, ...body})});
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    toast(data.error || `${path}: HTTP ${response.status}`);
    throw new Error(data.error || String(response.status));
  }
  return data;
}

async function refresh() {
  if (ui.busy) { ui.pending = true; return; }
  ui.busy = true;
  try {
    do {
      ui.pending = false;
      const query = new URLSearchParams({user: ui.user || "", conversation: ui.conversation || ""});
      const response = await fetch("/api/state?" + query);
      if (!response.ok) {
        if (response.status === 404 && ui.user) { ui.user = null; ui.pending = true; continue; }
        throw new Error("HTTP " + response.status);
      }
      const state = await response.json();
      if ((ui.user && query.get("user") !== ui.user) || query.get("conversation") !== (ui.conversation || "")) {
        ui.pending = true;  // the person switched while this was on its way: ask again
        continue;
      }
      ui.state = state;
      ui.user = ui.state.me.id;
      if (ui.conversation !== ui.state.conversation) ui.thread = null;
      ui.conversation = ui.state.conversation;
      render();
    } while (ui.pending);
  } catch (error) {
    console.warn("could not refresh", error);
  } finally {
    ui.busy = false;
  }
}

function listen() {
  const source = new EventSource("/api/events");
  source.onmessage = () => refresh();
}

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.classList.remove("hidden");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => node.classList.add("hidden"), 4000);
}

// -- small helpers --------------------------------------------------------------------------
function nameOf(id) {
  const s = ui.state;
  if (id === s.bot.id) return "Switchboard";
  return s.users[id] || id;
}

function avatar(id, bot) {
  let hash = 0;
  for (const c of id || "?") hash = (hash * 31 + c.charCodeAt(0)) % 360;
  const name = bot ? "S" : nameOf(id).split(/\s+/).map((w) => w[0]).join("").slice(0, 2);
  return el("div", {class: "avatar" + (bot ? " bot" : ""),
                    style: bot ? null : `background: hsl(${hash}, 45%, 45%)`, text: name});
}

function timeOf(ts) {
  // a message's ts is real time; the sandbox shows everything on its own (skippable) clock
  const offset = (ui.state && ui.state.clock_offset_s) || 0;
  const date = new Date((parseFloat(ts) + offset) * 1000);
  return date.toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit", timeZone: "UTC"});
}

function convName(id) {
  if (id === "home") return "Switchboard · Home";
  const item = ui.state.sidebar.find((c) => c.id === id);
  if (!item) return id;
  return item.kind === "dm" ? "Switchboard" : item.name;
}

function seenKey(conversation) { return `${ui.user}:${conversation}`; }

function go(conversation, thread = null) {
  ui.conversation = conversation;
  ui.thread = thread;
  ui.editing = null;
  persist();
  if (conversation === "home") api("/api/home", {}).catch(() => {});
  refresh();
}

function setUser(user) {
  if (user === ui.user) return;
  ui.user = user;
  ui.thread = null;
  ui.editing = null;
  ui.keys = {};
  persist();
  if (ui.conversation === "home") api("/api/home", {}).catch(() => {});
  refresh();
}

// -- rendering --------------------------------------------------------------------------------
function render() {
  const s = ui.state;
  $("company").textContent = `${s.company} · Switchboard sandbox`;
  const now = new Date(s.now);
  $("clock").textContent = "Sandbox clock: " + now.toLocaleString("en-GB", {
    weekday: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC"}) + " UTC";
  renderPerson();
  renderSidebar();
  renderBanner();
  renderConversation();
  renderModal();
  renderTour();
  ui.lastSeen[seenKey(ui.conversation)] = latestOf(ui.conversation);
  persist();
}

function latestOf(conversation) {
  const item = ui.state.sidebar.find((c) => c.id === conversation);
  return item ? item.latest : "0";
}

function renderPerson() {
  const s = ui.state;
  const switcher = $("person-switcher");
  const key = JSON.stringify(s.people.map((p) => p.id));
  if (ui.keys.people !== key) {
    ui.keys.people = key;
    switcher.replaceChildren(...s.people.map((p) => el("option", {
      value: p.id, text: `${p.real_name} (${p.role})`})));
  }
  switcher.value = s.me.id;
  const me = s.me;
  $("person-card").replaceChildren(
    el("div", {class: "person-title", text: me.title}),
    el("div", {class: "person-meta"}, el("span", {class: "badge " + me.role, text: me.role}),
       ` ${me.local_time} · ${me.tz}`),
    el("div", {class: "availability " + (me.working ? "in" : "out"), "data-testid": "availability",
               text: me.left ? "✕ left the company (account deactivated)"
                 : me.working ? "● in working hours" : "○ outside working hours"}),
    el("button", {class: "link-button", "data-testid": "account-toggle",
                  title: me.left ? "Reactivate the account: Slack sends user_change and Switchboard may ask them again"
                    : "Deactivate the account as an admin would when someone leaves: Slack sends user_change and Switchboard stops asking them",
                  text: me.left ? "Bring back to the company" : "Leaves the company",
                  onclick: () => api("/api/account", {left: !me.left}).then(refresh)}));
}

function navItem(id, label, iconName, testid, extra = {}) {
  const unread = id !== ui.conversation && id !== "home"
    && parseFloat(latestOf(id)) > parseFloat(ui.lastSeen[seenKey(id)] || "0");
  return el("li", {class: "nav-item" + (id === ui.conversation ? " active" : "") + (unread ? " unread" : ""),
                   "data-testid": testid, "data-id": id, "data-name": extra.name || label,
                   onclick: () => go(id)},
            el("span", {class: "nav-icon"}, icon(iconName)), el("span", {class: "nav-label", text: label}));
}

function renderSidebar() {
  const s = ui.state;
  const channels = s.sidebar.filter((c) => c.kind !== "dm");
  $("channels").replaceChildren(...channels.map((c) =>
    navItem(c.id, c.name, c.kind === "private" ? "lock" : "hash", "channel-item")));
  const dm = s.sidebar.find((c) => c.kind === "dm");
  $("apps").replaceChildren(
    navItem(dm.id, "Switchboard", "chat", "channel-item", {name: "switchboard"}),
    navItem("home", "Switchboard · Home", "home", "home-tab", {name: "home"}));
  $("people").replaceChildren(...s.people.map((p) => el("li", {
    class: "nav-item person-item" + (p.id === s.me.id ? " me" : ""), "data-testid": "person-item",
    "data-id": p.id, title: `${p.title} · ${p.local_time} local`, onclick: () => setUser(p.id)},
    el("span", {class: "dot " + (p.left ? "gone" : p.working ? "in" : "out")}),
    el("span", {class: "nav-label" + (p.left ? " left" : ""), text: p.real_name + (p.left ? " (left)" : "")}),
    el("span", {class: "local-time", text: p.local_time.split(" ")[1]}))));
}

function renderBanner() {
  const problems = ui.state.problems;
  const banner = $("banner");
  banner.classList.toggle("hidden", problems.length === 0);
  if (!problems.length) return;
  const key = JSON.stringify(problems);
  if (ui.keys.banner === key) return;
  ui.keys.banner = key;
  banner.replaceChildren(
    el("b", {text: `${problems.length} call(s) real Slack would reject:`}),
    el("ul", {}, problems.map((p) => el("li", {text: p}))));
}

function renderConversation() {
  const s = ui.state;
  const home = ui.conversation === "home";
  const header = $("conversation-header");
  const item = s.sidebar.find((c) => c.id === ui.conversation);
  header.replaceChildren(
    el("span", {class: "conv-icon"}, icon(home ? "home" : item && item.kind === "private" ? "lock"
                                          : item && item.kind === "dm" ? "chat" : "hash")),
    el("b", {"data-testid": "conversation-name", text: convName(ui.conversation)}));
  $("messages").classList.toggle("hidden", home);
  $("composer-wrap").classList.toggle("hidden", home);
  $("home").classList.toggle("hidden", !home);
  $("composer").placeholder = item ? (item.kind === "dm" ? "Message Switchboard"
                                                         : `Message #${item.name}`) : "";
  if (home) {
    renderHome();
    $("thread").classList.add("hidden");
    return;
  }
  const key = JSON.stringify([ui.user, ui.conversation, ui.thread, ui.editing, s.messages,
                              s.ephemerals, s.users]);
  if (ui.keys.messages === key) return;
  ui.keys.messages = key;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const top = s.messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts
                                       || m.subtype === "thread_broadcast");
  const items = [...top, ...s.ephemerals.filter((e) => !e.thread_ts)]
    .sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
  list.replaceChildren(...(items.length ? items.map((m) => messageNode(m, false))
    : [el("div", {class: "empty", text: "No messages yet. Say hello, or ask @Switchboard something."})]));
  if (atBottom || ui.keys.scrolledFor !== ui.conversation) list.scrollTop = list.scrollHeight;
  ui.keys.scrolledFor = ui.conversation;
  renderThread();
}

function repliesOf(ts) {
  return ui.state.messages.filter((m) => m.thread_ts === ts && m.ts !== ts);
}

function messageNode(m, inThread) {
  const s = ui.state;
  const node = el("div", {class: "message" + (m.ephemeral ? " ephemeral" : ""), "data-testid": "message",
                          "data-ts": m.ts, "data-user": m.user, "data-bot": m.bot ? "true" : "false",
                          "data-ephemeral": m.ephemeral ? "true" : "false"});
  const body = el("div", {class: "msg-body"});
  body.append(el("div", {class: "msg-head"},
    el("b", {class: "author", text: nameOf(m.user)}),
    m.bot || m.ephemeral ? el("span", {class: "app-badge", text: "APP"}) : null,
    el("time", {text: timeOf(m.ts)}),
    m.edited ? el("span", {class: "edited", "data-testid": "edited", text: "(edited)"}) : null));
  if (m.ephemeral) body.append(el("div", {class: "only-you", "data-testid": "ephemeral-label"},
                                          icon("eye"), " Only visible to you"));
  if (ui.editing === m.ts && !m.ephemeral) body.append(editor(m));
  else body.append(content(m));
  if (!inThread && !m.ephemeral) {
    const replies = repliesOf(m.ts);
    const ephemeralReplies = s.ephemerals.filter((e) => e.thread_ts === m.ts);
    const count = replies.length + ephemeralReplies.length;
    if (count) {
      const last = [...replies, ...ephemeralReplies].map((r) => r.ts).sort().pop();
      const people = [...new Set(replies.map((r) => r.user))];
      body.append(el("button", {class: "thread-summary", "data-testid": "thread-open",
                                onclick: () => openThread(m.ts)},
        el("span", {class: "mini-avatars"}, people.slice(0, 3).map((u) => avatar(u, u === s.bot.id))),
        el("b", {text: `${count} ${count === 1 ? "reply" : "replies"}`}),
        el("span", {class: "muted", text: ` Last reply ${timeOf(last)}`})));
    }
  }
  node.append(avatar(m.user, m.bot || m.ephemeral), body);
  if (!m.ephemeral) node.append(el("div", {class: "hover-actions"},
    inThread ? null : el("button", {class: "icon-btn", title: "Reply in thread", "data-testid": "message-reply",
                                    onclick: () => openThread(m.ts)}, icon("chat")),
    el("button", {class: "icon-btn", title: "More actions", "data-testid": "message-menu",
                  text: "⋯", onclick: (event) => openMenu(event, m)})));
  return node;
}

function content(m) {
  const s = ui.state;
  const blocks = (m.blocks || []).filter((b) => b.type !== "rich_text");
  const ctx = {users: s.users, channels: s.channels, bot: s.bot,
               onAction: (index, actionId, chosen) => {
                 const where = m.ephemeral ? {ephemeral: m.id} : {channel: ui.conversation, message: m.ts};
                 api("/api/action", {where, block_index: index, action_id: actionId, chosen}).catch(() => {});
               }};
  if (blocks.length) return BlockKit.render(m.blocks, ctx);
  return BlockKit.mrkdwn(m.text, ctx);
}

function editor(m) {
  const input = el("textarea", {class: "input", "data-testid": "edit-input", rows: 2});
  input.value = BlockKit.unescape(m.text.replace(/<@([A-Z0-9]+)>/g, (_, id) =>
    "@" + (id === ui.state.bot.id ? "Switchboard" : (ui.state.people.find((p) => p.id === id) || {name: id}).name)));
  const save = () => {
    ui.editing = null;
    api("/api/edit", {channel: ui.conversation, ts: m.ts, text: input.value}).catch(() => {});
    refresh();
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); save(); }
    if (event.key === "Escape") { ui.editing = null; ui.keys.messages = null; render(); }
  });
  setTimeout(() => input.focus(), 0);
  return el("div", {class: "editor"}, input, el("div", {class: "editor-buttons"},
    el("button", {class: "btn", text: "Cancel", "data-testid": "edit-cancel",
                  onclick: () => { ui.editing = null; ui.keys.messages = null; render(); }}),
    el("button", {class: "btn primary", text: "Save", "data-testid": "edit-save", onclick: save})));
}

function openMenu(event, m) {
  event.stopPropagation();
  const menu = $("menu");
  const own = m.user === ui.user && !m.bot;
  const item = (text, testid, action, danger) => el("button", {
    class: "menu-item" + (danger ? " danger" : ""), "data-testid": testid, text,
    onclick: () => { closeMenu(); action(); }});
  menu.replaceChildren(
    el("div", {class: "menu-title", text: "Shortcuts"}),
    ...SHORTCUTS.map((sc) => item(sc.name, sc.testid, () =>
      api("/api/shortcut", {channel: ui.conversation, ts: m.ts, callback_id: sc.callback_id})
        .then(() => toast(`${sc.name}: sent to Switchboard`)).catch(() => {}))),
    own ? el("div", {class: "menu-sep"}) : null,
    own ? item("Edit message", "message-edit", () => { ui.editing = m.ts; ui.keys.messages = null; render(); }) : null,
    own ? item("Delete message", "message-delete", () => BlockKit.confirmThen(
      {title: {text: "Delete message"}, text: {type: "plain_text", text: "Are you sure you want to delete this message? This cannot be undone."},
       confirm: {text: "Delete"}, deny: {text: "Cancel"}, style: "danger"},
      () => api("/api/delete", {channel: ui.conversation, ts: m.ts}).catch(() => {})), true) : null);
  menu.classList.remove("hidden");
  const rect = event.currentTarget.getBoundingClientRect();
  menu.style.top = Math.min(rect.bottom + 4, window.innerHeight - menu.offsetHeight - 8) + "px";
  menu.style.left = Math.max(8, rect.right - menu.offsetWidth) + "px";
}

function closeMenu() { $("menu").classList.add("hidden"); }

function openThread(ts) {
  ui.thread = ts;
  persist();
  ui.keys.messages = null;
  render();
}

function renderThread() {
  const pane = $("thread");
  const parent = ui.thread && ui.state.messages.find((m) => m.ts === ui.thread);
  pane.classList.toggle("hidden", !parent);
  if (!parent) { ui.thread = null; $("thread-messages").replaceChildren(); return; }
  $("thread-where").textContent = convName(ui.conversation);
  const items = [...repliesOf(parent.ts), ...ui.state.ephemerals.filter((e) => e.thread_ts === parent.ts)]
    .sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
  const list = $("thread-messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const count = items.length;
  list.replaceChildren(messageNode(parent, true),
    el("div", {class: "replies-divider", text: `${count} ${count === 1 ? "reply" : "replies"}`}),
    ...items.map((m) => messageNode(m, true)));
  if (atBottom || ui.keys.threadScrolled !== parent.ts) list.scrollTop = list.scrollHeight;
  ui.keys.threadScrolled = parent.ts;
}

// -- Home tab and modals ----------------------------------------------------------------------
function viewContext(view, errors, previous) {
  const s = ui.state;
  const ctx = {users: s.users, channels: s.channels, bot: s.bot, errors, previous};
  ctx.onAction = (index, actionId, chosen) => {
    const root = view.type === "home" ? $("home") : document.querySelector("[data-testid=modal]");
    api("/api/action", {where: {view: view.id}, block_index: index, action_id: actionId, chosen,
                        values: BlockKit.stateValues(root, view.blocks)}).catch(() => {});
  };
  return ctx;
}

function renderHome() {
  const view = ui.state.home;
  const root = $("home");
  const key = view ? `${ui.user}:${view.id}:${view.hash}` : `${ui.user}:none`;
  if (ui.keys.home === key) return;
  const previous = ui.keys.home && view ? BlockKit.stateValues(root, view.blocks) : null;
  ui.keys.home = key;
  if (!view) {
    root.replaceChildren(el("div", {class: "empty", text: "Opening Switchboard's Home…"}));
    return;
  }
  root.replaceChildren(el("div", {class: "home-inner"},
                          BlockKit.renderView(view.blocks, viewContext(view, {}, previous))));
}

function renderModal() {
  const view = ui.state.modal;
  const mount = $("modal-root");
  const key = view ? `${ui.user}:${view.id}:${view.hash}:${JSON.stringify(ui.modalErrors)}` : "none";
  if (ui.keys.modal === key) return;
  const old = mount.querySelector("[data-testid=modal]");
  const oldView = ui.keys.modalView;
  const previous = old && view && oldView && oldView.id === view.id
    ? BlockKit.stateValues(old, oldView.blocks) : null;
  if (!view || !oldView || oldView.id !== view.id || oldView.hash !== view.hash) {
    if (!previous) ui.modalErrors = {};
  }
  ui.keys.modal = view ? `${ui.user}:${view.id}:${view.hash}:${JSON.stringify(ui.modalErrors)}` : "none";
  ui.keys.modalView = view;
  if (!view) { mount.replaceChildren(); return; }
  const body = BlockKit.renderView(view.blocks, viewContext(view, ui.modalErrors, previous));
  const values = () => BlockKit.stateValues(mount.querySelector("[data-testid=modal]"), view.blocks);
  const submit = async () => {
    try {
      const answer = await api("/api/view/submit", {view_id: view.id, values: values()});
      ui.modalErrors = answer.errors || {};
      ui.keys.modal = null;
      refresh();
    } catch (error) { /* toasted */ }
  };
  const close = () => api("/api/view/close", {view_id: view.id, values: values()})
    .then(refresh).catch(() => {});
  mount.replaceChildren(el("div", {class: "modal-backdrop"},
    el("div", {class: "modal", "data-testid": "modal", "data-callback-id": view.callback_id || "",
               "data-view-id": view.id},
      el("div", {class: "modal-header"},
        el("span", {class: "modal-title", "data-testid": "modal-title", text: BlockKit.plain(view.title)}),
        el("button", {class: "icon-btn", title: "Close", "data-testid": "modal-x", text: "✕", onclick: close})),
      el("div", {class: "modal-body"}, body),
      el("div", {class: "modal-footer"},
        el("button", {class: "btn", "data-testid": "modal-close",
                      text: BlockKit.plain(view.close) || (ui.state.modal_depth > 1 ? "Back" : "Cancel"),
                      onclick: close}),
        view.submit ? el("button", {class: "btn primary", "data-testid": "modal-submit",
                                    text: BlockKit.plain(view.submit), onclick: submit}) : null))));
  const first = mount.querySelector("textarea, input[type=text]");
  if (first && !previous) first.focus();
}

// -- the guided tour --------------------------------------------------------------------------
function renderTour() {
  const box = $("tour");
  const steps = ui.tour;
  box.classList.toggle("hidden", !ui.tourOpen || !steps.length);
  if (!ui.tourOpen || !steps.length) return;
  const i = Math.min(ui.tourStep, steps.length - 1);
  const key = `${i}`;
  if (ui.keys.tour === key) return;
  ui.keys.tour = key;
  const step = steps[i];
  box.replaceChildren(...[
    el("div", {class: "tour-head"}, el("span", {class: "tour-count", text: `Tour · ${i + 1} of ${steps.length}`}),
       el("button", {class: "icon-btn", title: "Close the tour", "data-testid": "tour-close", text: "✕",
                     onclick: () => { ui.tourOpen = false; persist(); renderTour(); }})),
    el("h3", {"data-testid": "tour-title", text: step.title}),
    el("p", {text: step.body}),
    step.suggest ? el("div", {class: "tour-suggest"},
      el("code", {"data-testid": "tour-suggest", text: step.suggest}),
      el("button", {class: "btn", "data-testid": "tour-use", text: "Use this text", onclick: () => useText(step.suggest)})) : null,
    el("div", {class: "tour-buttons"},
      el("button", {class: "btn", "data-testid": "tour-back", text: "Back", disabled: i === 0,
                    onclick: () => tourGo(i - 1)}),
      i < steps.length - 1
        ? el("button", {class: "btn primary", "data-testid": "tour-next", text: "Next", onclick: () => tourGo(i + 1)})
        : el("button", {class: "btn primary", "data-testid": "tour-done", text: "Done",
                        onclick: () => { ui.tourOpen = false; persist(); renderTour(); }}))].filter(Boolean));
}

function tourGo(i) {
  ui.tourStep = i;
  ui.keys.tour = null;
  const step = ui.tour[i];
  persist();
  if (step.act_as && step.act_as !== ui.user) { ui.user = step.act_as; ui.keys = {}; }
  if (step.channel) go(step.channel === "dm" ? "D" + ui.user : step.channel);
  else refresh();
}

function useText(text) {
  const modalInput = document.querySelector("[data-testid=modal] textarea, [data-testid=modal] input[type=text]");
  const target = modalInput || (ui.thread ? $("thread-composer") : $("composer"));
  target.value = text;
  target.focus();
}

// -- composing ----------------------------------------------------------------------------------
function composer(input, button, thread) {
  const send = () => {
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    api("/api/message", {channel: ui.conversation, text, thread_ts: thread() || undefined})
      .catch(() => { input.value = text; });
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
  });
  input.addEventListener("input", () => {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 200) + "px";
  });
  button.addEventListener("click", send);
}

async function start() {
  composer($("composer"), $("send"), () => null);
  composer($("thread-composer"), $("thread-send"), () => ui.thread);
  $("thread-close").addEventListener("click", () => { ui.thread = null; persist(); ui.keys.messages = null; render(); });
  $("person-switcher").addEventListener("change", (event) => setUser(event.target.value));
  $("skip").addEventListener("click", () => api("/api/skip", {}).then((r) =>
    toast("Skipped ahead 15 minutes: " + new Date(r.now).toUTCString().slice(0, 22) + " UTC")).catch(() => {}));
  $("tour-open").addEventListener("click", () => { ui.tourOpen = true; ui.keys.tour = null; persist(); renderTour(); });
  $("reset").addEventListener("click", () => BlockKit.confirmThen(
    {title: {text: "Reset the sandbox?"}, text: {type: "plain_text", text: "Everything asked and answered here is deleted and the demo knowledge base is loaded again. This takes a few seconds."},
     confirm: {text: "Reset"}, deny: {text: "Cancel"}, style: "danger"}, async () => {
      toast("Resetting the sandbox…");
      await api("/api/reset", {}).catch(() => {});
      ui.keys = {}; ui.thread = null; ui.lastSeen = {};
      persist();
      toast("The sandbox starts afresh.");
      refresh();
    }));
  document.addEventListener("click", (event) => {
    if (!$("menu").contains(event.target)) closeMenu();
    document.querySelectorAll(".overflow-menu:not(.hidden)").forEach((m) => {
      if (!m.parentNode.contains(event.target)) m.classList.add("hidden");
    });
  });
  ui.tour = await fetch("/api/tour").then((r) => r.json()).catch(() => []);
  await refresh();
  if (ui.conversation === "home") api("/api/home", {}).catch(() => {});
  listen();
}

start();
