// Key management: the list (GET /admin/keys), create (POST /admin/keys; the secret shown once, with a copy button) and revoke (DELETE /admin/keys/{id}) after a confirmation dialog.
import { call } from "./api.js";
import { $, el, fillTable, showError, say } from "./dom.js";
import { budgetText, count, micros, when } from "./format.js";

let onChange = () => {};

/** Wires the key view's form, secret panel and dialog; `changed` runs after a create or revoke. */
export function initKeys(changed) {
  onChange = changed;
  $("create-form").addEventListener("submit", (e) => {
    e.preventDefault();
    create();
  });
  $("copy-key").addEventListener("click", copySecret);
  $("new-key-done").addEventListener("click", () => {
    hideSecret();
    $("key-name").focus();
  });
}

/** Loads and shows the key list. */
export async function loadKeys() {
  try {
    const { keys } = await call("GET", "/admin/keys");
    showError($("keys-error"), "");
    showList(keys ?? []);
  } catch (e) {
    showError($("keys-error"), e.message);
  }
}

/** Forgets everything the key view shows (sign out). */
export function clearKeys() {
  hideSecret();
  $("create-form").reset();
  $("keys-table").replaceChildren();
  showError($("keys-error"), "");
  showError($("create-error"), "");
}

function stateOf(k) {
  if (k.revoked) return "revoked";
  if (k.expiresAt && k.expiresAt * 1000 <= Date.now()) return "expired";
  return "active";
}

function showList(keys) {
  const sorted = [...keys].sort((a, b) => Number(a.revoked) - Number(b.revoked) || (b.createdAt ?? 0) - (a.createdAt ?? 0));
  fillTable($("keys-table"), [
    { label: "Name", key: "name" }, { label: "Id", key: "id" }, { label: "Scopes", key: "scopes" }, { label: "Budget", key: "budget" },
    { label: "Rate limit", key: "rate" }, { label: "Expires", key: "expires" }, { label: "Created", key: "created" },
    { label: "State", key: "state" }, { label: "Action", key: "action" },
  ], sorted.map((k) => {
    const state = stateOf(k);
    const action = k.revoked ? "–" : el("button", { type: "button", className: "small danger", "data-revoke": k.id, "aria-label": `Revoke key ${k.name}`, onclick: (e) => confirmRevoke(k, e.currentTarget) }, "Revoke");
    return [k.name, el("code", {}, k.id), (k.scopes ?? []).join(", ") || "none", budgetText(k.budget),
      k.rateLimit ? `${count(k.rateLimit)}/min` : "tenant default", when(k.expiresAt), when(k.createdAt),
      { text: state, className: state === "active" ? "status-ok" : "status-bad" }, { node: action }];
  }), "No keys yet: create one above.", { rowClass: (i) => (sorted[i].revoked ? "revoked" : "") });
  for (const [i, tr] of [...$("keys-table").tBodies[0].rows].entries()) if (sorted[i]) tr.dataset.key = sorted[i].id;
}

