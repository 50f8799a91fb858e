// ACT console: the only script. It adds one thing to pages that work without it: a region
// marked data-poll="URL" is refreshed every 2 s from that URL (an HTML fragment). Items are
// merged by their data-id, so an item being read or typed into is never replaced; new items
// appear, decided ones go, and the page title counts them. When the session has ended (401) the page reloads to the login.
"use strict";
(function () {
  const EVERY_MS = 2000;
  function merge(region, html) {
    const next = document.createElement("template");
    next.innerHTML = html;
    const wanted = Array.from(next.content.children).filter((el) => el.dataset && el.dataset.id);
    const ids = new Set(wanted.map((el) => el.dataset.id));
    for (const el of Array.from(region.children)) {
      if (el.dataset && el.dataset.id && !ids.has(el.dataset.id) && !el.contains(document.activeElement)) {
        el.remove();
      }
    }
    let before = null;
    for (let i = wanted.length - 1; i >= 0; i--) {
      const id = wanted[i].dataset.id;
      let el = region.querySelector(`[data-id="${CSS.escape(id)}"]`);
      if (!el) {
        el = wanted[i];
        region.insertBefore(el, before);
      }
      before = el;
    }
    // "(2) Approvals · ACT console": a waiting request shows in a background tab too.
    const waiting = region.querySelectorAll("article[data-id]").length;
    document.title = document.title.replace(/^\(\d+\) /, "");
    if (waiting > 0) document.title = `(${waiting}) ${document.title}`;
  }
  function poll(region) {
    const url = region.dataset.poll;
    const tick = () => {
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then((r) => {
          if (r.status === 401) {
            window.location.reload();
            return null;
          }
          return r.ok ? r.text() : null;
        })
        .then((html) => {
          if (html !== null) merge(region, html);
        })
        .catch(() => {})
        .finally(() => setTimeout(tick, EVERY_MS));
    };
    setTimeout(tick, EVERY_MS);
  }
  document.addEventListener("DOMContentLoaded", () => {
    for (const region of document.querySelectorAll("[data-poll]")) poll(region);
  });
})();
