// Block Kit and mrkdwn, drawn with DOM calls only: every piece of text goes through
// textContent, never innerHTML. An unknown block or element is drawn as a visible placeholder
// naming its type, never dropped.
"use strict";

const BlockKit = (() => {
  const LINK = /^(https?:|mailto:)/i;
  const INLINE = /`([^`\n]+)`|<([^<>\n]+)>|(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])|(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])|(?<![\w~])~(?!\s)([^~\n]+?)~(?![\w~])/g;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Small line icons (no emoji font needed): lock, hash, chat, home, skip.
  const ICONS = {
    lock: "M5 11h14v10H5zM8 11V7a4 4 0 0 1 8 0v4",
    hash: "M9 3 7 21M17 3l-2 18M4 8h17M3 16h17",
    chat: "M4 5h16v11H9l-5 4z",
    home: "M3 11 12 4l9 7M6 9v11h12V9",
    skip: "M4 6l7 6-7 6zM13 6l7 6-7 6z",
    eye: "M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12zM12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6z",
  };
  function icon(name) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", ICONS[name] || "");
    svg.append(path);
    return svg;
  }

  const EMOJI = {bulb: "💡", white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌",
                 warning: "⚠️", hourglass: "⌛", hourglass_flowing_sand: "⏳", mag: "🔍",
                 raising_hand: "🙋", wave: "👋", tada: "🎉", lock: "🔒", memo: "📝",
                 question: "❓", zzz: "💤", bell: "🔔", pencil2: "✏️", star: "⭐",
                 thumbsup: "👍", "+1": "👍", thumbsdown: "👎", "-1": "👎", eyes: "👀",
                 inbox_tray: "📥", busts_in_silhouette: "👥", bar_chart: "📊", clock3: "🕒"};

  function unescape(text) {
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }

  function words(text) {  // plain running text: entities and :emoji: shortcodes
    return unescape(text).replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
  }

  // -- mrkdwn -----------------------------------------------------------------------------
  function special(inner, ctx) {
    const [target, label] = inner.split("|", 2);
    if (target.startsWith("@")) {
      const id = target.slice(1);
      const name = (ctx.users && ctx.users[id]) || label || id;
      return el("span", {class: "mention", "data-user": id, text: "@" + name});
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const name = label || (ctx.channels && ctx.channels[id]) || id;
      return el("span", {class: "mention", text: "#" + name});
    }
    if (target.startsWith("!")) {
      if (label) return document.createTextNode(unescape(label));
      const word = target.slice(1).split("^")[0];
      return el("span", {class: "mention", text: "@" + word.replace(/^subteam/, "group")});
    }
    const url = unescape(target);
    if (LINK.test(url)) {
      return el("a", {href: url, target: "_blank", rel: "noopener noreferrer",
                      text: unescape(label || target)});
    }
    return document.createTextNode("<" + unescape(inner) + ">");
  }

  function inline(text, ctx) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(INLINE)) {
      if (m.index > last) out.push(document.createTextNode(words(text.slice(last, m.index))));
      if (m[1] !== undefined) out.push(el("code", {text: unescape(m[1])}));
      else if (m[2] !== undefined) out.push(special(m[2], ctx));
      else if (m[3] !== undefined) out.push(el("b", {}, inline(m[3], ctx)));
      else if (m[4] !== undefined) out.push(el("i", {}, inline(m[4], ctx)));
      else out.push(el("s", {}, inline(m[5], ctx)));
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(document.createTextNode(words(text.slice(last))));
    return out;
  }

  // A mrkdwn string: ```pre``` fences, > quotes, • bullets, then inline formatting per line.
  function mrkdwn(text, ctx) {
    const root = el("div", {class: "mrkdwn"});
    const parts = String(text || "").split("```");
    parts.forEach((part, i) => {
      if (i % 2 === 1) {
        root.append(el("pre", {text: unescape(part.replace(/^\n/, ""))}));
        return;
      }
      let quote = null;
      const lines = part.split("\n");
      lines.forEach((line, n) => {
        const quoted = line.match(/^(&gt;|>)\s?(.*)$/);
        if (quoted) {
          if (!quote) { quote = el("blockquote"); root.append(quote); }
          if (quote.childNodes.length) quote.append(el("br"));
          quote.append(...inline(quoted[2], ctx));
          return;
        }
        quote = null;
        const bullet = line.match(/^\s*[•◦▪-]\s+(.*)$/);
        if (bullet && line.trim() !== "-") {
          root.append(el("div", {class: "bullet"}, el("span", {class: "bullet-dot", text: "•"}),
                         el("span", {}, inline(bullet[1], ctx))));
          return;
        }
        if (line === "" && (n === 0 || n === lines.length - 1) && lines.length > 1) return;
        root.append(el("div", {class: "line"}, line === "" ? el("br") : inline(line, ctx)));
      });
    });
    return root;
  }

  function textObject(obj, ctx) {
    if (!obj) return el("span");
    if (obj.type === "mrkdwn") return mrkdwn(obj.text, ctx);
    return el("span", {class: "plain", text: obj.text || ""});
  }

  function plain(obj) { return (obj && obj.text) || ""; }

  // -- interactivity helpers -------------------------------------------------------------
  function confirmThen(confirm, go) {
    if (!confirm) { go(); return; }
    const box = el("div", {class: "confirm-backdrop", "data-testid": "confirm"});
    const close = () => box.remove();
    box.append(el("div", {class: "confirm"},
      el("h3", {text: plain(confirm.title) || "Are you sure?"}),
      el("div", {class: "confirm-text"}, textObject(confirm.text, {})),
      el("div", {class: "confirm-buttons"},
        el("button", {class: "btn", "data-testid": "confirm-cancel", text: plain(confirm.deny) || "Cancel",
                      onclick: close}),
        el("button", {class: "btn " + (confirm.style === "danger" ? "danger" : "primary"),
                      "data-testid": "confirm-ok", text: plain(confirm.confirm) || "Yes",
                      onclick: () => { close(); go(); }}))));
    document.body.append(box);
  }

  function option(opt) { return opt ? {text: opt.text, value: opt.value} : null; }

  function allOptions(element) {
    if (element.option_groups) return element.option_groups.flatMap((g) => g.options || []);
    return element.options || [];
  }

  function selectFor(element, ctx, onPick) {
    const select = el("select", {class: "select", "data-action-id": element.action_id,
                                 "data-testid": "select"});
    select.append(el("option", {value: "", text: plain(element.placeholder) || "Select…"}));
    if (element.type === "users_select") {
      for (const [id, name] of Object.entries(ctx.users || {})) {
        if (id === (ctx.bot && ctx.bot.id)) continue;
        select.append(el("option", {value: id, text: name,
                                    selected: element.initial_user === id}));
      }
    } else {
      allOptions(element).forEach((opt, i) => select.append(el("option", {
        value: String(i), text: plain(opt.text),
        selected: element.initial_option && element.initial_option.value === opt.value})));
    }
    select.readValue = () => {
      if (!select.value) return element.type === "users_select"
        ? {type: element.type, selected_user: null} : {type: element.type, selected_option: null};
      if (element.type === "users_select") return {type: element.type, selected_user: select.value};
      return {type: element.type, selected_option: option(allOptions(element)[+select.value])};
    };
    if (onPick) select.addEventListener("change", () => {
      const picked = select.readValue();
      const chosen = {};
      if (picked.selected_user) chosen.selected_user = picked.selected_user;
      if (picked.selected_option) chosen.selected_option = picked.selected_option;
      confirmThen(element.confirm, () => onPick(chosen));
    });
    return select;
  }

  // One interactive element. `inInput`: part of an input block (no block_actions unless
  // dispatch_action); `act(chosen)` sends the block_actions for it.
  function element(e, ctx, act, inInput, block) {
    switch (e.type) {
      case "button": {
        const cls = "btn" + (e.style ? " " + e.style : "");
        return el("button", {class: cls, "data-testid": "block-button", "data-action-id": e.action_id,
                             text: plain(e.text),
                             onclick: () => confirmThen(e.confirm, () => {
                               if (e.url) window.open(e.url, "_blank", "noopener");
                               act({});
                             })});
      }
      case "static_select": case "users_select": case "external_select":
      case "conversations_select": case "channels_select":
        if (!["static_select", "users_select"].includes(e.type)) break;
        return selectFor(e, ctx, inInput && !(block && block.dispatch_action) ? null : act);
      case "overflow": {
        const wrap = el("span", {class: "overflow"});
        const menu = el("div", {class: "overflow-menu hidden"});
        (e.options || []).forEach((opt) => menu.append(el("button", {
          class: "menu-item", text: plain(opt.text),
          onclick: () => { menu.classList.add("hidden");
            confirmThen(e.confirm, () => act({selected_option: option(opt)})); }})));
        wrap.append(el("button", {class: "btn overflow-button", "data-testid": "overflow",
                                  text: "⋯", onclick: () => menu.classList.toggle("hidden")}), menu);
        return wrap;
      }
      case "datepicker": {
        const input = el("input", {type: "date", class: "input", "data-action-id": e.action_id,
                                   value: e.initial_date || ""});
        input.readValue = () => ({type: "datepicker", selected_date: input.value || null});
        if (!inInput || (block && block.dispatch_action)) input.addEventListener("change",
          () => confirmThen(e.confirm, () => act({selected_date: input.value})));
        return input;
      }
      case "plain_text_input": {
        const attrs = {class: "input", "data-action-id": e.action_id, "data-testid": "text-input",
                       placeholder: plain(e.placeholder), maxlength: e.max_length};
        const input = e.multiline ? el("textarea", {...attrs, rows: 4}) : el("input", {...attrs, type: "text"});
        input.value = e.initial_value || "";
        input.readValue = () => ({type: "plain_text_input", value: input.value === "" ? null : input.value});
        return input;
      }
      case "image":
        return el("span", {class: "image-placeholder", title: e.image_url || "",
                           text: "🖼 " + (e.alt_text || "image")});
    }
    return unsupported("element", e.type);
  }

  function unsupported(kind, type) {
    return el("div", {class: "unsupported", "data-testid": "unsupported",
                      text: `Unsupported ${kind}: ${type || "(no type)"}`});
  }

  // -- blocks -------------------------------------------------------------------------------
  // ctx: {users, channels, bot, onAction(blockIndex, actionId, chosen), errors: {block_id: text},
  //       previous: {block_id: {action_id: value}} to keep what was typed across updates}
  function block(b, index, ctx) {
    const act = (e) => (chosen) => ctx.onAction && ctx.onAction(index, e.action_id, chosen);
    const blockId = b.block_id || `b${index}`;
    switch (b.type) {
      case "section": {
        const node = el("div", {class: "block section"});
        const body = el("div", {class: "section-body"});
        if (b.text) body.append(textObject(b.text, ctx));
        if (b.fields) body.append(el("div", {class: "fields"},
          b.fields.map((f) => el("div", {class: "field"}, textObject(f, ctx)))));
        node.append(body);
        if (b.accessory) node.append(el("div", {class: "accessory"},
          element(b.accessory, ctx, act(b.accessory), false, b)));
        return node;
      }
      case "header":
        return el("div", {class: "block header", text: plain(b.text)});
      case "divider":
        return el("hr", {class: "block divider"});
      case "context":
        return el("div", {class: "block context"}, (b.elements || []).map((e) =>
          e.type === "image" ? element(e, ctx) : textObject(e, ctx)));
      case "actions":
        return el("div", {class: "block actions"}, (b.elements || []).map((e) =>
          element(e, ctx, act(e), false, b)));
      case "input": {
        const e = b.element || {};
        const node = el("div", {class: "block input-block", "data-block-id": blockId});
        node.append(el("label", {class: "input-label"}, plain(b.label),
          b.optional ? el("span", {class: "optional", text: " (optional)"}) : null));
        const control = element(e, ctx, act(e), true, b);
        const kept = ctx.previous && ctx.previous[blockId] && ctx.previous[blockId][e.action_id];
        if (kept && control.readValue) restore(control, kept);
        node.append(control);
        if (b.hint) node.append(el("div", {class: "hint", text: plain(b.hint)}));
        if (ctx.errors && ctx.errors[blockId]) {
          node.classList.add("has-error");
          node.append(el("div", {class: "field-error", "data-testid": "modal-error",
                                 text: ctx.errors[blockId]}));
        }
        return node;
      }
      case "image":
        return el("div", {class: "block"}, element(b, ctx));
      case "rich_text":
        return el("div", {class: "block rich-text", text: richText(b)});
    }
    return unsupported("block", b.type);
  }

  function restore(control, kept) {
    if (kept.value !== undefined && kept.value !== null) control.value = kept.value;
    else if (kept.selected_date) control.value = kept.selected_date;
    else if (kept.selected_user) control.value = kept.selected_user;
    else if (kept.selected_option) {
      for (const opt of control.options || []) if (opt.textContent === plain(kept.selected_option.text)) control.value = opt.value;
    }
  }

  function richText(b) {
    const words = [];
    const walk = (node) => {
      if (node.text) words.push(node.text);
      if (node.type === "user") words.push("@" + node.user_id);
      (node.elements || []).forEach(walk);
    };
    walk(b);
    return words.join("");
  }

  function render(blocks, ctx) {
    const root = el("div", {class: "blocks"});
    (blocks || []).forEach((b, i) => root.append(block(b, i, ctx)));
    return root;
  }

  // What Slack sends as view.state.values: every input, and every select or date in an
  // actions block or accessory, by block_id and action_id.
  function stateValues(root, blocks) {
    const values = {};
    (blocks || []).forEach((b, i) => {
      const blockId = b.block_id || `b${i}`;
      const elements = [b.element, b.accessory, ...(b.elements || [])].filter(Boolean);
      for (const e of elements) {
        if (!e.action_id || e.type === "button" || e.type === "overflow") continue;
        const node = root.querySelector(`[data-block-index="${i}"] [data-action-id="${CSS.escape(e.action_id)}"]`);
        if (!node || !node.readValue) continue;
        (values[blockId] = values[blockId] || {})[e.action_id] = node.readValue();
      }
    });
    return values;
  }

  function renderView(blocks, ctx) {
    const root = el("div", {class: "blocks"});
    (blocks || []).forEach((b, i) => {
      const node = block(b, i, ctx);
      node.setAttribute("data-block-index", i);
      root.append(node);
    });
    return root;
  }

  return {el, icon, mrkdwn, render, renderView, stateValues, confirmThen, plain, unescape};
})();
