// Injected into the page (chrome.scripting, on the person's gesture): shows or hides the chat panel.
// The panel is an iframe of an extension page, so nothing the page runs can read what is in it; this script
// only places the frame and its frame of reference (size, close).
(() => {
  const ID = "notion-mcp-bridge-panel";
  const existing = document.getElementById(ID);
  if (existing) {
    existing.remove();
    return;
  }
  const box = document.createElement("div");
  box.id = ID;
  box.style.cssText = [
    "position:fixed", "top:0", "right:0", "height:100vh", "width:420px", "min-width:300px", "max-width:90vw",
    "z-index:2147483647", "box-shadow:-2px 0 12px rgba(0,0,0,.2)", "background:#fff", "resize:horizontal",
    "overflow:hidden", "direction:rtl",
  ].join(";");
  const frame = document.createElement("iframe");
  frame.src = chrome.runtime.getURL("panel/panel.html");
  frame.title = "Notion MCP Bridge chat";
  frame.style.cssText = "border:0;width:100%;height:100%;direction:ltr;display:block";
  frame.allow = "clipboard-write";
  box.append(frame);
  document.documentElement.append(box);
  chrome.runtime.onMessage.addListener((message) => {
    if (message?.type === "panel.close") document.getElementById(ID)?.remove();
  });
})();
