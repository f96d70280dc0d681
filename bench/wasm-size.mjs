// Where the bytes of a wasm module go: code size per crate and per function, from the name
// section (build with `WASM_NAMES=1 scripts/build.sh`, which keeps it), plus data and the
// other sections. twiggy 0.7 cannot read modules that use exception handling, so this reads
// the binary itself. Not part of CI.
//
//   node bench/wasm-size.mjs [build/index_bg.wasm] [--top N] [--json]
//
// Function names are Rust's demangled paths (`gateway::answer::AnswerFold::apply`,
// `<serde_json::de::Deserializer<R> as ...>::deserialize_any`); a function is counted for the
// crate its path starts with (for `<A as B>::f`, the crate of A), `std`/`core`/`alloc` as `std`.
import fs from "node:fs";
import zlib from "node:zlib";

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--")) ?? "build/index_bg.wasm";
const top = Number(args[args.indexOf("--top") + 1]) || 40;
const bytes = fs.readFileSync(file);

let pos = 8;
function leb() {
  let result = 0, shift = 0, b;
  do {
    b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return result;
}
function name() {
  const n = leb();
  const s = bytes.toString("utf8", pos, pos + n);
  pos += n;
  return s;
}

const sections = [];
let importedFuncs = 0;
let bodies = [];
const names = new Map();
while (pos < bytes.length) {
  const id = bytes[pos++];
  const size = leb();
  const start = pos;
  const end = pos + size;
  let label = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start", "element", "code", "data", "datacount", "tag"][id] ?? `id${id}`;
  if (id === 0) {
    const n = name();
    label = `custom:${n}`;
    if (n === "name") {
      while (pos < end) {
        const sub = bytes[pos++];
        const subSize = leb();
        const subEnd = pos + subSize;
        if (sub === 1) {
          const count = leb();
          for (let i = 0; i < count; i++) {
            const idx = leb();
            names.set(idx, name());
          }
        }
        pos = subEnd;
      }
    }
  } else if (id === 2) {
    const count = leb();
    for (let i = 0; i < count; i++) {
      name();
      name();
      const kind = bytes[pos++];
      if (kind === 0) { leb(); importedFuncs++; }
      else if (kind === 1) { pos++; const flags = leb(); leb(); if (flags & 1) leb(); }
      else if (kind === 2) { const flags = leb(); leb(); if (flags & 1) leb(); }
      else if (kind === 3) { pos += 2; }
      else if (kind === 4) { pos++; leb(); }
    }
  } else if (id === 10) {
    const count = leb();
    for (let i = 0; i < count; i++) {
      const len = leb();
      bodies.push({ index: importedFuncs + i, size: len + (pos - start > 0 ? 0 : 0) });
      pos += len;
    }
  }
  sections.push({ label, size: end - start });
  pos = end;
}

/** The crate a demangled path belongs to. */
function crateOf(n) {
  if (!n) return "(unnamed)";
  let s = n.replace(/^_ZN|^_R/, "");
  while (s.startsWith("<")) s = s.slice(1);
  s = s.replace(/^(&|\*const |\*mut |dyn |impl |\[|\()+/, "");
  const m = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(s);
  const c = m ? m[1] : "(other)";
  if (["core", "alloc", "std"].includes(c)) return "std";
  if (c.startsWith("__wbg") || c.startsWith("__wbindgen") || c === "wasm_bindgen") return "wasm_bindgen";
  return c;
}

const code = bodies.reduce((n, b) => n + b.size, 0);
const perCrate = new Map();
for (const b of bodies) {
  const c = crateOf(names.get(b.index));
  perCrate.set(c, (perCrate.get(c) ?? 0) + b.size);
}
const total = bytes.length;
const gz = zlib.gzipSync(bytes, { level: 9 }).length;
const pct = (n, of = total) => `${((100 * n) / of).toFixed(1)} %`;
const rows = [...perCrate].sort((a, b) => b[1] - a[1]);
const fns = bodies.map((b) => ({ name: names.get(b.index) ?? `func[${b.index}]`, size: b.size })).sort((a, b) => b.size - a.size);

if (args.includes("--json")) {
  console.log(JSON.stringify({ file, total, gzipped: gz, code, sections, crates: Object.fromEntries(rows), top: fns.slice(0, top) }, null, 2));
} else {
  console.log(`${file}: ${total} bytes, ${gz} gzipped; code ${code} (${pct(code)}), ${bodies.length} functions${names.size ? "" : " (no name section: build with WASM_NAMES=1)"}\n`);
  console.log("| section | bytes | share |\n|---|---:|---:|");
  for (const s of sections.sort((a, b) => b.size - a.size)) console.log(`| ${s.label} | ${s.size} | ${pct(s.size)} |`);
  console.log("\n| crate | code bytes | share of code |\n|---|---:|---:|");
  for (const [c, n] of rows.slice(0, 25)) console.log(`| ${c} | ${n} | ${pct(n, code)} |`);
  console.log(`\n| largest functions (top ${top}) | bytes |\n|---|---:|`);
  for (const f of fns.slice(0, top)) console.log(`| \`${f.name.replace(/\|/g, "\\|").slice(0, 140)}\` | ${f.size} |`);
}
