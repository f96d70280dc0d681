// Small DOM helpers of the console: elements built with textContent only (never innerHTML, so names from the API cannot inject markup), tables, error boxes.

/** `document.getElementById`. */
export const $ = (id) => document.getElementById(id);

/**
 * An element: `attrs` are properties (className, id, type, ...) except `data-*`, `aria-*` and
 * `role`, which are attributes; children are nodes or text.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "for") node.setAttribute(k, String(v));
    else node[k] = v;
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

/**
 * Fills `tableEl` with a header from `columns` ([{label, num?}]) and one row per entry of
 * `rows` (arrays of cells: text, a node, or {text|node, className}); `empty` is said when
 * there are none. Every cell carries its column's label (the narrow layout shows it).
 */
export function fillTable(tableEl, columns, rows, empty, { rowClass } = {}) {
  tableEl.replaceChildren();
  const head = el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", className: c.num ? "num" : "" }, c.label))));
  const body = el("tbody");
  if (!rows.length) {
    body.append(el("tr", { className: "empty" }, el("td", { colSpan: columns.length }, empty)));
  }
  rows.forEach((cells, i) => {
    const tr = el("tr", { className: rowClass?.(i) ?? "" });
    cells.forEach((cell, j) => {
      const c = columns[j];
      const content = cell && typeof cell === "object" && !(cell instanceof Node) ? cell.node ?? cell.text : cell;
      const extra = cell && typeof cell === "object" && !(cell instanceof Node) ? cell.className ?? "" : "";
      tr.append(el("td", { className: [c.num ? "num" : "", extra].join(" ").trim(), "data-label": c.label, "data-col": c.key ?? c.label }, content ?? "–"));
    });
    body.append(tr);
  });
  tableEl.append(head, body);
}

/** Shows `message` in the error box `node` (or hides it when `message` is empty). */
export function showError(node, message) {
  node.textContent = message ?? "";
  node.hidden = !message;
}

/** Says `message` in the page's status line (polite live region). */
export function say(message) {
  $("status").textContent = message ?? "";
}
