// switchboard console: a thin page over the admin API (/api/v1). Every
// element is built with h(), never from HTML strings, so nothing a user
// typed is ever parsed as markup.
"use strict";

const S = { session: null, tenant: "" };
const PAGE = 50;

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function say(msg, bad) {
  const s = document.getElementById("status");
  s.textContent = msg || "";
  s.className = bad ? "bad" : msg ? "good" : "";
}

class APIError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : "HTTP " + status);
    this.status = status;
    this.field = body && body.field;
  }
}

async function api(method, path, body, opts) {
  opts = opts || {};
  const headers = {};
  if (S.session && S.session.csrf) headers["X-CSRF-Token"] = S.session.csrf;
  let payload;
  if (body !== undefined) {
    if (opts.ctype) { headers["Content-Type"] = opts.ctype; payload = body; }
    else { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  }
  const res = await fetch("/api/v1" + path, { method, headers, body: payload, credentials: "same-origin" });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (res.status === 401 && path !== "/login") { S.session = null; go("#/login"); }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

const T = () => "/tenants/" + encodeURIComponent(S.tenant);

function go(hash) { if (location.hash !== hash) location.hash = hash; else route(); }

function field(label, input, hint) {
  const id = input.id || ("f-" + Math.random().toString(36).slice(2));
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", { id: id + "-hint" }, hint) : null);
}

function table(caption, heads, rows) {
  return h("div", { class: "scroll" }, h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, heads.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows)));
}

function secretBox(title, value) {
  return h("div", { class: "secret", role: "alert" },
    h("strong", {}, title + " "), h("code", { class: "once" }, value),
    h("p", {}, "Shown once: copy it now."));
}

function page(title, ...kids) {
  const main = document.getElementById("main");
  main.replaceChildren(h("h1", {}, title), ...kids);
  document.title = title + " · switchboard";
}

// ---------- sign in ----------

function loginPage() {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").textContent = "";
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const pw = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "card narrow", id: "login", onsubmit: async (e) => {
    e.preventDefault();
    try {
      S.session = await api("POST", "/login", { email: email.value, password: pw.value });
      say("");
      await start();
    } catch (err) { say(err.message, true); pw.select(); }
  } }, field("Email", email), field("Password", pw), h("button", { type: "submit" }, "Sign in"));
  page("Sign in", form, h("p", { class: "hint" }, "Company admins sign in with the email and password their provider gave them."));
  email.focus();
}

function signOutButton() {
  return h("button", { type: "button", class: "link", onclick: async () => {
    try { await api("POST", "/logout"); } catch (e) { /* signed out anyway */ }
    S.session = null; go("#/login");
  } }, "Sign out");
}

async function start() {
  if (location.hash.startsWith("#/invite/")) return invitePage(location.hash.slice("#/invite/".length));
  if (!S.session) {
    try { S.session = await api("GET", "/session"); } catch (e) { return loginPage(); }
  }
  if (S.session.role === "user") return startMyPhone();
  const prov = S.session.role === "provider";
  document.getElementById("nav").hidden = false;
  document.getElementById("nav-provider").hidden = !prov;
  if (!prov) S.tenant = S.session.tenant;
  if (prov && !S.tenant) {
    const ts = (await api("GET", "/tenants")).tenants;
    S.tenant = ts.length ? ts[0].domain : "";
  }
  document.getElementById("who").replaceChildren((S.session.email || S.session.who) + " · " + (S.tenant || "no tenant") + " ", signOutButton());
  if (location.hash === "" || location.hash === "#/login") go(prov ? "#/provider" : "#/users"); else route();
}

// ---------- users ----------

const U = { q: "", sort: "last_name", offset: 0 };

// userNames is a user's first and last name; the server fills both in, and
// splits a name-only user's name on its last space.
function userNames(u) {
  if (u.first_name || u.last_name) return [u.first_name || "", u.last_name || ""];
  const f = (u.name || "").trim().split(/\s+/).filter(Boolean);
  return f.length < 2 ? [f[0] || "", ""] : [f.slice(0, -1).join(" "), f[f.length - 1]];
}

async function registeredByUser() {
  const regs = (await api("GET", "/registrations?tenant=" + encodeURIComponent(S.tenant))).registrations;
  const by = {};
  for (const r of regs) {
    const name = r.aor.split("@")[0];
    (by[name] = by[name] || []).push(r);
  }
  return by;
}

// STATUS names a user's sign-in status (invite.go on the server).
const STATUS = { invited: "Invited", invite_expired: "Invite expired", active: "Active" };

// invite emails a user their SIP account and a sign-in link.
async function invite(id) {
  const r = await api("POST", T() + "/users/" + encodeURIComponent(id) + "/invite");
  return "Invitation sent to " + r.email + (r.sip_password_reset ? " with a new SIP password" : "");
}

