// A progress bar for a call in flight, fed by the host's tool.progress events (a server's progress reports).

/** The bar's fraction (0..1), or null when the server gave no total. Pure. */
export function fraction(event) {
  if (typeof event?.total !== "number" || event.total <= 0) return null;
  return Math.max(0, Math.min(1, event.progress / event.total));
}

/** The words beside the bar. Pure. */
export function progressWords(event) {
  const share = fraction(event);
  const amount = share === null ? `${event.progress}` : `${Math.round(share * 100)}%`;
  return event.message ? `${amount} · ${event.message}` : amount;
}

/** A <div class="progress"> with a <progress> and its words; `update(event)` moves it. */
export function progressBar() {
  const node = document.createElement("div");
  node.className = "progress";
  const bar = document.createElement("progress");
  bar.max = 1;
  const words = document.createElement("span");
  words.className = "progress-words";
  node.append(bar, words);
  return {
    node,
    update(event) {
      const share = fraction(event);
      if (share === null) bar.removeAttribute("value");
      else bar.value = share;
      node.dataset.progress = String(event.progress);
      words.textContent = progressWords(event);
    },
  };
}
