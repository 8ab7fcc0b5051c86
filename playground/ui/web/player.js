// The Play view's player: paints what playground/figures/player.py prepared (every colour, label
// and arithmetic line comes from the engine) and steps through it in the browser, with no server
// round trip per step. Keys work without clicking into the page first.
const MAX_CELL = 56; // px: a 3×3 example stays a sensible size on a wide screen
const PRESENT_CELL = 120; // px, in presenter mode: for the back row
const PRESENT_TEXT = 20; // px: presenter mode's smallest titles and cell numbers
const GAP = 40; // px between panels, holding the ∗ and = signs
const TITLE = 26; // px above each panel
const SPEEDS = [1, 2, 5, 10, 20, 40]; // steps per second
const memory = new Map(); // per component key: where the player was, across reruns of the page

function el(tag, attrs = {}, text = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

function contiguous(list) {
  return list.every((v, i) => i === 0 || v === list[i - 1] + 1);
}

function layoutFor(data, width, height) {
  const most = data.style.present ? PRESENT_CELL : MAX_CELL;
  const [hp, wp] = [data.input.labels.length, data.input.labels[0].length];
  const [kh, kw] = [data.kernel.labels.length, data.kernel.labels[0].length];
  const [oh, ow] = [data.output.labels.length, data.output.labels[0].length];
  // the larger cells of two arrangements, each fitted to the width and to one screen's height
  const row = Math.min(most, (width - 2 * GAP) / (wp + kw + ow), (height - TITLE) / Math.max(hp, kh, oh));
  const stacked = Math.min(
    most,
    width / wp,
    (width - 2 * GAP) / (kw + ow),
    (height - 2 * TITLE - 12) / (hp + Math.max(kh, oh)),
  );
  const at = (x, y, rows, cols, cell) => ({ x, y: y + TITLE, rows, cols, cell });
  if (row >= stacked * 0.9) {
    const cell = Math.floor(row * 10) / 10;
    const tall = Math.max(hp, kh, oh) * cell;
    const mid = (rows) => (tall - rows * cell) / 2;
    const xk = wp * cell + GAP;
    const xo = xk + kw * cell + GAP;
    return {
      kind: "row",
      input: at(0, mid(hp), hp, wp, cell),
      kernel: at(xk, mid(kh), kh, kw, cell),
      output: at(xo, mid(oh), oh, ow, cell),
      signs: [
        ["∗", wp * cell + GAP / 2, TITLE + tall / 2],
        ["=", xo - GAP / 2, TITLE + tall / 2],
      ],
      width: xo + ow * cell,
      height: TITLE + tall + 4,
    };
  }
  // narrow screens: the input on top, then ∗ kernel = output, all at one cell size
  const cell = Math.floor(stacked * 10) / 10;
  const y2 = TITLE + hp * cell + 12;
  const tall = Math.max(kh, oh) * cell;
  const xk = GAP;
  const xo = xk + kw * cell + GAP;
  return {
    kind: "stacked",
    input: at(0, 0, hp, wp, cell),
    kernel: at(xk, y2 + (tall - kh * cell) / 2, kh, kw, cell),
    output: at(xo, y2, oh, ow, cell),
    signs: [
      ["∗", GAP / 2, y2 + TITLE + tall / 2],
      ["=", xo - GAP / 2, y2 + TITLE + tall / 2],
    ],
    width: Math.max(wp * cell, xo + ow * cell),
    height: y2 + TITLE + tall + 4,
  };
}

function fontFits(ctx, panel, labels, family, present) {
  // numbers only where they fit their cells legibly (at any width): else colours alone
  const size = Math.min(present ? 32 : 18, Math.floor(panel.cell * 0.42));
  if (size < 10) return 0;
  ctx.font = `${size}px ${family}`;
  let widest = 0;
  for (const row of labels) for (const t of row) widest = Math.max(widest, ctx.measureText(t).width);
  return widest <= panel.cell - 4 ? size : 0;
}

function paintPanel(ctx, panel, grid, style, width, shown) {
  const { x, y, cell } = panel;
  const size = panel.font ?? (panel.font = fontFits(ctx, panel, grid.labels, style.font, style.present)); // once per layout
  ctx.font = `${size}px ${style.font}`; // every paint: the titles and signs painted since changed it
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (let r = 0; r < panel.rows; r++) {
    for (let c = 0; c < panel.cols; c++) {
      const visible = !shown || shown(r, c);
      ctx.fillStyle = visible ? grid.fills[r][c] : style.empty;
      ctx.fillRect(x + c * cell + 0.5, y + r * cell + 0.5, cell - 1, cell - 1);
      if (visible && size) {
        ctx.fillStyle = grid.inks[r][c];
        ctx.fillText(grid.labels[r][c], x + (c + 0.5) * cell, y + (r + 0.5) * cell + 1);
      }
    }
  }
  ctx.fillStyle = style.ink;
  ctx.font = `${style.present ? PRESENT_TEXT : 16}px ${style.font}`;
  ctx.textBaseline = "bottom";
  const half = ctx.measureText(grid.title).width / 2; // a title wider than its panel stays on the canvas
  const centre = Math.min(Math.max(x + (panel.cols * cell) / 2, half), width - half);
  ctx.fillText(grid.title, centre, y - 6);
  return size > 0;
}

function box(ctx, panel, r0, r1, c0, c1, style, width) {
  const { x, y, cell } = panel;
  const rect = [x + c0 * cell, y + r0 * cell, (c1 - c0 + 1) * cell, (r1 - r0 + 1) * cell];
  ctx.lineWidth = width + 2;
  ctx.strokeStyle = style.under;
  ctx.strokeRect(...rect);
  ctx.lineWidth = width;
  ctx.strokeStyle = style.window;
  ctx.strokeRect(...rect);
}

export default function (component) {
  const { data, parentElement, setStateValue, key } = component;
  // a re-render may call this again before the last instance was cleaned up: one player per mount
  if (parentElement.__stopPlayer) parentElement.__stopPlayer();
  const n = data.steps.length;
  const order = data.output.labels.map((row) => row.map(() => n));
  data.steps.forEach((s, i) => (order[s.pos[0]][s.pos[1]] = i));
  const saved = memory.get(key);
  const signature = data.signature;
  const same = saved && saved.signature === signature; // a rerun of the page, not a new run
  const st = {
    index: same ? saved.index : data.start,
    playing: false,
    speed: saved ? saved.speed : 5,
    timer: null,
    report: null,
  };

  const root = el("div", { class: data.style.present ? "player present" : "player", role: "region", "aria-label": "Convolution player" });
  const bar = el("div", { class: "bar" });
  const buttons = {};
  for (const [act, label, title] of [
    ["play", "▶ Play", "Play or pause (Space)"],
    ["first", "« First", "First step (Home)"],
    ["previous", "‹ Previous", "Previous step (← or Page Up)"],
    ["next", "Next ›", "Next step (→ or Page Down)"],
    ["last", "Last »", "Last step (End)"],
  ]) {
    buttons[act] = el("button", { type: "button", "data-act": act, title }, label);
    bar.appendChild(buttons[act]);
  }
  const speedLabel = el("label", { class: "speed" }, "Speed ");
  const speed = el("select", { "aria-label": "Speed in steps per second" });
  for (const s of SPEEDS) {
    const o = el("option", { value: String(s) }, `${s}/s`);
    if (s === st.speed) o.selected = true;
    speed.appendChild(o);
  }
  speedLabel.appendChild(speed);
  bar.appendChild(speedLabel);
  const slider = el("input", { type: "range", min: "1", max: String(n), step: "1", "aria-label": "Step" });
  const counter = el("div", { class: "counter", "aria-live": "polite" });
  const arith = el("div", { class: "arithmetic" });
  const canvas = el("canvas", { role: "img" });
  const keys = el(
    "div",
    { class: "keys" },
    "Keys: Space play / pause · → or Page Down next · ← or Page Up previous · Home / End first / last",
  );
  root.append(bar, slider, counter, arith, canvas, keys);
  parentElement.appendChild(root);
  const ctx = canvas.getContext("2d");

  let lay = null;
  let laidOut = "";
  function paint() {
    const width = Math.max(200, root.clientWidth);
    const height = Math.max(300, window.innerHeight - (data.style.present ? 330 : 200)); // room for the controls
    const dpr = window.devicePixelRatio || 1;
    if (laidOut !== `${width}/${height}/${dpr}`) {
      // a new size: lay out and size the canvas again (not on every step: that reallocates it)
      laidOut = `${width}/${height}/${dpr}`;
      lay = layoutFor(data, width, height);
      canvas.style.width = `${lay.width}px`;
      canvas.style.height = `${lay.height}px`;
      canvas.width = Math.ceil(lay.width * dpr);
      canvas.height = Math.ceil(lay.height * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, lay.width, lay.height);
    const step = data.steps[st.index];
    const numbers = [
      paintPanel(ctx, lay.input, data.input, data.style, lay.width),
      paintPanel(ctx, lay.kernel, data.kernel, data.style, lay.width),
      paintPanel(ctx, lay.output, data.output, data.style, lay.width, (r, c) => order[r][c] <= st.index),
    ];
    const [top, bottom, left, right] = data.input.padding;
    if (top || bottom || left || right) {
      const p = lay.input;
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = data.style.padding;
      ctx.strokeRect(p.x + left * p.cell, p.y + top * p.cell, (p.cols - left - right) * p.cell, (p.rows - top - bottom) * p.cell);
      ctx.setLineDash([]);
    }
    const thick = Math.max(2, Math.min(4, lay.input.cell / 6));
    if (contiguous(step.rows) && contiguous(step.cols)) {
      box(ctx, lay.input, step.rows[0], step.rows.at(-1), step.cols[0], step.cols.at(-1), data.style, thick);
    } else {
      for (const r of step.rows) for (const c of step.cols) box(ctx, lay.input, r, r, c, c, data.style, thick);
    }
    box(ctx, lay.output, step.pos[0], step.pos[0], step.pos[1], step.pos[1], data.style, thick);
    ctx.fillStyle = data.style.ink;
    ctx.font = `30px ${data.style.font}`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const [sign, x, y] of lay.signs) ctx.fillText(sign, x, y);
    canvas.setAttribute("aria-label", `${data.input.title} ∗ ${data.kernel.title} = ${data.output.title}`);
    root.dataset.numbers = numbers.map((b) => (b ? "1" : "0")).join("");
    root.dataset.layout = lay.kind;
  }

  function show() {
    const step = data.steps[st.index];
    slider.value = String(st.index + 1);
    counter.textContent = `Step ${st.index + 1} of ${n}`;
    arith.textContent = step.text;
    buttons.play.textContent = st.playing ? "❚❚ Pause" : "▶ Play";
    buttons.play.classList.toggle("on", st.playing);
    root.dataset.step = String(st.index + 1);
    root.dataset.playing = String(st.playing);
    memory.set(key, { signature, index: st.index, speed: st.speed, playing: st.playing });
    paint();
  }

  function report() {
    // the stepping view continues from here; sent once the player rests, not on every step
    clearTimeout(st.report);
    st.report = setTimeout(() => st.playing || setStateValue("position", st.index), 700);
  }

  function stop() {
    clearInterval(st.timer);
    st.timer = null;
    st.playing = false;
  }

  function go(index, fromUser = true) {
    if (fromUser) stop();
    st.index = Math.min(Math.max(index, 0), n - 1);
    show();
    if (fromUser) report();
  }

  function play() {
    if (st.playing) {
      stop();
      show();
      report();
      return;
    }
    if (st.index >= n - 1) st.index = 0;
    clearTimeout(st.report); // a report reruns the page: not while playing
    st.playing = true;
    st.timer = setInterval(() => {
      if (st.index >= n - 1) {
        stop();
        show();
        report();
        return;
      }
      go(st.index + 1, false);
    }, 1000 / st.speed);
    show();
  }

  const actions = {
    play,
    first: () => go(0),
    previous: () => go(st.index - 1),
    next: () => go(st.index + 1),
    last: () => go(n - 1),
  };
  for (const [act, b] of Object.entries(buttons)) b.addEventListener("click", actions[act]);
  slider.addEventListener("input", () => go(parseInt(slider.value, 10) - 1));
  speed.addEventListener("change", () => {
    st.speed = parseInt(speed.value, 10);
    if (st.playing) {
      stop();
      play();
    } else show();
  });

  const KEYS = {
    " ": "play",
    ArrowRight: "next",
    PageDown: "next",
    ArrowLeft: "previous",
    PageUp: "previous",
    Home: "first",
    End: "last",
  };
  function onKey(event) {
    const act = KEYS[event.key];
    if (!act || event.altKey || event.ctrlKey || event.metaKey || !root.isConnected) return;
    const target = event.composedPath()[0];
    const typing = target && target !== slider && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
    if (typing || (target && target.isContentEditable)) return;
    event.preventDefault();
    actions[act]();
  }
  document.addEventListener("keydown", onKey);
  const resize = new ResizeObserver(() => paint());
  resize.observe(root);
  show();
  if (same && saved.playing) play(); // the page reran while playing: carry on

  const cleanup = () => {
    stop();
    clearTimeout(st.report);
    resize.disconnect();
    document.removeEventListener("keydown", onKey);
    root.remove();
    if (parentElement.__stopPlayer === cleanup) delete parentElement.__stopPlayer;
  };
  parentElement.__stopPlayer = cleanup;
  return cleanup;
}