async function usersPage() {
  const q = h("input", { type: "search", value: U.q, placeholder: "name, extension, email, number" });
  const sort = h("select", {},
    [["last_name", "Last name"], ["extension", "Extension"], ["id", "ID"]].map(([v, l]) => h("option", { value: v, selected: v === U.sort }, l)));
  const body = h("div", { id: "users-table" });
  const load = async () => {
    const qs = "?limit=" + PAGE + "&offset=" + U.offset + "&sort=" + U.sort + (U.q ? "&q=" + encodeURIComponent(U.q) : "");
    const [list, regs] = await Promise.all([api("GET", T() + "/users" + qs), registeredByUser()]);
    const rows = list.users.map((u) => {
      const [first, last] = userNames(u);
      const names = [u.id].concat(u.extensions || [], u.aliases || []);
      const lines = names.filter((n) => regs[n]).map((n) => n + " (" + regs[n].length + ")");
      return h("tr", {},
        h("td", {}, last), h("td", {}, first),
        h("td", {}, (u.extensions || []).join(", ")),
        h("td", {}, u.email || ""), h("td", {}, u.direct_number || ""),
        h("td", { class: "status-" + (u.status || "none") }, STATUS[u.status] || "Not invited"),
        h("td", { class: lines.length ? "reg" : "unreg" }, lines.length ? "Registered: " + lines.join(", ") : "Not registered"),
        h("td", {}, h("a", { href: "#/users/" + encodeURIComponent(u.id), "aria-label": "Edit " + (u.name || u.id) }, "Edit")));
    });
    const from = list.total ? U.offset + 1 : 0, to = Math.min(U.offset + PAGE, list.total);
    body.replaceChildren(
      table("Users " + from + "–" + to + " of " + list.total, ["Last name", "First name", "Extensions", "Email", "Direct number", "Status", "Phones", ""], rows),
      h("div", { class: "pager" },
        h("button", { type: "button", disabled: U.offset === 0, onclick: () => { U.offset = Math.max(0, U.offset - PAGE); load(); } }, "Previous page"),
        h("span", {}, from + "–" + to + " of " + list.total),
        h("button", { type: "button", disabled: to >= list.total, onclick: () => { U.offset += PAGE; load(); } }, "Next page")));
  };
  let timer;
  q.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { U.q = q.value.trim(); U.offset = 0; load(); }, 250); });
  sort.addEventListener("change", () => { U.sort = sort.value; U.offset = 0; load(); });
  page("Users",
    h("div", { class: "bar" }, field("Search users", q), field("Sort by", sort),
      h("a", { class: "button", href: "#/users/new" }, "Add user"),
      h("button", { type: "button", onclick: load }, "Refresh")),
    body);
  await load();
}

