// The explorer's page: runs a trained model's generator (or a VAE's decoder) and encoder in the browser with
// TensorFlow.js, from the LayersModels the server or the static export provides (site.json lists them), and draws the
// four panels. `tf` is the global of vendor/tf.min.js; `tf.wasm` that of vendor/tf-backend-wasm.min.js.
/* global tf */

const $ = (id) => document.getElementById(id);

/** Everything the page holds about the open model. */
const state = {
  site: null,
  backend: "",
  /** id -> Promise<{ info, gen, enc }> */
  loaded: new Map(),
  current: null,
  info: null,
  /** The base latent (codes then noise) and the live one the sliders edit. */
  base: null,
  latent: null,
  baseSeed: 1,
  animating: -1,
  animStart: 0,
  frameTimes: [],
  samples: null,
};

// ---- small helpers -----------------------------------------------------------------------------------------------

function showError(msg) {
  const box = $("errors");
  box.hidden = false;
  const line = document.createElement("div");
  line.textContent = msg;
  box.appendChild(line);
}

function clearErrors() {
  const box = $("errors");
  box.textContent = "";
  box.hidden = true;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function fmt(x, digits = 2) {
  return x === null || x === undefined || Number.isNaN(x) ? "—" : Number(x).toFixed(digits);
}

/** A seeded generator (mulberry32), so "base latent #n" is the same latent on every visit. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drawLatent(info, seed) {
  const rand = mulberry32(seed * 2654435761);
  const n = info.latent.codes + info.latent.noise;
  const [lo, hi] = info.sliderRange;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    if (info.latent.prior === "uniform") out[i] = -1 + 2 * rand();
    else {
      const u = Math.max(rand(), 1e-9), v = rand();
      out[i] = Math.min(hi, Math.max(lo, Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)));
    }
  }
  return out;
}

/** Colour of a value in [0, 1]: white to the accent blue. */
function heatColour(v) {
  const t = Math.min(1, Math.max(0, v));
  const r = Math.round(255 + (38 - 255) * t),
    g = Math.round(255 + (84 - 255) * t),
    b = Math.round(255 + (166 - 255) * t);
  return `rgb(${r}, ${g}, ${b})`;
}

/** Writes image `index` of an NHWC batch into a canvas of its own size. */
function putImage(canvas, data, index, shape, valueRange) {
  const [h, w, c] = shape;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const [lo, hi] = valueRange;
  const scale = 255 / (hi - lo);
  const base = index * h * w * c;
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const v = data[base + p * c + (c === 1 ? 0 : k)];
      img.data[p * 4 + k] = Math.max(0, Math.min(255, Math.round((v - lo) * scale)));
    }
    img.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// ---- TensorFlow.js -----------------------------------------------------------------------------------------------

/**
 * The WebGL renderer's name when it is a software one (SwiftShader, llvmpipe): far slower than wasm for these
 * networks, so it is used only when asked for, as the toolkit treats a software WebGPU adapter.
 */
function softwareWebgl() {
  try {
    const gl = document.createElement("canvas").getContext("webgl2") ??
      document.createElement("canvas").getContext("webgl");
    if (!gl) return null;
    const ext = gl.getExtension("WEBGL_debug_renderer_info");
    const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension("WEBGL_lose_context")?.loseContext();
    return /swiftshader|llvmpipe|software/i.test(name) ? name : null;
  } catch (_e) {
    return null;
  }
}

/** WebGL where the browser has a GPU for it, wasm otherwise (`?backend=webgl|wasm|cpu` picks one). */
async function initBackend() {
  tf.wasm.setWasmPaths(new URL("vendor/", document.baseURI).href);
  const asked = new URLSearchParams(location.search).get("backend");
  const order = asked ? [asked] : softwareWebgl() ? ["wasm", "cpu"] : ["webgl", "wasm", "cpu"];
  // One compiled WebGL program per op, whatever the batch size (the image, the grid and the real images differ).
  tf.env().set("WEBGL_USE_SHAPES_UNIFORMS", true);
  for (const b of order) {
    try {
      if (await tf.setBackend(b)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch (_e) {
      // try the next one
    }
  }
  throw new Error(`no TensorFlow.js backend could start (tried ${order.join(", ")})`);
}

async function fetchJson(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text().catch(() => "")}`.trim());
  return await r.json();
}

function loadModel(id) {
  if (!state.loaded.has(id)) {
    const info = state.site.models.find((m) => m.id === id);
    const p = (async () => {
      if (!info) throw new Error(`no model "${id}" on this page`);
      if (info.error) throw new Error(info.error);
      const [gen, enc] = await Promise.all([
        tf.loadLayersModel(info.files.generator),
        tf.loadLayersModel(info.files.encoder),
      ]);
      return { info, gen, enc };
    })();
    p.catch(() => state.loaded.delete(id));
    state.loaded.set(id, p);
  }
  return state.loaded.get(id);
}

/** Images (flat NHWC Float32Array) for latent rows. */
async function generate(model, rows) {
  const out = tf.tidy(() => model.gen.predict(tf.tensor2d(rows)));
  try {
    return await out.data();
  } finally {
    out.dispose();
  }
}

async function encode(model, images, n) {
  const [h, w, c] = model.info.imageShape;
  const out = tf.tidy(() => model.enc.predict(tf.tensor4d(images, [n, h, w, c])));
  try {
    return await out.data();
  } finally {
    out.dispose();
  }
}

// ---- the header and the picker -----------------------------------------------------------------------------------

function describe(info) {
  const bits = [info.model, info.dataset];
  if (info.profile) bits.push(`profile ${info.profile}`);
  if (info.iteration !== undefined) bits.push(`iteration ${info.iteration.toLocaleString("en")}`);
  if (info.metrics) {
    const s = info.metrics.scores;
    const m = [];
    if (s.factorVae !== undefined) m.push(`FactorVAE ${fmt(s.factorVae, 3)}`);
    if (s.mig !== undefined) m.push(`MIG ${fmt(s.mig, 3)}`);
    if (m.length) {
      bits.push(`${m.join(", ")} (${info.metrics.protocol ?? "?"} protocol, ${info.metrics.profile ?? "?"})`);
    }
  }
  return bits.join(" · ");
}

function fillPicker(select, models, selected) {
  select.textContent = "";
  for (const m of models) {
    const o = el("option", { value: m.id, text: m.error ? `${m.title} (cannot open)` : m.title });
    if (m.id === selected) o.selected = true;
    select.append(o);
  }
}

/** The median of the last frames' times (the first frame of a model, which compiles its kernels, is left out). */
function updateRuntime() {
  const t = state.frameTimes.slice(1).sort((a, b) => a - b);
  const median = t.length ? t[Math.floor(t.length / 2)] : NaN;
  const first = state.frameTimes[0];
  const frame = !Number.isNaN(median)
    ? `${median.toFixed(1)} ms`
    : first !== undefined
    ? `${first.toFixed(1)} ms (first frame)`
    : "—";
  $("runtime").textContent = `TensorFlow.js ${tf.version.tfjs} · ${state.backend} · frame ${frame}`;
  $("runtime").title = "median time from a slider move to the image on screen (generator, read-back, drawing)";
}

// ---- latent sliders ------------------------------------------------------------------------------------------------

function inputName(info, i) {
  return i < info.latent.codes ? (info.kind === "vae" ? `z${i + 1}` : `c${i + 1}`) : `z${i - info.latent.codes + 1}`;
}

function buildSliders(info) {
  const body = $("slider-table").querySelector("tbody");
  body.textContent = "";
  const n = info.latent.codes + info.latent.noise;
  const [lo, hi] = info.sliderRange;
  for (let i = 0; i < n; i++) {
    const noise = i >= info.latent.codes;
    const input = el("input", {
      type: "range",
      min: String(lo),
      max: String(hi),
      step: "0.01",
      id: `slider-${i}`,
      "aria-label": inputName(info, i),
    });
    input.value = String(state.latent[i]);
    input.addEventListener("input", () => {
      state.latent[i] = Number(input.value);
      updateSliderLabels();
      scheduleRender();
    });
    const row = el(
      "tr",
      { class: noise ? "noise" : "code" },
      el("td", { text: noise ? `${inputName(info, i)} (noise)` : inputName(info, i) }),
      el("td", {}, input),
      el("td", { id: `slider-value-${i}`, text: fmt(state.latent[i]) }),
      el("td", { id: `slider-read-${i}`, text: "" }),
    );
    body.append(row);
  }
  const anim = $("animate-code");
  anim.textContent = "";
  for (let i = 0; i < info.latent.codes; i++) anim.append(el("option", { value: String(i), text: inputName(info, i) }));
}

function updateSliderLabels() {
  for (let i = 0; i < state.latent.length; i++) {
    const s = $(`slider-${i}`);
    if (Number(s.value) !== state.latent[i]) s.value = String(state.latent[i]);
    $(`slider-value-${i}`).textContent = fmt(state.latent[i]);
  }
  $("base-label").textContent = `base latent #${state.baseSeed}`;
}

// ---- rendering, coalesced: one main frame and one grid at a time, always of the latest latent ---------------------

let mainBusy = false, mainDirty = false, gridBusy = false, gridDirty = false;

function scheduleRender() {
  mainDirty = true;
  gridDirty = true;
  if (!mainBusy) renderMainLoop();
  if (!gridBusy) renderGridLoop();
}

async function renderMainLoop() {
  mainBusy = true;
  try {
    while (mainDirty) {
      mainDirty = false;
      await renderMain();
    }
  } catch (e) {
    showError(`drawing the image failed: ${e.message}`);
  } finally {
    mainBusy = false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let lastGrid = 0;

/**
 * The image under the slider comes first: the grid (many images in one batch) waits until no image frame is due (or
 * for at most a second) and redraws at most every 150 ms, so dragging stays smooth and the grid follows.
 */
async function renderGridLoop() {
  gridBusy = true;
  try {
    while (gridDirty) {
      const wait = 150 - (performance.now() - lastGrid);
      if (wait > 0) await sleep(wait);
      // While a code is animated, the grid (which shows every code's sweep anyway) waits for the animation to stop.
      if (state.animating >= 0 || ((mainBusy || mainDirty) && performance.now() - lastGrid < 1000)) {
        await sleep(16);
        continue;
      }
      gridDirty = false;
      lastGrid = performance.now();
      await renderGrid();
    }
  } catch (e) {
    showError(`drawing the traversal grid failed: ${e.message}`);
  } finally {
    gridBusy = false;
  }
}

async function renderMain() {
  const model = state.current;
  if (!model) return;
  const t0 = performance.now();
  const img = await generate(model, [state.latent]);
  putImage($("main-canvas"), img, 0, model.info.imageShape, model.info.valueRange);
  const dt = performance.now() - t0;
  state.frameTimes.push(dt);
  if (state.frameTimes.length > 21) state.frameTimes.splice(1, 1);
  updateRuntime();
  // The encoder's reading of the image on screen, in the sliders' table.
  const codes = await encode(model, img, 1);
  for (let i = 0; i < model.info.latent.codes; i++) $(`slider-read-${i}`).textContent = fmt(codes[i]);
  await renderCompare();
  document.body.dataset.frames = String(Number(document.body.dataset.frames ?? 0) + 1);
}

async function renderGrid() {
  const model = state.current;
  if (!model) return;
  const info = model.info;
  const values = info.traversal;
  const k = info.latent.codes;
  const rows = [];
  for (let i = 0; i < k; i++) {
    for (const v of values) {
      const r = state.latent.slice();
      r[i] = v;
      rows.push(r);
    }
  }
  const t0 = performance.now();
  const imgs = await generate(model, rows);
  const [h, w] = info.imageShape;
  const size = Math.max(h, w) >= 64 ? 72 : 64, gap = 4, left = 34, top = 18;
  const canvas = $("traversal-canvas");
  const cols = values.length;
  canvas.width = left + cols * (size + gap);
  canvas.height = top + k * (size + gap);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = "#5b6475";
  ctx.font = "12px system-ui, DejaVu Sans, sans-serif";
  ctx.textAlign = "center";
  values.forEach((v, c) => ctx.fillText(fmt(v, 1), left + c * (size + gap) + size / 2, 12));
  const scratch = document.createElement("canvas");
  for (let i = 0; i < k; i++) {
    ctx.textAlign = "right";
    ctx.fillStyle = "#1d2330";
    ctx.fillText(inputName(info, i), left - 8, top + i * (size + gap) + size / 2 + 4);
    for (let c = 0; c < cols; c++) {
      putImage(scratch, imgs, i * cols + c, info.imageShape, info.valueRange);
      ctx.drawImage(scratch, left + c * (size + gap), top + i * (size + gap), size, size);
    }
  }
  $("grid-time").textContent = `${k * cols} images in ${(performance.now() - t0).toFixed(0)} ms`;
  document.body.dataset.grids = String(Number(document.body.dataset.grids ?? 0) + 1);
}

// ---- the encoder's view ------------------------------------------------------------------------------------------

/** Short names of the datasets' factors on the image cards. */
const FACTOR_SHORT = {
  scale: "scale",
  orientation: "rot",
  posX: "x",
  posY: "y",
  azimuth: "az",
  elevation: "el",
  red: "r",
  green: "g",
  blue: "b",
};

function factorText(spec, v) {
  if (spec.labels && spec.values) {
    const i = spec.values.findIndex((x) => Math.abs(x - v) < 1e-6);
    if (i >= 0) return spec.labels[i];
  }
  const name = FACTOR_SHORT[spec.name] ?? spec.name;
  if (spec.name === "orientation" || spec.name === "azimuth" || spec.name === "elevation") {
    return `${name} ${Math.round((v * 180) / Math.PI)}°`;
  }
  return `${name} ${fmt(v, 2)}`;
}

function pearson(a, b) {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

async function loadSamples(info) {
  const [bytes, meta] = await Promise.all([
    fetch(info.files.samples).then((r) => {
      if (!r.ok) throw new Error(`${info.files.samples}: HTTP ${r.status}`);
      return r.arrayBuffer();
    }),
    fetchJson(info.files.samplesFactors),
  ]);
  const u8 = new Uint8Array(bytes);
  const [lo, hi] = info.valueRange;
  const images = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) images[i] = lo + (u8[i] / 255) * (hi - lo);
  return { images, factors: meta.factors, count: meta.factors.length };
}

async function renderEncoderView(model) {
  const info = model.info;
  const none = $("encoder-none");
  if (!info.samples.count) {
    $("encoder-body").hidden = true;
    none.hidden = false;
    none.textContent = `No real images for this model: ${info.samples.why}.`;
    state.samples = null;
    return;
  }
  $("encoder-body").hidden = false;
  none.hidden = true;
  const samples = await loadSamples(info);
  const codes = await encode(model, samples.images, samples.count);
  state.samples = { ...samples, codes };
  if (state.current !== model) return;
  const k = info.latent.codes;
  const specs = info.samples.factors;
  const cards = $("sample-cards");
  cards.textContent = "";
  const [lo, hi] = info.sliderRange;
  const shown = Math.min(12, samples.count);
  for (let s = 0; s < shown; s++) {
    const canvas = document.createElement("canvas");
    putImage(canvas, samples.images, s, info.imageShape, info.valueRange);
    const card = el("div", { class: "card" }, canvas);
    card.append(el("div", {
      class: "factor",
      text: specs.map((f, j) => factorText(f, samples.factors[s][j])).join(" · "),
    }));
    for (let i = 0; i < k; i++) {
      const v = codes[s * k + i];
      const x = (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo);
      const mid = (0 - lo) / (hi - lo);
      const bar = el("span");
      bar.style.left = `${Math.min(x, mid) * 100}%`;
      bar.style.width = `${Math.abs(x - mid) * 100}%`;
      card.append(el("div", {}, `${inputName(info, i)} `, el("span", { class: "bar" }, bar), ` ${fmt(v)}`));
    }
    cards.append(card);
  }
  // |Pearson correlation| of every code with every factor over all the images.
  const table = $("correlation");
  table.textContent = "";
  table.append(el("tr", {}, el("th", { text: "|corr|" }), ...specs.map((f) => el("th", { text: f.name }))));
  const corr = [];
  for (let i = 0; i < k; i++) {
    const ci = Array.from({ length: samples.count }, (_, s) => codes[s * k + i]);
    corr.push(specs.map((_, j) => Math.abs(pearson(ci, samples.factors.map((r) => r[j])))));
  }
  const best = specs.map((_, j) => corr.reduce((b, row, i) => (row[j] > corr[b][j] ? i : b), 0));
  for (let i = 0; i < k; i++) {
    const tr = el("tr", {}, el("th", { text: inputName(info, i) }));
    specs.forEach((_, j) => {
      const td = el("td", { text: fmt(corr[i][j]) });
      td.style.background = heatColour(corr[i][j]);
      td.style.color = corr[i][j] > 0.55 ? "#fff" : "#1d2330";
      if (best[j] === i) td.className = "best";
      tr.append(td);
    });
    table.append(tr);
  }
  $("correlation-note").textContent = `${samples.count} images; outlined: the code that follows each factor most. ` +
    "A linear correlation misses a code that reads a factor non-linearly (a category such as shape, or an angle " +
    "that wraps around).";
}

// ---- pools -------------------------------------------------------------------------------------------------------

function renderPool() {
  const pool = state.site.pool;
  if (!pool) return;
  $("pool-panel").hidden = false;
  const names = pool.members.map((m) => m.name);
  const sim = $("similarity");
  sim.textContent = "";
  if (pool.similarity) {
    sim.append(el("tr", {}, el("th", { text: "A" }), ...names.map((n) => el("th", { text: n }))));
    pool.similarity.forEach((row, i) => {
      const tr = el("tr", {}, el("th", { text: names[i] }));
      row.forEach((v) => {
        const td = el("td", { text: fmt(v) });
        td.style.background = heatColour(v);
        td.style.color = v > 0.55 ? "#fff" : "#1d2330";
        tr.append(td);
      });
      sim.append(tr);
    });
  }
  $("pool-note").textContent = pool.note;
  const members = $("members");
  members.textContent = "";
  const cols = pool.methods.map((m) => m.label);
  members.append(
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { text: "member" }),
        ...cols.map((c) => el("th", { text: c })),
        el("th", { text: "FactorVAE (supervised)" }),
      ),
    ),
  );
  const body = el("tbody");
  pool.members.forEach((m, i) => {
    const tr = el("tr", { "data-model": m.modelId }, el("td", { text: m.name }));
    for (const method of pool.methods) {
      const picked = method.pick === i;
      tr.append(
        el("td", { class: picked ? "pick" : "", text: `${fmt(m.scores[method.key], 3)}${picked ? " ◀ pick" : ""}` }),
      );
    }
    tr.append(el("td", { text: fmt(m.supervisedFactorVae, 3) }));
    tr.addEventListener("click", () => openModel(m.modelId));
    body.append(tr);
  });
  members.append(body);
}

function markOpenMember() {
  for (const tr of document.querySelectorAll("#members tbody tr")) {
    tr.classList.toggle("open", tr.dataset.model === state.info?.id);
  }
}

// ---- side by side ------------------------------------------------------------------------------------------------

function compatible(a, b) {
  return a.latent.codes === b.latent.codes && a.latent.noise === b.latent.noise;
}

async function renderCompare() {
  const note = $("compare-note");
  const draw = async (selectId, canvasId) => {
    const id = $(selectId).value;
    if (!id) return "";
    const info = state.site.models.find((m) => m.id === id);
    if (!info || info.error) return `${id} cannot be opened. `;
    if (!compatible(info, state.info)) {
      return `${id} has ${info.latent.codes} codes and ${info.latent.noise} noise inputs, the open model ` +
        `${state.info.latent.codes} and ${state.info.latent.noise}: no common latent. `;
    }
    const model = await loadModel(id);
    const img = await generate(model, [state.latent]);
    putImage($(canvasId), img, 0, info.imageShape, info.valueRange);
    return "";
  };
  const msgs = (await Promise.all([draw("compare-a", "compare-canvas-a"), draw("compare-b", "compare-canvas-b")]))
    .join("");
  note.textContent = msgs;
}

function setupCompare(selected) {
  const usable = state.site.models.filter((m) => !m.error);
  if (usable.length < 2) {
    $("compare-panel").hidden = true;
    return;
  }
  $("compare-panel").hidden = false;
  const a = $("compare-a"), b = $("compare-b");
  const other = usable.find((m) => m.id !== selected && compatible(m, state.info)) ??
    usable.find((m) => m.id !== selected);
  fillPicker(a, usable, selected);
  fillPicker(b, usable, other?.id);
}

// ---- opening a model ---------------------------------------------------------------------------------------------

async function openModel(id) {
  stopAnimation();
  const info = state.site.models.find((m) => m.id === id);
  $("model-picker").value = id;
  if (location.hash !== `#model=${encodeURIComponent(id)}`) {
    history.replaceState(null, "", `#model=${encodeURIComponent(id)}`);
  }
  clearErrors();
  for (const e of state.site.errors) showError(e);
  if (!info || info.error) {
    $("panels").hidden = true;
    $("model-facts").textContent = info ? info.source : "";
    showError(info ? `${info.title} cannot be opened: ${info.error}` : `no model "${id}" on this page`);
    state.current = null;
    state.info = null;
    document.body.dataset.state = "error";
    document.body.dataset.model = id;
    return;
  }
  document.body.dataset.state = "loading";
  $("model-facts").textContent = describe(info);
  $("footer-source").textContent = `Open model: ${info.source}.`;
  let model;
  try {
    model = await loadModel(id);
  } catch (e) {
    showError(`${info.title} cannot be opened: ${e.message}`);
    document.body.dataset.state = "error";
    return;
  }
  state.current = model;
  state.info = info;
  for (const s of document.querySelectorAll(".gen-label")) s.textContent = info.generatorLabel;
  for (const s of document.querySelectorAll(".enc-label")) s.textContent = info.encoderLabel;
  state.base = drawLatent(info, state.baseSeed);
  state.latent = state.base.slice();
  state.frameTimes = [];
  $("panels").hidden = false;
  buildSliders(info);
  updateSliderLabels();
  setupCompare(id);
  markOpenMember();
  scheduleRender();
  try {
    await renderEncoderView(model);
  } catch (e) {
    showError(`the encoder's view failed: ${e.message}`);
  }
  while (mainBusy || gridBusy) await new Promise((r) => setTimeout(r, 10));
  document.body.dataset.model = id;
  document.body.dataset.state = "ready";
}

// ---- buttons -----------------------------------------------------------------------------------------------------

function stopAnimation() {
  if (state.animating < 0) return;
  state.animating = -1;
  $("animate").textContent = "Animate";
  scheduleRender();
}

function animateStep(now) {
  const i = state.animating;
  if (i < 0 || !state.info) return;
  const [lo, hi] = state.info.sliderRange;
  const span = state.info.latent.prior === "uniform" ? [lo, hi] : [-2, 2];
  // A 4-second back-and-forth sweep over the code's range, as the training GIFs show.
  const phase = ((now - state.animStart) / 4000) % 1;
  const tri = phase < 0.5 ? phase * 2 : 2 - phase * 2;
  state.latent[i] = span[0] + (span[1] - span[0]) * tri;
  updateSliderLabels();
  scheduleRender();
  requestAnimationFrame(animateStep);
}

function setupButtons() {
  $("random-base").addEventListener("click", () => {
    state.baseSeed += 1;
    state.base = drawLatent(state.info, state.baseSeed);
    state.latent = state.base.slice();
    updateSliderLabels();
    scheduleRender();
  });
  $("reset").addEventListener("click", () => {
    stopAnimation();
    state.latent = state.base.slice();
    updateSliderLabels();
    scheduleRender();
  });
  $("animate").addEventListener("click", () => {
    if (state.animating >= 0) {
      stopAnimation();
      return;
    }
    state.animating = Number($("animate-code").value);
    state.animStart = performance.now();
    $("animate").textContent = "Stop";
    requestAnimationFrame(animateStep);
  });
  $("model-picker").addEventListener("change", (e) => openModel(e.target.value));
  $("compare-a").addEventListener("change", () => renderCompare());
  $("compare-b").addEventListener("change", () => renderCompare());
}

// ---- start -------------------------------------------------------------------------------------------------------

async function start() {
  if (location.protocol === "file:") {
    showError(
      "This page was opened as a file: browsers do not let such a page load its models. Serve its folder with any " +
        "web server (for example `python3 -m http.server` inside it) and open the address it prints.",
    );
    document.body.dataset.state = "error";
    return;
  }
  try {
    state.site = await fetchJson("site.json");
  } catch (e) {
    showError(`cannot read the site's model list: ${e.message}`);
    document.body.dataset.state = "error";
    return;
  }
  try {
    state.backend = await initBackend();
  } catch (e) {
    showError(e.message);
    document.body.dataset.state = "error";
    return;
  }
  updateRuntime();
  const models = state.site.models;
  if (models.length === 0) {
    for (const e of state.site.errors) showError(e);
    showError("no models to show");
    document.body.dataset.state = "error";
    return;
  }
  const fromHash = decodeURIComponent((location.hash.match(/model=([^&]+)/) ?? [])[1] ?? "");
  const first = models.find((m) => m.id === fromHash) ?? models.find((m) => !m.error) ?? models[0];
  fillPicker($("model-picker"), models, first.id);
  setupButtons();
  renderPool();
  await openModel(first.id);
}

/** For scripts and tests: the open model's generator and encoder on given inputs. */
globalThis.explorer = {
  get backend() {
    return state.backend;
  },
  get model() {
    return state.info?.id ?? null;
  },
  get latent() {
    return state.latent?.slice() ?? null;
  },
  /** Generator output (flat NHWC) for latent rows, as plain numbers. */
  async generate(rows) {
    if (!state.current) throw new Error("no model is open");
    return Array.from(await generate(state.current, rows));
  },
  /** The encoder's codes for the first n real images of the encoder's view (flat n × codes). */
  async encodeSamples(n) {
    if (!state.current || !state.samples) throw new Error("no real images for the open model");
    const [h, w, c] = state.info.imageShape;
    return Array.from(await encode(state.current, state.samples.images.slice(0, n * h * w * c), n));
  },
  open: (id) => openModel(id),
};

start();
