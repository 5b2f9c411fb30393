// A problem in words with the buttons that fix it (fixes.js), drawn the same on every page; and the spinner a
// page shows once a request has been out for 150 ms. The words are text; the page carries out each action.

import { INSTALL_COMMAND } from "./fixes.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A notice: `words`, then a button per fix; a click calls `run(fix)`. `install` shows the command with a Copy
 * button; `wait` counts down on its button and turns into a retry when the time is up.
 */
export function notice(words, fixes = [], run = () => {}, { info = false } = {}) {
  const node = el("div", info ? "notice info" : "notice");
  node.setAttribute("role", info ? "status" : "alert");
  node.append(el("span", "words", words));
  for (const fix of fixes) {
    if (fix.kind === "install") {
      const command = el("code", "", fix.command ?? INSTALL_COMMAND);
      const copy = el("button", "fix", "Copy");
      copy.type = "button";
      copy.dataset.fix = "install";
      copy.title = "Copy the command; run it in a terminal";
      copy.addEventListener("click", async () => {
        await navigator.clipboard.writeText(command.textContent).then(() => (copy.textContent = "Copied"), () => (copy.textContent = "Select and copy it"));
        run(fix);
      });
      node.append(command, copy);
      continue;
    }
    const button = el("button", "fix", fix.label);
    button.type = "button";
    button.dataset.fix = fix.kind;
    button.addEventListener("click", () => run(fix));
    if (fix.kind === "wait" && fix.seconds > 0) {
      const ready = Date.now() + fix.seconds * 1000;
      button.disabled = true;
      const tick = () => {
        const left = Math.ceil((ready - Date.now()) / 1000);
        if (!node.isConnected && left < fix.seconds) return;
        if (left <= 0) {
          button.disabled = false;
          button.textContent = `${fix.label} now`;
          return;
        }
        button.textContent = `${fix.label} in ${left} s`;
        setTimeout(tick, 250);
      };
      tick();
    }
    node.append(button);
  }
  return node;
}

/**
 * Show "`words`" with a spinner in `container` if the work is still going after `delay` ms (fast answers do not
 * flicker); returns the function that takes it away.
 */
export function busyAfter(container, words, delay = 150) {
  let line = null;
  const timer = setTimeout(() => {
    line = el("div", "busy-line");
    line.setAttribute("role", "status");
    const spinner = el("span", "spinner");
    spinner.setAttribute("aria-hidden", "true");
    line.append(spinner, el("span", "", words));
    container.append(line);
  }, delay);
  return () => {
    clearTimeout(timer);
    line?.remove();
  };
}