async function userForm(id) {
  const isNew = id === "new";
  const [u, inv, groups, next] = await Promise.all([
    isNew ? Promise.resolve({}) : api("GET", T() + "/users/" + encodeURIComponent(id)),
    api("GET", T() + "/numbers"),
    api("GET", T() + "/groups?limit=1000"),
    isNew ? api("GET", T() + "/next-extension").catch(() => ({})) : Promise.resolve({}),
  ]);
  const [first, last] = userNames(u);
  const f = {
    id: h("input", { name: "id", value: u.id || "", required: true, pattern: "[a-z0-9._-]+", readonly: !isNew, "aria-describedby": "f-id-hint" }),
    first: h("input", { name: "first_name", value: first, autocomplete: "off" }),
    last: h("input", { name: "last_name", value: last, autocomplete: "off" }),
    email: h("input", { name: "email", type: "email", value: u.email || "" }),
    ext: h("input", { name: "extensions", value: (u.extensions || []).join(", "), placeholder: next.extension || "" }),
    aliases: h("input", { name: "aliases", value: (u.aliases || []).join(", ") }),
    direct: h("select", { name: "direct_number" }),
    cid: h("select", { name: "caller_id" }, h("option", { value: "main" }, "Company main number"), h("option", { value: "direct" }, "Their direct number")),
    fwd: h("input", { name: "forward_number", type: "tel", value: (u.forward && u.forward.number) || "", placeholder: "+14085551234" }),
    when: h("select", { name: "forward_when" }, [["no_answer", "No answer"], ["always", "Always"], ["busy", "Busy"], ["unregistered", "Not registered"]].map(([v, l]) => h("option", { value: v }, l))),
    after: h("input", { name: "forward_after", type: "number", min: "1", max: "300", value: u.forward && u.forward.after ? parseInt(u.forward.after, 10) : 20 }),
    screen: h("input", { name: "forward_screening", type: "checkbox", checked: !!(u.forward && u.forward.screening) }),
  };
  f.id.id = "f-id";
  f.direct.append(h("option", { value: "" }, "None"));
  const pool = (inv.inventory || []).filter((e) => e.status !== "assigned" || e.number === u.direct_number);
  for (const e of pool) f.direct.append(h("option", { value: e.number, selected: e.number === u.direct_number }, e.number + (e.status === "reserved" ? " (reserved" + (e.note ? ": " + e.note : "") + ")" : e.number === u.direct_number ? "" : " (available)")));
  f.cid.value = u.caller_id || "main";
  if (u.forward) f.when.value = u.forward.when;
  const out = h("div", { id: "user-result" });
  const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);
  let andInvite = false;
  const save = async (e) => {
    e.preventDefault();
    const inviting = andInvite;
    andInvite = false;
    const body = { id: f.id.value.trim(), name: null, first_name: f.first.value.trim() || null, last_name: f.last.value.trim() || null, email: f.email.value.trim() || null,
      aliases: list(f.aliases.value), caller_id: f.cid.value, direct_number: f.direct.value || null,
      forward: f.fwd.value.trim() ? { number: f.fwd.value.trim(), when: f.when.value, after: f.after.value + "s", screening: f.screen.checked } : null };
    const exts = list(f.ext.value);
    if (exts.length) body.extensions = exts;
    try {
      let saved;
      if (isNew) {
        for (const k of Object.keys(body)) if (body[k] === null) delete body[k];
        saved = await api("POST", T() + "/users", body);
      } else {
        delete body.id;
        saved = await api("PATCH", T() + "/users/" + encodeURIComponent(id), body);
      }
      let msg = "Saved user " + saved.id + " (extension " + (saved.extensions || []).join(", ") + ")";
      if (inviting) msg += ". " + await invite(saved.id);
      say(msg);
      // An invitation carries a new SIP password, so the one generated at creation is moot.
      out.replaceChildren(saved.password && !inviting ? secretBox("SIP password for " + saved.id + ":", saved.password) : "",
        h("p", {}, h("a", { href: "#/users" }, "Back to users")));
    } catch (err) { say(err.message + (err.field ? " (" + err.field + ")" : ""), true); }
  };
  const resend = async () => {
    try { say(await invite(id)); } catch (err) { say(err.message + (err.field ? " (" + err.field + ")" : ""), true); }
  };
  const reset = async () => {
    try {
      const r = await api("POST", T() + "/users/" + encodeURIComponent(id) + "/password");
      out.replaceChildren(secretBox("New SIP password for " + r.id + ":", r.password));
      say("SIP password reset; the old one no longer works");
    } catch (err) { say(err.message, true); }
  };
  const del = () => {
    const inGroups = (groups.groups || []).filter((g) => (g.members || []).some((m) => m === u.id || (u.aliases || []).includes(m))).map((g) => g.id);
    const goes = [
      "extensions " + ((u.extensions || []).join(", ") || "none"),
      "aliases " + ((u.aliases || []).join(", ") || "none"),
      u.direct_number ? "direct number " + u.direct_number + " (returns to available)" : "no direct number",
      inGroups.length ? "membership of groups " + inGroups.join(", ") : "no group memberships",
      "every registered phone of this user is signed out",
    ];
    const yes = h("button", { type: "button", class: "danger", onclick: async () => {
      try { await api("DELETE", T() + "/users/" + encodeURIComponent(id)); say("Deleted user " + id); go("#/users"); }
      catch (err) { say(err.message, true); }
    } }, "Delete " + id);
    out.replaceChildren(h("div", { class: "confirm", role: "alertdialog", "aria-labelledby": "del-title" },
      h("h2", { id: "del-title" }, "Delete user " + id + "?"), h("p", {}, "This removes:"),
      h("ul", {}, goes.map((g) => h("li", {}, g))), yes,
      h("button", { type: "button", onclick: () => out.replaceChildren() }, "Keep the user")));
    yes.focus();
  };
  page(isNew ? "Add user" : "Edit user " + id,
    h("form", { class: "card", id: "user-form", onsubmit: save },
      h("fieldset", {}, h("legend", {}, "Person"),
        field("User ID", f.id, "lower-case letters, digits, . _ -; the SIP username"), field("First name", f.first), field("Last name", f.last), field("Email", f.email)),
      h("fieldset", {}, h("legend", {}, "Phone"),
        field("Extensions", f.ext, isNew ? "blank: the next free extension" + (next.extension ? " (" + next.extension + ", policy " + next.policy + ")" : "") : "comma-separated"),
        field("SIP aliases", f.aliases, "comma-separated, e.g. john-support"),
        field("Direct number", f.direct, "from the company's available numbers"),
        field("Outbound caller ID", f.cid)),
      h("fieldset", {}, h("legend", {}, "Forwarding"),
        field("Forward to", f.fwd, "blank: no forwarding"), field("When", f.when), field("After (seconds)", f.after),
        h("div", { class: "field check" }, f.screen, h("label", { for: (f.screen.id = "f-screen") }, "Screening: the forwarded call must press 1 to accept"))),
      h("div", { class: "bar" }, h("button", { type: "submit" }, isNew ? "Create user" : "Save"),
        h("button", { type: "submit", id: "save-invite", onclick: () => { andInvite = true; } }, "Save & Invite"),
        isNew ? null : h("button", { type: "button", id: "resend-invite", onclick: resend }, u.status ? "Resend invite" : "Invite"),
        isNew ? null : h("button", { type: "button", onclick: reset }, "Reset SIP password"),
        isNew ? null : h("button", { type: "button", class: "danger", onclick: del }, "Delete user"),
        h("a", { href: "#/users" }, "Cancel"))),
    out);
  (isNew ? f.id : f.first).focus();
}

