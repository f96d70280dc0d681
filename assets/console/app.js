// The operator console's entry: sign in with the ADMIN_TOKEN (kept in sessionStorage only), switch between the overview and the API keys, refresh, sign out.
import { call, session, signInError } from "./api.js";
import { $, showError, say } from "./dom.js";
import { loadOverview, clearOverview, loadProviders } from "./overview.js";
import { initKeys, loadKeys, clearKeys } from "./keys.js";

const VIEWS = ["overview", "keys"];
let busy = 0;

/** Runs `work` while body[data-busy] counts it (tests and styles can wait for 0). */
async function track(work) {
  document.body.dataset.busy = String(++busy);
  try {
    return await work();
  } finally {
    document.body.dataset.busy = String(--busy);
  }
}

const viewFromHash = () => (VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "overview");

/** Shows `view` ("signin", "overview" or "keys"). */
function show(view) {
  document.body.dataset.view = view;
  $("signin").hidden = view !== "signin";
  $("nav").hidden = view === "signin";
  for (const v of VIEWS) {
    $(v).hidden = v !== view;
    const button = $(`nav-${v}`);
    if (v === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
}

/** Signed in: shows the view the address names and loads both views' data. */
function enter() {
  show(viewFromHash());
  return track(() => Promise.all([loadOverview(), loadKeys()]));
}

/** A reload with a token in this tab: checks it is still right, else asks again. */
async function resume() {
  try {
    await track(() => call("GET", "/admin/keys"));
  } catch (err) {
    session.clear();
    show("signin");
    showError($("signin-error"), signInError(err));
    $("token").focus();
    return;
  }
  await enter();
}

async function signIn(e) {
  e.preventDefault();
  const input = $("token");
  const token = input.value.trim();
  const error = $("signin-error");
  if (!token) {
    showError(error, "Type the admin token first.");
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  $("signin-button").disabled = true;
  try {
    // Any admin route says whether the token is right; the key list is the cheapest.
    await track(() => call("GET", "/admin/keys", undefined, { token }));
  } catch (err) {
    showError(error, signInError(err));
    input.setAttribute("aria-invalid", "true");
    input.focus();
    input.select();
    return;
  } finally {
    $("signin-button").disabled = false;
  }
  session.set(token);
  input.value = "";
  input.removeAttribute("aria-invalid");
  showError(error, "");
  say("Signed in.");
  await enter();
  $("main").focus();
}

function signOut() {
  session.clear();
  clearOverview();
  clearKeys();
  show("signin");
  say("Signed out: the token is forgotten in this tab.");
  $("token").focus();
}

function switchTo(view) {
  if (location.hash.slice(1) !== view) history.replaceState(null, "", `#${view}`);
  show(view);
}

/** The tenant and version line, from the public GET /health. */
async function tenantLine() {
  try {
    const h = await call("GET", "/health", undefined, { token: null });
    $("tenant").textContent = `Tenant ${h.tenantId} · gateway ${h.version}`;
  } catch (e) {
    // 503 when not ready still carries JSON; anything else: say so in the line itself.
    $("tenant").textContent = e.status === 503 ? "Tenant not ready (see GET /health)" : "";
  }
}

function init() {
  $("signin-form").addEventListener("submit", signIn);
  $("token").addEventListener("input", () => $("token").removeAttribute("aria-invalid"));
  for (const v of VIEWS) $(`nav-${v}`).addEventListener("click", () => switchTo(v));
  $("signout").addEventListener("click", signOut);
  $("refresh").addEventListener("click", async () => {
    say("Refreshing…");
    await track(() => Promise.all([loadOverview(), loadKeys()]));
    say("Refreshed.");
  });
  $("check-providers").addEventListener("click", () => track(loadProviders));
  window.addEventListener("hashchange", () => { if (session.get()) show(viewFromHash()); });
  initKeys(() => track(loadOverview));
  tenantLine();
  if (session.get()) resume();
  else {
    show("signin");
    $("token").focus();
  }
}

init();
