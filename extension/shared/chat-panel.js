// The chat lives in Chrome's side panel, one panel per tab, each bound to the tab it was opened for and to one
// conversation of its own. Pure functions: the background and the panel share them, node tests check them.

const PANEL_PAGE = "panel/panel.html";

/** The side panel's path for a tab: the panel reads its tab from it. */
export function chatPath(tabId) {
  return `${PANEL_PAGE}?tab=${tabId}`;
}

/** The tab a panel is bound to, from its location.search; null when absent or not a tab id. */
export function boundTab(search) {
  const value = new URLSearchParams(search).get("tab");
  if (value === null || !/^[0-9]{1,15}$/.test(value)) return null;
  return Number(value);
}

/**
 * Open the chat for a tab. Call it straight from the person's gesture (the toolbar popup's message, the keyboard
 * command, the context menu): sidePanel.open() needs that gesture, and any await before it would spend it. So both
 * calls start in the same task, setOptions first so the panel opens on this tab's page, and only then is anything
 * awaited. Resolves with what happened instead of throwing: {ok, configured, opened, error?}.
 */
export function openChat(sidePanel, tabId) {
  if (!Number.isInteger(tabId)) return Promise.resolve({ ok: false, configured: false, opened: false, error: "no tab to open the chat for" });
  const configured = settle(() => sidePanel.setOptions({ tabId, path: chatPath(tabId), enabled: true }));
  const opened = settle(() => sidePanel.open({ tabId }));
  return Promise.all([configured, opened]).then(([set, open]) => {
    const error = set.error ?? open.error;
    return { ok: !error, configured: !set.error, opened: !open.error, ...(error ? { error } : {}) };
  });
}

/** Close a tab's chat: a disabled tab-specific panel is taken down, and the next openChat enables it again. */
export function closeChat(sidePanel, tabId) {
  if (!Number.isInteger(tabId)) return Promise.resolve({ ok: false, error: "no tab to close the chat for" });
  return settle(() => sidePanel.setOptions({ tabId, enabled: false })).then((r) => (r.error ? { ok: false, error: r.error } : { ok: true }));
}

function settle(call) {
  try {
    return Promise.resolve(call()).then(
      () => ({}),
      (error) => ({ error: String(error?.message ?? error) }),
    );
  } catch (error) {
    return Promise.resolve({ error: String(error?.message ?? error) });
  }
}

/**
 * Whether a host event is for the panel bound to conversationId. Every panel hears every conversation's events;
 * a panel takes only its own, and one with no conversation yet takes none.
 */
export function isOwnEvent(event, conversationId) {
  return (
    typeof event?.type === "string" &&
    event.type.startsWith("chat.") &&
    typeof conversationId === "string" &&
    conversationId !== "" &&
    event.conversation_id === conversationId
  );
}

/** Where "Use this page" says it cannot read the page, in words that tell the person what to do. */
export function unreadablePage(detail) {
  const why = detail ? ` (${String(detail).replace(/\.$/, "")})` : "";
  return (
    "The chat cannot read this page now: it may have navigated away since the chat was opened, or be a page " +
    `extensions may not read${why}. Press Alt+Shift+K on this page to let the chat read it.`
  );
}