// ---------- numbers ----------

async function numbersPage(status) {
  const inv = await api("GET", T() + "/numbers" + (status ? "?status=" + status : ""));
  const filter = h("select", {}, [["", "All"], ["available", "Available"], ["reserved", "Reserved"], ["assigned", "Assigned"]].map(([v, l]) => h("option", { value: v, selected: v === (status || "") }, l)));
  filter.addEventListener("change", () => numbersPage(filter.value));
  const rows = inv.inventory.map((e) => {
    const target = h("input", { value: e.target || "", placeholder: "user:john", "aria-label": "Target of " + e.number });
    const note = h("input", { value: e.note || "", placeholder: "note", "aria-label": "Note for " + e.number });
    const set = (st) => async () => {
      try {
        await api("POST", T() + "/numbers", { number: e.number, status: st, target: st === "assigned" ? target.value.trim() : undefined, note: st === "reserved" ? note.value : undefined });
        say(e.number + ": " + st); numbersPage(status);
      } catch (err) { say(err.message, true); }
    };
    return h("tr", {}, h("td", {}, e.number), h("td", { class: "st-" + e.status }, e.status), h("td", {}, target), h("td", {}, note),
      h("td", { class: "actions" }, h("button", { type: "button", onclick: set("assigned"), "aria-label": "Assign " + e.number }, "Assign"), h("button", { type: "button", onclick: set("reserved"), "aria-label": "Reserve " + e.number }, "Reserve"), h("button", { type: "button", onclick: set("available"), "aria-label": "Release " + e.number }, "Release")));
  });
  page("Numbers", h("div", { class: "bar" }, field("Show", filter)),
    table("Numbers of " + S.tenant + (inv.main_number ? " (main " + inv.main_number + ")" : ""), ["Number", "Status", "Routes to", "Note", ""], rows),
    h("p", { class: "hint" }, "New numbers come from your provider. A released number stays yours, available; calls to it get 404."));
}

// ---------- groups and attendants ----------

async function groupsPage() {
  const gs = (await api("GET", T() + "/groups?limit=1000")).groups;
  page("Groups", table("Ring groups", ["ID", "Extension", "Strategy", "Ring", "Members"],
    gs.map((g) => h("tr", {}, h("td", {}, g.id), h("td", {}, g.extension), h("td", {}, g.strategy || ""), h("td", {}, g.ring || ""), h("td", {}, (g.members || []).join(", "))))));
}

async function attendantsPage() {
  const as = (await api("GET", T() + "/attendants?limit=1000")).attendants;
  const forms = as.map((a) => {
    const keys = "0123456789*#".split("");
    const inputs = {};
    const rows = keys.map((k) => {
      inputs[k] = h("input", { value: (a.options || {})[k] || "", placeholder: "group:sales", "aria-label": "Key " + k + " of " + a.id });
      return h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, inputs[k]));
    });
    const dbe = h("input", { type: "checkbox", checked: !!a.dial_by_extension });
    const timeout = h("input", { value: a.timeout || "5s" });
    const fallback = h("input", { value: a.fallback || "" });
    const greeting = h("input", { value: a.greeting || "" });
    return h("form", { class: "card", onsubmit: async (e) => {
      e.preventDefault();
      const options = {};
      for (const k of keys) if (inputs[k].value.trim()) options[k] = inputs[k].value.trim();
      try {
        await api("PUT", T() + "/attendants/" + encodeURIComponent(a.id), { id: a.id, greeting: greeting.value.trim() || undefined, options,
          dial_by_extension: dbe.checked, timeout: timeout.value.trim(), retries: a.retries, fallback: fallback.value.trim() || undefined });
        say("Saved menu " + a.id);
      } catch (err) { say(err.message + (err.field ? " (" + err.field + ")" : ""), true); }
    } }, h("h2", {}, "Menu " + a.id),
      field("Greeting prompt", greeting, "the name of a prompt file on the server; an uploaded greeting (below) plays instead"),
      h("div", { class: "scroll" }, h("table", {}, h("caption", {}, "Keys"), h("tbody", {}, rows))),
      h("div", { class: "field check" }, dbe, h("label", { for: (dbe.id = "dbe-" + a.id) }, "Callers may dial an extension")),
      field("Timeout", timeout), field("Fallback", fallback, "where a caller goes after no or bad input"),
      h("button", { type: "submit" }, "Save menu " + a.id));
  });
  page("Auto attendant", ...(forms.length ? forms.flatMap((f, i) => [f, greetingCard(as[i])]) : [h("p", {}, "No menus yet.")]));
}

