// Civitas pages' only script, and none of them needs it: copy buttons, and the dashboard
// following finalized blocks through /v1/events (Server-Sent Events).
"use strict";
document.addEventListener("click", (e) => {
  const b = e.target.closest("button.copy");
  if (!b || !navigator.clipboard) return;
  navigator.clipboard.writeText(b.dataset.copy).then(() => {
    b.textContent = "copied";
    setTimeout(() => { b.textContent = "copy"; }, 1200);
  });
});
document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("#recent-blocks tbody");
  if (!table || !window.EventSource || location.pathname !== "/") return;
  const events = new EventSource("/v1/events?kind=block");
  events.addEventListener("block", (e) => {
    const b = JSON.parse(e.data);
    document.querySelectorAll("[data-live-height]").forEach((el) => { el.textContent = b.height; });
    const row = document.createElement("tr");
    const cell = (text, href) => {
      const td = document.createElement("td");
      if (href) { const a = document.createElement("a"); a.href = href; a.textContent = text; td.append(a); }
      else td.textContent = text;
      row.append(td);
      return td;
    };
    cell(String(b.height), "/blocks/" + b.height);
    cell(b.time.replace("T", " ").replace("Z", " UTC"));
    cell(String(b.tx_count)).className = "num";
    cell(b.proposer_name || b.proposer.slice(0, 12) + "…");
    cell(b.hash.slice(0, 12) + "…" + b.hash.slice(-6)).title = b.hash;
    table.prepend(row);
    while (table.rows.length > 20) table.deleteRow(-1);
  });
});
