// Live check of the definitions being edited: debounced POST to /editor/check, result shown beside the text.
(function () {
  const area = document.getElementById("definition-text");
  const out = document.getElementById("preview");
  if (!area || !out) return;
  const file = area.dataset.file;
  const words = JSON.parse(document.getElementById("editor-words").textContent);
  const status = document.getElementById("check-status");
  const unsaved = document.getElementById("unsaved");
  const form = document.getElementById("editor-form");
  const numbers = new Intl.NumberFormat(words.locale);  // sizes in the page's language: 1 234 in uk
  const saved = area.value;
  let leaving = false;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";  // the session's token: every state-changing request carries it
  let timer = null;
  let sequence = 0;

  function num(value) {
    return typeof value === "number" ? numbers.format(value) : esc(value);
  }

  // a sample id opens that customer
  function customerLinks(ids) {
    return ids.map((id) => `<a href="/customers/${encodeURIComponent(id)}" class="sample">${esc(id)}</a>`).join(", ");
  }

  function esc(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  // Put the caret at line:col (both 1-based) of the text.
  function goTo(line, col) {
    const lines = area.value.split("\n");
    let offset = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
    offset += Math.max(0, col - 1);
    area.focus();
    area.setSelectionRange(offset, offset);
  }

  function render(result) {
    if (!result.valid) {
      const where = result.line ?
        `<p><a href="#" id="error-location">${esc(words.line)} ${result.line}:${result.col}</a></p>` : "";
      // a signed-out session answers 401 in the API's error shape: {"error": {"message": ...}}
      const message = result.error && result.error.message ? result.error.message : result.error;
      out.innerHTML = `<div class="error" id="definition-error">${esc(message)}</div>${where}`;
      out.dataset.state = "invalid";
      const link = document.getElementById("error-location");
      if (link) link.addEventListener("click", function (event) {
        event.preventDefault();
        goTo(result.line, result.col);
      });
      return;
    }
    let html = `<div class="ok" id="definition-valid">${esc(words.valid)}</div>`;
    // what a run at that as_of would skip (a model fitted on later data): the run's own message
    for (const name of result.skipped || []) {
      for (const w of (result.warnings || []).filter((line) => line.includes(`'${name}' skipped`))) {
        html += `<p class="note preview-warning">${esc(w)}</p>`;
      }
    }
    if (result.preview_error) {
      html += `<p class="note">${esc(result.preview_error)}</p>`;
    } else if (!result.segments.length) {
      html += `<p class="note">${esc(words.unchanged)}</p>`;
    } else {
      html += `<p class="note">${esc(words.against)} ${esc(result.base_run ?? "—")}</p><table id="preview-table"><tr>` +
        `<th>${esc(words.segment)}</th><th class="num">${esc(words.before)}</th><th class="num">${esc(words.after)}</th>` +
        `<th class="num">${esc(words.enter)}</th><th class="num">${esc(words.leave)}</th></tr>`;
      for (const s of result.segments) {
        html += `<tr class="preview-row" data-name="${esc(s.name)}" data-before="${esc(s.before)}" data-after="${esc(s.after)}">` +
          `<td>${esc(s.name)}</td><td class="num">${num(s.before)}</td>` +
          `<td class="num segment-size">${num(s.after)}</td><td class="num">+${num(s.entered_count)}</td>` +
          `<td class="num">−${num(s.left_count)}</td></tr>`;
        const samples = [];
        if (s.entered.length) samples.push(`${esc(words.enter)}: ${customerLinks(s.entered)}`);
        if (s.left.length) samples.push(`${esc(words.leave)}: ${customerLinks(s.left)}`);
        if (samples.length) html += `<tr><td colspan="5" class="note">${samples.join("<br>")}</td></tr>`;
      }
      html += "</table>";
    }
    out.innerHTML = html;
    out.dataset.state = "valid";
  }

  async function check() {
    const mine = ++sequence;
    out.dataset.state = "checking";
    status.textContent = words.checking;
    out.setAttribute("aria-busy", "true");
    try {
      const response = await fetch("/editor/check", {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        body: JSON.stringify({file: file, text: area.value}),
      });
      const result = await response.json();
      if (mine === sequence) {  // an older answer must not overwrite a newer one
        render(result);
        status.textContent = words.checked;
        out.removeAttribute("aria-busy");
      }
    } catch (err) {
      if (mine === sequence) {
        out.textContent = `${words.failed} ${err}`;
        out.dataset.state = "failed";
        status.textContent = "";
        out.removeAttribute("aria-busy");
      }
    }
  }

  // unsaved changes: a note beside Save, and the browser asks before leaving the page
  function dirty() { return area.value !== saved; }
  form.addEventListener("submit", function () { leaving = true; });
  window.addEventListener("beforeunload", function (event) {
    if (!leaving && dirty()) { event.preventDefault(); event.returnValue = words.leave_page; }
  });

  area.addEventListener("input", function () {
    if (unsaved) unsaved.hidden = !dirty();
    clearTimeout(timer);
    timer = setTimeout(check, 500);
  });
  check();
})();