// greetingCard uploads a menu's greeting (any WAV or MP3: the server
// converts it to 8 kHz, or says why it cannot) and plays back what callers hear.
function greetingCard(a) {
  const url = "/api/v1" + T() + "/attendants/" + encodeURIComponent(a.id) + "/greeting";
  const file = h("input", { type: "file", accept: "audio/*,.wav,.mp3", id: "greeting-file-" + a.id });
  const player = h("audio", { controls: true, preload: "none", id: "greeting-audio-" + a.id, "aria-label": "Uploaded greeting of menu " + a.id });
  const state = h("p", { class: "hint", id: "greeting-state-" + a.id }, "");
  const load = () => {
    player.src = url + "?t=" + Date.now();
    player.hidden = false;
    state.textContent = "";
  };
  player.onerror = () => { player.hidden = true; state.textContent = "No greeting uploaded: callers hear the greeting prompt."; };
  load();
  return h("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    if (!file.files.length) return say("Choose a WAV or MP3 file first", true);
    const f = file.files[0];
    const res = await fetch(url, { method: "PUT", body: f, credentials: "same-origin",
      headers: { "Content-Type": f.type || "application/octet-stream", "X-CSRF-Token": S.session.csrf } });
    let body = null;
    try { body = await res.json(); } catch (err) { body = null; }
    if (!res.ok) return say("Greeting refused: " + ((body && body.error) || "HTTP " + res.status), true);
    say("Greeting of menu " + a.id + " uploaded (" + body.duration_s.toFixed(1) + " s at 8 kHz)");
    load();
  } }, h("h2", {}, "Greeting of menu " + a.id),
    field("Upload a recording", file, "WAV or MP3, up to 5 minutes; converted to 8 kHz mono for the phone network"),
    h("button", { type: "submit", id: "greeting-upload-" + a.id }, "Upload greeting"),
    h("div", { class: "field" }, player), state);
}

// ---------- bulk upload ----------

const TEMPLATE = "id,first_name,last_name,email,extension,password,direct_number,caller_id,forward_number,forward_when,forward_screening,aliases\n" +
  "john,John,Smith,john@example.com,,,,main,,,,john-support\n";

// parseCSV splits CSV text into records of fields (RFC 4180 quoting).
function parseCSV(text) {
  const out = [];
  let rec = [], cell = "", q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"') { if (text[i + 1] === '"') { cell += '"'; i++; } else q = false; } else cell += c;
    } else if (c === '"') q = true;
    else if (c === ",") { rec.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      rec.push(cell); cell = ""; out.push(rec); rec = [];
    } else cell += c;
  }
  if (cell !== "" || rec.length) { rec.push(cell); out.push(rec); }
  return out;
}

