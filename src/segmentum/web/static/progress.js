// The jobs of the server in progress (an ingest, a report, a batch run, a backfill), refreshed while any runs.
(function () {
  const box = document.getElementById("in-progress");
  if (!box) return;
  async function refresh() {
    try {
      const response = await fetch("/progress.json", { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const lines = (await response.json()).lines || [];
      box.replaceChildren(...lines.map((text) => {
        const line = document.createElement("div");
        line.textContent = text;
        return line;
      }));
      box.hidden = lines.length === 0;
      if (lines.length) setTimeout(refresh, 2000);
    } catch (error) {
      setTimeout(refresh, 5000);
    }
  }
  setTimeout(refresh, 2000);
})();