/** The create form as a POST /admin/keys body, or a message naming the field that is wrong. */
function readForm() {
  const v = (id) => $(id).value.trim();
  const bad = (id, message) => ({ error: message, field: id });
  const name = v("key-name");
  if (!name) return bad("key-name", "Name: give the key a name (1-64 characters).");
  const body = { name, scopes: ["chat", "models"].filter((s) => $(`scope-${s}`).checked) };
  const budget = {};
  for (const [id, field, label] of [["key-daily", "daily", "Token budget per day"], ["key-monthly", "monthly", "Token budget per month"]]) {
    if (!v(id)) continue;
    if (!/^\d+$/.test(v(id)) || Number(v(id)) < 1) return bad(id, `${label}: a whole number of tokens, at least 1.`);
    budget[field] = Number(v(id));
  }
  for (const [id, field, label] of [["key-daily-usd", "dailyUsd", "Cost budget per day"], ["key-monthly-usd", "monthlyUsd", "Cost budget per month"]]) {
    if (!v(id)) continue;
    const m = micros(v(id).replace(/^\$/, ""));
    if (m === null || m < 1) return bad(id, `${label}: an amount of US dollars like 2.50 (at most 6 decimals, more than 0).`);
    budget[field] = v(id).replace(/^\$/, "");
  }
  if (budget.daily && budget.monthly && budget.daily > budget.monthly) return bad("key-daily", "Token budget: the daily limit cannot be above the monthly one.");
  if (budget.dailyUsd && budget.monthlyUsd && micros(budget.dailyUsd) > micros(budget.monthlyUsd)) return bad("key-daily-usd", "Cost budget: the daily limit cannot be above the monthly one.");
  if (Object.keys(budget).length) body.budget = budget;
  if (v("key-rate")) {
    const r = Number(v("key-rate"));
    if (!Number.isInteger(r) || r < 1 || r > 100000) return bad("key-rate", "Rate limit: 1 to 100,000 requests per minute.");
    body.rateLimit = r;
  }
  if (v("key-expiry")) {
    const end = Date.parse(`${v("key-expiry")}T00:00:00Z`) / 1000 + 86_400;
    if (!Number.isFinite(end) || end * 1000 <= Date.now()) return bad("key-expiry", "Expiry: pick today or a later day.");
    body.expiresAt = end;
  }
  return { body };
}

async function create() {
  const form = readForm();
  for (const input of $("create-form").querySelectorAll("input")) input.removeAttribute("aria-invalid");
  if (form.error) {
    showError($("create-error"), form.error);
    $(form.field).setAttribute("aria-invalid", "true");
    $(form.field).focus();
    return;
  }
  const button = $("create-key");
  button.disabled = true;
  try {
    const made = await call("POST", "/admin/keys", form.body);
    showError($("create-error"), "");
    $("create-form").reset();
    showSecret(made);
    say(`Created key ${made.name} (${made.id}).`);
    await loadKeys();
    onChange();
  } catch (e) {
    showError($("create-error"), `Could not create the key: ${e.message}`);
  } finally {
    button.disabled = false;
  }
}

function showSecret(made) {
  $("new-key-name").textContent = `${made.name} (${made.id})`;
  $("new-key-secret").value = made.key;
  $("copy-status").textContent = "";
  $("new-key").hidden = false;
  $("new-key").focus();
}

function hideSecret() {
  $("new-key-secret").value = "";
  $("new-key-name").textContent = "";
  $("copy-status").textContent = "";
  $("new-key").hidden = true;
}

async function copySecret() {
  const input = $("new-key-secret");
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    input.select();
    copied = document.execCommand("copy");
  }
  $("copy-status").textContent = copied ? "Copied to the clipboard." : "Could not copy: select the key and copy it by hand.";
}

/** Asks before revoking `k`; `opener` gets the focus back when the dialog closes. */
function confirmRevoke(k, opener) {
  const dialog = $("confirm-revoke");
  $("confirm-text").textContent = `Revoke “${k.name}” (${k.id})? Every client using this key is refused from then on ` +
    "(within the tenant's key cache time). A revoked key cannot be restored: make a new one instead.";
  const close = () => {
    dialog.close();
    $("confirm-ok").onclick = null;
    $("confirm-cancel").onclick = null;
  };
  $("confirm-cancel").onclick = () => {
    close();
    opener.focus();
  };
  dialog.oncancel = () => {
    $("confirm-ok").onclick = null;
    opener.focus();
  };
  $("confirm-ok").onclick = async () => {
    close();
    try {
      await call("DELETE", `/admin/keys/${encodeURIComponent(k.id)}`);
      say(`Revoked key ${k.name} (${k.id}).`);
      showError($("keys-error"), "");
    } catch (e) {
      showError($("keys-error"), `Could not revoke ${k.name}: ${e.message}`);
    }
    await loadKeys();
    $("list-title").tabIndex = -1;
    $("list-title").focus();
    onChange();
  };
  dialog.showModal();
  $("confirm-cancel").focus();
}
