// What every page needs in the browser itself. 1. Numbers in a heatmap's cells only where they fit. A figure is built for a wide column, and Plotly
// scales its cells to the screen but keeps its text size, so on a phone (or at 150 % zoom) the
// numbers of a 14×14 grid would run into each other. This hides a grid's numbers when its widest
// label does not fit its cells, and shows them again when it does (Plotly redraws on resize).
function fitNumbers() {
  for (const layer of document.querySelectorAll(".js-plotly-plot g.hm")) {
    const texts = [...layer.querySelectorAll("text")];
    if (!texts.length) continue;
    const xs = [...new Set(texts.map((t) => +t.getAttribute("x")))].sort((a, b) => a - b);
    const ys = [...new Set(texts.map((t) => +t.getAttribute("y")))].sort((a, b) => a - b);
    const image = layer.querySelector("image");
    const step = (v, whole) => {
      let d = whole;
      for (let i = 1; i < v.length; i++) d = Math.min(d, v[i] - v[i - 1]);
      return d;
    };
    const cellW = step(xs, image ? +image.getAttribute("width") : Infinity);
    const cellH = step(ys, image ? +image.getAttribute("height") : Infinity);
    let widest = 0;
    let size = 0;
    for (const t of texts) {
      t.style.display = "";
      widest = Math.max(widest, t.getComputedTextLength());
      size = Math.max(size, parseFloat(t.style.fontSize) || 0);
    }
    const fits = widest <= cellW - 3 && size <= cellH - 2;
    for (const t of texts) t.style.display = fits ? "" : "none";
    layer.dataset.numbers = fits ? "shown" : "hidden";
  }
}

// A presentation clicker sends Page Down / Page Up (the step buttons answer → ← Home End themselves):
// on a stepping view they press Next / Previous, without clicking into the page first. The Play view's
// player listens to its own keys.
const CLICKER = { PageDown: "next", PageUp: "previous" };

function onClicker(event) {
  const act = CLICKER[event.key];
  if (!act || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
  const target = event.composedPath()[0];
  if (target && (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable)) return;
  const row = [...document.querySelectorAll("[class*='-step-buttons']")].find((e) => e.getBoundingClientRect().width);
  const button = row && [...row.querySelectorAll(`[class*='-${act}'] button`)].find((b) => b.getBoundingClientRect().width);
  if (!button) return;
  event.preventDefault(); // not a scroll of the page
  if (!button.disabled) button.click();
}

export default function () {
  if (window.__cnnPlaygroundHelpers) return; // one of each per browser page, however often the app reruns
  window.__cnnPlaygroundHelpers = true;
  document.addEventListener("keydown", onClicker);
  let queued = false;
  const later = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fitNumbers();
    });
  };
  new MutationObserver((changes) => {
    // only Plotly's own redraws matter, not the hiding done here
    if (changes.some((c) => c.type === "childList")) later();
  }).observe(document.body, { childList: true, subtree: true });
  later();
}