function toCSV(records) {
  return records.map((r) => r.map((c) => /[",\r\n]/.test(c) ? '"' + c.replace(/"/g, '""') + '"' : c).join(",")).join("\n") + "\n";
}

function download(name, text, id) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  return h("a", { class: "button", href: url, download: name, id }, "Download " + name);
}

function importPage() {
  const file = h("input", { type: "file", accept: ".csv,text/csv", id: "csv-file" });
  const progress = h("progress", { max: "100", value: "0", "aria-label": "Upload progress", hidden: true });
  const out = h("div", { id: "import-report" });
  const send = async (e) => {
    e.preventDefault();
    if (!file.files.length) return say("Choose a CSV file first", true);
    const text = await file.files[0].text();
    progress.hidden = false; progress.value = 0;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1" + T() + "/users/import");
    xhr.setRequestHeader("Content-Type", "text/csv");
    xhr.setRequestHeader("X-CSRF-Token", S.session.csrf);
    // The answer is the import's progress, one JSON line per step, then its
    // report (admin/imports.go): the bar shows the upload, then the rows.
    xhr.setRequestHeader("Accept", "application/x-ndjson");
    const lines = () => xhr.responseText.split("\n").filter((l) => l.trim()).map((l) => { try { return JSON.parse(l); } catch (err) { return null; } }).filter(Boolean);
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) progress.value = Math.round(50 * ev.loaded / ev.total); };
    xhr.onprogress = () => {
      const l = lines().pop();
      if (l && l.phase === "applying" && l.total) {
        progress.value = 50 + Math.round(50 * l.done / l.total);
        say("Importing: " + l.done + " of " + l.total + " rows (" + Math.round(l.rate) + " rows/s)");
      }
    };
    xhr.onload = () => {
      progress.value = 100;
      let rep = null, last = null;
      if (xhr.status === 200) { last = lines().pop() || null; rep = last && last.report; }
      else { try { last = JSON.parse(xhr.responseText); } catch (err) { last = null; } }
      if (!rep) return say((last && last.error) || "upload failed: HTTP " + xhr.status, true);
      say("Imported: " + rep.created + " created, " + rep.updated + " updated, " + rep.failed + " failed", rep.failed > 0);
      const recs = parseCSV(text).filter((r) => r.length > 1 || r[0] !== "");
      const failed = rep.rows.filter((r) => r.status === "failed");
      const keep = [recs[0]].concat(failed.map((r) => recs[r.row - 1]).filter(Boolean));
      // An iPlum or MultiLine file: new users got SIP passwords, shown only here.
      const pw = rep.rows.some((r) => r.password);
      const heads = ["Row", "ID", "Result"].concat(pw ? ["SIP password"] : [], ["Field", "Error"]);
      out.replaceChildren(
        rep.format ? h("p", {}, "Recognised as a " + rep.format + " file.") : null,
        table("Import report", heads, rep.rows.map((r) =>
          h("tr", { class: "st-" + r.status }, h("td", {}, r.row), h("td", {}, r.id || ""), h("td", {}, r.status),
            pw ? h("td", {}, h("code", {}, r.password || "")) : null,
            h("td", {}, r.field || ""), h("td", {}, r.error || "")))),
        pw ? h("p", { class: "warn" }, "The generated SIP passwords are shown only now: copy them before leaving this page.") : null,
        failed.length ? h("p", {}, download("failed-rows.csv", toCSV(keep), "failed-csv"), " Fix these rows and upload the file again.") : null);
    };
    xhr.onerror = () => say("upload failed: network error", true);
    xhr.send(text);
  };
  page("Bulk upload",
    h("p", {}, "One row per user; a blank extension gets the next free one; a new user needs a password. Rows whose id exists update that user. iPlum and MultiLine files are taken as exported (ids and passwords are generated). ", download("users-template.csv", TEMPLATE, "template")),
    h("form", { class: "card", onsubmit: send }, field("CSV file", file), h("button", { type: "submit" }, "Upload"), progress),
    out);
}

// ---------- calls ----------

async function callsPage() {
  const q = "?tenant=" + encodeURIComponent(S.tenant);
  const [calls, regs, cdrs] = await Promise.all([api("GET", "/calls" + q), api("GET", "/registrations" + q), api("GET", "/cdrs" + q + "&limit=50")]);
  page("Calls",
    h("button", { type: "button", onclick: callsPage }, "Refresh"),
    table("Live calls", ["Caller", "Callee", "Kind", "Answered"], calls.calls.map((c) => h("tr", {}, h("td", {}, c.caller), h("td", {}, c.callee), h("td", {}, c.kind), h("td", {}, new Date(c.answered).toLocaleString())))),
    table("Registered phones", ["Address", "Phone", "From", "Expires"], regs.registrations.map((r) => h("tr", {}, h("td", {}, r.aor), h("td", {}, r.user_agent || ""), h("td", {}, r.source || ""), h("td", {}, new Date(r.expires).toLocaleTimeString())))),
    table("Recent calls", ["Ended", "Caller", "Callee", "Result", "Talk", "Ended by"], cdrs.cdrs.map((c) => h("tr", { class: "cdr" },
      h("td", {}, new Date(c.ended).toLocaleString()), h("td", {}, c.caller), h("td", {}, c.callee), h("td", {}, c.result.replace(/_/g, " ")),
      h("td", {}, talk(c.talk_s)), h("td", {}, (c.ended_by || "").replace(/_/g, " "))))),
    h("p", { class: "hint" }, "The last 50 finished calls this server handled, newest first; every call is also one line (a CDR) in the server log."));
}

// talk shows a call's talk time as m:ss (h:mm:ss past an hour).
function talk(s) {
  const hh = Math.floor(s / 3600), mm = Math.floor(s / 60) % 60, ss = String(s % 60).padStart(2, "0");
  return hh ? hh + ":" + String(mm).padStart(2, "0") + ":" + ss : mm + ":" + ss;
}

// ---------- provider ----------

