// Numbers in a heatmap's cells only where they fit. A figure is built for a wide column, and Plotly
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

export default function () {
  if (window.__cnnPlaygroundLegible) return; // one observer per page, however often the app reruns
  window.__cnnPlaygroundLegible = true;
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
