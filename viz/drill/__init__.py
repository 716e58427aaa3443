"""The drill web app (``twin drill``) and the after-action report.

- :mod:`viz.drill.app`: :class:`DrillApp` (a :class:`twin.drill.DrillSession` with a clock
  thread) behind a local JSON API and one static page (``page.html``, ``page.js``);
- :mod:`viz.drill.aar`: the after-action report of a drill log (HTML, self-contained).
"""