async function providerPage() {
  const [ts, pool] = await Promise.all([api("GET", "/tenants"), api("GET", "/numbers")]);
  const pick = h("select", {}, ts.tenants.map((t) => h("option", { value: t.domain, selected: t.domain === S.tenant }, t.domain)));
  pick.addEventListener("change", () => { S.tenant = pick.value; start(); });
  const dom = h("input", { placeholder: "acme.example", required: true }), nm = h("input", { required: true }), main = h("input", { type: "tel", placeholder: "+14155550100" });
  const nums = h("textarea", { rows: "2", placeholder: "+14155550150 +14155550151" });
  const num = h("input", { placeholder: "+14155550150", required: true }), to = h("input", { placeholder: "acme.example", required: true, value: S.tenant });
  const aTenant = h("input", { required: true, value: S.tenant }), aEmail = h("input", { type: "email", required: true }), aName = h("input", {});
  const out = h("div", { id: "provider-result" });
  const act = (fn) => async (e) => { e.preventDefault(); try { await fn(); } catch (err) { say(err.message, true); } };
  page("Provider",
    h("div", { class: "bar" }, field("Manage tenant", pick)),
    table("Tenants", ["Domain", "Name", "Main number", "Users", "Numbers"], ts.tenants.map((t) => h("tr", {}, h("td", {}, t.domain), h("td", {}, t.name), h("td", {}, t.main_number || ""), h("td", {}, t.user_count), h("td", {}, t.number_count)))),
    h("div", { class: "grid" },
      h("form", { class: "card", onsubmit: act(async () => {
        const body = { domain: dom.value.trim(), name: nm.value.trim() };
        if (main.value.trim()) body.main_number = main.value.trim();
        await api("POST", "/tenants", body); say("Created tenant " + body.domain); providerPage();
      }) }, h("h2", {}, "Create tenant"), field("Domain", dom), field("Name", nm), field("Main number", main), h("button", { type: "submit" }, "Create tenant")),
      h("form", { class: "card", onsubmit: act(async () => {
        const r = await api("POST", "/numbers", { numbers: nums.value.split(/[\s,]+/).filter(Boolean) }); say("Pooled " + r.added.length + " numbers"); providerPage();
      }) }, h("h2", {}, "Add numbers to the pool"), field("Numbers", nums, pool.numbers.length + " in the pool: " + pool.numbers.slice(0, 8).map((n) => n.number).join(", ")), h("button", { type: "submit" }, "Add to pool")),
      h("form", { class: "card", onsubmit: act(async () => {
        await api("PATCH", "/numbers/" + encodeURIComponent(num.value.trim()), { tenant: to.value.trim() }); say("Allocated " + num.value + " to " + to.value); providerPage();
      }) }, h("h2", {}, "Allocate a number"), field("Number", num), field("To tenant", to), h("button", { type: "submit" }, "Allocate")),
      h("form", { class: "card", onsubmit: act(async () => {
        const r = await api("POST", "/tenants/" + encodeURIComponent(aTenant.value.trim()) + "/admins", { email: aEmail.value.trim(), name: aName.value.trim() });
        out.replaceChildren(secretBox("Password for " + r.email + ":", r.password)); say("Created admin " + r.email);
      }) }, h("h2", {}, "Create a tenant admin"), field("Tenant", aTenant), field("Email", aEmail), field("Name", aName), h("button", { type: "submit" }, "Create admin"))),
    out);
}

// ---------- routing ----------

async function route() {
  const hash = location.hash || "#/login";
  if (hash === "#/login") return loginPage();
  if (hash.startsWith("#/invite/")) return invitePage(hash.slice("#/invite/".length));
  if (!S.session) return start();
  for (const a of document.querySelectorAll("#nav a")) {
    if (hash.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  if (S.session.role === "user") return myPhonePage().catch((err) => say(err.message, true));
  const [, what, arg] = hash.split("/");
  try {
    if (!S.tenant && what !== "provider") return page("No tenant", h("p", {}, "Create a tenant first."));
    switch (what) {
      case "users": await (arg ? userForm(decodeURIComponent(arg)) : usersPage()); break;
      case "numbers": await numbersPage(""); break;
      case "groups": await groupsPage(); break;
      case "attendants": await attendantsPage(); break;
      case "import": importPage(); break;
      case "calls": await callsPage(); break;
      case "provider": await providerPage(); break;
      default: go("#/users");
    }
    document.getElementById("main").focus({ preventScroll: true });
  } catch (err) { say(err.message, true); }
}

// ---------- accepting an invitation ----------

// invitePage is where an emailed link lands: the user chooses a portal
// password, which accepts the invitation, and is signed in to My phone.
async function invitePage(token) {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").textContent = "";
  let who;
  try { who = await api("GET", "/invitations/" + encodeURIComponent(token)); }
  catch (err) {
    page("Invitation", h("p", { class: "bad" }, err.message), h("p", {}, h("a", { href: "#/login" }, "Sign in")));
    return;
  }
  const pw = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: "10" });
  const again = h("input", { type: "password", name: "password_again", autocomplete: "new-password", required: true, minlength: "10" });
  const form = h("form", { class: "card narrow", id: "accept", onsubmit: async (e) => {
    e.preventDefault();
    if (pw.value !== again.value) { say("The two passwords differ", true); again.select(); return; }
    try {
      await api("POST", "/invitations/" + encodeURIComponent(token), { password: pw.value });
      S.session = await api("POST", "/login", { email: who.email, password: pw.value });
      say("Welcome! Your password is set.");
      location.hash = "#/me";
      await start();
    } catch (err) { say(err.message, true); }
  } }, h("p", {}, "Signing in as " + who.email + " (" + who.tenant + ")"),
    field("Choose a password", pw, "at least 10 characters"), field("The same password again", again),
    h("button", { type: "submit" }, "Set password and sign in"));
  page("Welcome, " + (who.name || who.id), form);
  pw.focus();
}

// ---------- my phone (the self-service user role) ----------

function startMyPhone() {
  S.tenant = S.session.tenant;
  document.getElementById("nav").hidden = true;
  document.getElementById("who").replaceChildren((S.session.email || S.session.who) + " · " + S.tenant + " ", signOutButton());
  if (location.hash !== "#/me") go("#/me"); else route();
}

// myPhonePage is all a user may change: forwarding, caller ID, voicemail
// PIN and greeting (PATCH /me refuses anything else).
async function myPhonePage() {
  const me = await api("GET", "/me");
  const fw = me.forward || {};
  const f = {
    cid: h("select", { name: "caller_id" }, h("option", { value: "main" }, "Company main number" + (me.main_number ? " (" + me.main_number + ")" : "")),
      me.direct_number ? h("option", { value: "direct" }, "My direct number (" + me.direct_number + ")") : null),
    fwd: h("input", { name: "forward_number", type: "tel", value: fw.number || "", placeholder: "+14085551234" }),
    when: h("select", { name: "forward_when" }, [["no_answer", "No answer"], ["always", "Always"], ["busy", "Busy"], ["unregistered", "Not registered"]].map(([v, l]) => h("option", { value: v }, l))),
    after: h("input", { name: "forward_after", type: "number", min: "1", max: "300", value: fw.after ? parseInt(fw.after, 10) : 20 }),
    screen: h("input", { name: "forward_screening", type: "checkbox", checked: !!fw.screening }),
    pin: h("input", { name: "voicemail_pin", type: "password", inputmode: "numeric", pattern: "[0-9]{4,10}", autocomplete: "new-password" }),
    greeting: h("input", { name: "voicemail_greeting", value: (me.voicemail && me.voicemail.greeting) || "" }),
  };
  f.cid.value = me.caller_id || "main";
  if (fw.when) f.when.value = fw.when;
  const save = async (e) => {
    e.preventDefault();
    const body = { caller_id: f.cid.value,
      forward: f.fwd.value.trim() ? { number: f.fwd.value.trim(), when: f.when.value, after: f.after.value + "s", screening: f.screen.checked } : null };
    if (me.voicemail) {
      body.voicemail = { greeting: f.greeting.value.trim() || null };
      if (f.pin.value) body.voicemail.pin = f.pin.value;
    }
    try {
      await api("PATCH", "/me", body);
      f.pin.value = "";
      say("Saved your phone settings");
    } catch (err) { say(err.message + (err.field ? " (" + err.field + ")" : ""), true); }
  };
  page("My phone",
    h("p", {}, (me.name || me.id) + " · extension " + ((me.extensions || []).join(", ") || "none") + (me.direct_number ? " · direct " + me.direct_number : "")),
    h("form", { class: "card", id: "me-form", onsubmit: save },
      h("fieldset", {}, h("legend", {}, "Outbound caller ID"), field("My calls show", f.cid)),
      h("fieldset", {}, h("legend", {}, "Forwarding"),
        field("Forward to", f.fwd, "blank: no forwarding"), field("When", f.when), field("After (seconds)", f.after),
        h("div", { class: "field check" }, f.screen, h("label", { for: (f.screen.id = "me-screen") }, "Screening: the forwarded call must press 1 to accept"))),
      me.voicemail ? h("fieldset", {}, h("legend", {}, "Voicemail"),
        field("New PIN", f.pin, me.voicemail.pin_set ? "4-10 digits; blank keeps your PIN" : "4-10 digits"),
        field("Greeting prompt", f.greeting, "blank: the standard greeting")) : null,
      h("div", { class: "bar" }, h("button", { type: "submit" }, "Save"))));
  f.fwd.focus();
}

window.addEventListener("hashchange", () => { say(""); route(); });
start();
