"""The drill web app: a :class:`twin.drill.DrillSession` behind a small local JSON API and
one static page (``viz/drill/page.html`` + ``page.js``, served from the package, no CDN).

Why not a trame server (what the issue asks for): trame's server is not in the project's
environment and the environment may not be reinstalled for it; a standard-library
``ThreadingHTTPServer`` and about 300 lines of plain JavaScript give the panels the drill
needs (clock, vital signs, incident queue, unit board, warning level, event log, a 2-D map
PNG from :mod:`viz.map2d` on demand) and nothing to install. The 3-D city view is
:func:`viz.web3d.scene_html` (trame-vtk's offline vtk.js viewer, fetching nothing) of the
state now, served at ``/api/scene.html`` and shown in a frame of the page, which reloads
it when the simulated time has moved :data:`SCENE_EVERY` on (or the branch changed) and
the previous one has loaded, and on demand. Map and scene draw the roads the twin
drives (the road graph's largest component, as the exchange's closures are indexed).

Security and roles:

- bound to 127.0.0.1 unless a host is given;
- two random access tokens (:func:`secrets.token_urlsafe`), one per role, printed with
  their URLs: the **trainer**'s and the **trainee**'s. The role is the token's (header
  ``X-Drill-Token`` or ``?token=``), never a parameter a page could change. The state
  (``/api/state``) and every POST need a token; the page itself, its script and the map
  (the shared city picture) load without one on 127.0.0.1, and when a host is given every
  request needs one: anything else is refused with 403;
- the clock, checkpoints and rewinds are the trainer's (a trainee's token gets 403);
- inputs are checked by the session (:class:`twin.errors.UserInputError`): a bad inject or
  decision, or a trainee's decision outside their tier, gives HTTP 400 and a message on
  the page, and the session logs the refusal; a request body is at most 64 KB.

Views: the trainer's has the inject menu and sees everything; the trainee's has only the
decisions and, when the session plays a tier of command (``DrillSession(tier=...)``),
sees that tier's calls and units and the shared city picture
(:meth:`twin.drill.DrillSession.state`; rules in :mod:`twin.drill.tiers`). Decisions taken
from the trainer's page are the trainee's (logged as such, checked against the tier).

Updates: ``/api/state?after=N`` waits (up to :data:`LONG_POLL` s) until the state's
version passes ``N`` (a step, an action, a clock change), so the page shows a step as soon
as it is done instead of at its next poll; every state carries ``stamp``, the server's
wall time (ms since the epoch) of its last change, from which the page measures the
update's delay (kept in ``window.drillLatencies``; see ``benchmarks/drill.py``).

The clock: a background thread steps the session (one exchange interval per step) at the
chosen speed (1x to 60x: 60 s of simulated time per step take ``60 / speed`` s of wall
time; a step slower than that makes the drill fall behind, never jump). Every session
call holds one lock, so a request never sees half a step.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import secrets
import threading
import time
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twin.errors import Problem, TwinError, UserInputError

__all__ = ["DrillApp", "make_server", "serve", "url"]

#: Simulated time between the page's automatic reloads of the 3-D view (s; page.js holds it).
SCENE_EVERY = 300.0
#: Longest wait of a long-polling state request (s).
LONG_POLL = 5.0
#: Allowed clock speeds (simulated seconds per wall second).
SPEEDS = (1.0, 60.0)
#: Largest request body accepted (bytes).
MAX_BODY = 64 * 1024
#: Actions shown in the page's log (latest).
LOG_ROWS = 40
#: Event-log lines shown (latest).
EVENT_ROWS = 30
HERE = Path(__file__).resolve().parent
STATIC = {"/": ("page.html", "text/html; charset=utf-8"),
          "/page.js": ("page.js", "text/javascript; charset=utf-8")}  # fmt: skip
CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' blob:; "
       "style-src 'self' 'unsafe-inline'; frame-src 'self'")  # fmt: skip
#: The policy a 3-D page states for itself (its scripts by hash), sent as its header too.
PAGE_CSP = re.compile(r'http-equiv="Content-Security-Policy" content="([^"]+)"')


def _plain(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _central_place(session: Any) -> list[float]:
    """[lon, lat] of the drive node nearest the middle of the road network: the page's
    example place for injects."""
    import numpy as np
    from pyproj import Transformer

    drive = session.twin.exchange.drive
    k = int(np.argmin(np.hypot(drive.x - np.median(drive.x), drive.y - np.median(drive.y))))
    to = Transformer.from_crs(session.twin.parts.pack.crs, "EPSG:4326", always_xy=True)
    lon, lat = to.transform(float(drive.x[k]), float(drive.y[k]))
    return [round(float(lon), 6), round(float(lat), 6)]


class DrillApp:
    """A drill session with a clock (play / pause / speed / step) and the page's views.

    Parameters
    ----------
    session
        The :class:`twin.drill.DrillSession` to play.
    token, trainee_token
        The trainer's and the trainee's access tokens (default: fresh
        ``secrets.token_urlsafe(16)``).
    token_everywhere
        Require a token on every request (a host was given), not only on the state and
        POSTs.
    """

    def __init__(self, session: Any, *, token: str | None = None,
                 trainee_token: str | None = None,
                 token_everywhere: bool = False) -> None:  # fmt: skip
        self.session = session
        self.token = token or secrets.token_urlsafe(16)
        self.trainee_token = trainee_token or secrets.token_urlsafe(16)
        if hmac.compare_digest(self.token, self.trainee_token):
            raise ValueError("the trainer's and the trainee's tokens must differ")
        self.token_everywhere = token_everywhere
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.version = 0
        self.stamp = time.time() * 1000.0
        self.playing = False
        self.speed = 1.0
        self.messages: deque[str] = deque(maxlen=10)
        self._due: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drill-clock", daemon=True)
        self.place = _central_place(session)
        from twin.drill.actions import levee_places

        self.levees = levee_places(session)  # the breach menu's example places
        self._pack: Any = None

    def role(self, given: str) -> str | None:
        """The role of an access token: ``trainer``, ``trainee`` or ``None``."""
        for token, role in ((self.token, "trainer"), (self.trainee_token, "trainee")):
            if hmac.compare_digest(given.encode(), token.encode()):
                return role
        return None

    def _changed(self) -> None:
        """A new state: wake the long polls (called with the lock held)."""
        self.version += 1
        self.stamp = time.time() * 1000.0
        self.changed.notify_all()

    def wait(self, after: int, timeout: float = LONG_POLL) -> None:
        """Return when the state's version passes ``after`` or after ``timeout`` s."""
        with self.lock:
            self.changed.wait_for(lambda: self.version > after, timeout=timeout)

    # ------------------------------------------------------------------ the clock
    def start(self) -> None:
        """Start the clock thread (paused)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the clock thread (waits for a step under way)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                if not self.playing or self.session.done:
                    self._due = None
                    wait = 0.05
                else:
                    period = self.session.exchange_every / self.speed
                    now = time.monotonic()
                    if self._due is None:
                        self._due = now + period
                    if now >= self._due:
                        self._step()
                        self._due = max(self._due + period, time.monotonic())
                    wait = min(0.05, max(0.0, self._due - time.monotonic()))
            self._stop.wait(wait)

    def _step(self) -> None:
        try:
            self.session.step()
        except TwinError as exc:  # e.g. a scripted inject the city refuses mid-run
            self.messages.append(str(exc))
            self.playing = False
        self._changed()

    def clock(self, *, play: bool | None = None, speed: float | None = None,
              step: bool = False) -> None:  # fmt: skip
        """Play or pause, set the speed (1 to 60 times real time), or step once (paused).

        Raises
        ------
        UserInputError
            A speed outside 1 to 60, or a non-boolean play.
        """
        if play is not None and not isinstance(play, bool):
            raise UserInputError(Problem(f"play={play!r}", field="play", fix="true or false"))
        if speed is not None:
            ok = isinstance(speed, (int, float)) and not isinstance(speed, bool)
            if not ok or not SPEEDS[0] <= float(speed) <= SPEEDS[1]:
                raise UserInputError(Problem(f"speed {speed!r} is not between 1x and 60x",
                                             field="speed", fix="pick 1 to 60"))  # fmt: skip
        with self.lock:
            if speed is not None:
                self.speed, self._due = float(speed), None
            if play is not None:
                self.playing = play
            if step:
                self.playing = False
                if self.session.done:
                    raise UserInputError(Problem("the drill is over", fix="rewind"))
                self._step()
            self._changed()

    # ------------------------------------------------------------------ actions
    def act(self, kind: Any, args: Any, *, view: str) -> dict[str, Any]:
        """Take an inject (trainer's view) or a decision (either view) now."""
        if not isinstance(kind, str) or not isinstance(args, dict):
            raise UserInputError(Problem("an action is {kind: str, args: {...}}", field="kind",
                                         fix="send the page's form"))  # fmt: skip
        from twin.drill.actions import ACTIONS

        by = "trainer" if view == "trainer" and kind in ACTIONS and (
            ACTIONS[kind].by == "trainer") else "trainee"  # fmt: skip
        with self.lock:
            try:
                record = self.session.act(kind, args, by=by)
            finally:
                self._changed()  # a refusal is logged too
        return {"time": record.time, "kind": record.kind, "by": record.by,
                "result": record.result}  # fmt: skip

    def checkpoint(self, name: Any = None) -> str:
        """Mark a checkpoint now; returns its name."""
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise UserInputError(Problem("a checkpoint name is a word", field="name",
                                         fix="e.g. before-dispatch"))  # fmt: skip
        with self.lock:
            name = self.session.checkpoint(name or None)
            self._changed()
            return name

    def rewind(self, checkpoint: Any) -> str:
        """Start a new branch from a checkpoint (paused); returns the branch's name."""
        if not isinstance(checkpoint, str):
            raise UserInputError(Problem("no checkpoint given", field="checkpoint",
                                         fix="pick one from the list"))  # fmt: skip
        with self.lock:
            self.playing = False
            branch = self.session.rewind(checkpoint)
            self._changed()
            return branch

    # ------------------------------------------------------------------ views
    def state(self, view: str = "trainee") -> dict[str, Any]:
        """Everything the page shows to ``view`` (``trainer`` or ``trainee``; see the
        module notes on views)."""
        from twin.drill.actions import ACTIONS

        with self.lock:
            s = self.session
            out = s.state(view)
            actions = s.visible_actions(view)[-LOG_ROWS:]
            out["log"] = [{"time": a.time, "by": a.by, "kind": a.kind, "result": a.result}
                          for a in actions]  # fmt: skip
            out["events"] = s.visible_events(view)[-EVENT_ROWS:]
            out["checkpoints"] = list(s.checkpoints)
            out["hospitals"] = [h.name for h in s.twin.parts.response.hospitals]
            out["done"] = s.done
            out["place"] = self.place
            out["levees"] = self.levees
            out.update(version=self.version, stamp=self.stamp, playing=self.playing,
                       speed=self.speed)  # fmt: skip
        out.update(view=view, messages=list(self.messages), tier=out.get("tier"))
        shown = [k for k, a in ACTIONS.items() if view == "trainer" or a.by == "trainee"]
        out["actions"] = {
            k: {"by": ACTIONS[k].by, "doc": ACTIONS[k].doc,
                "args": sorted(ACTIONS[k].args.model_fields)}
            for k in shown
        }  # fmt: skip
        return _plain(out)

    def picture(self) -> tuple[Any, Any]:
        """The city picture now: the pack of the roads the twin drives (the largest
        component: the exchange's drive links) and a :class:`viz.scene.SceneState` (time,
        water depth, drive links closed by the flood or the drill, warning level)."""
        from viz.scene import SceneState

        with self.lock:
            s = self.session
            if self._pack is None:
                self._pack = s.twin.parts.pack.largest_component()
            ex = s.twin.exchange
            depth, _ = ex.flood_grids(s.twin.now)
            state = SceneState(time=s.now, depth=None if depth is None else depth.copy(),
                               closed=(ex.closed_cars | s.closed_drive).copy(),
                               warning=ex.triggers.warning_level_name)  # fmt: skip
        return self._pack, state

    def scene_page(self) -> str:
        """The 3-D view of the city now: an offline vtk.js page (:func:`viz.web3d.scene_html`)."""
        from viz.scene import clock_text
        from viz.web3d import scene_html

        pack, state = self.picture()
        return scene_html(pack, states=[state], title=f"drill {clock_text(state.time)}")

    def map_png(self) -> bytes:
        """The 2-D map now (water depth, closed roads) as PNG bytes."""
        import tempfile

        from viz.map2d import draw_map

        pack, state = self.picture()
        with tempfile.TemporaryDirectory() as tmp:
            path = draw_map(pack, state, Path(tmp) / "map.png")
            return path.read_bytes()


# ---------------------------------------------------------------------- HTTP
class _Handler(BaseHTTPRequestHandler):
    app: DrillApp
    server_version = "twin-drill"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows the URL, not every poll."""

    def _query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def _role(self) -> str | None:
        """The role of the request's token (header or ``?token=``), or ``None``."""
        given = self.headers.get("X-Drill-Token") or self._query().get("token") or ""
        return self.app.role(given)

    def _send(self, status: int, body: bytes, kind: str, csp: str = CSP) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", csp)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the page left during a long poll
            self.close_connection = True

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, allow_nan=False).encode(), "application/json")

    def _refuse(self, why: str = "a valid access token is needed") -> None:
        self._json(HTTPStatus.FORBIDDEN, {"error": why})

    def do_GET(self) -> None:
        """Static page, ``/api/state[?after=N]``, ``/api/map.png``, ``/api/scene.html``."""
        role = self._role()
        path = urlsplit(self.path).path
        if role is None and (self.app.token_everywhere or path == "/api/state"):
            return self._refuse()
        if path in STATIC:
            name, kind = STATIC[path]
            return self._send(HTTPStatus.OK, (HERE / name).read_bytes(), kind)
        if path == "/api/state":
            after = self._query().get("after", "")
            if after.lstrip("-").isdigit():
                self.app.wait(int(after))
            return self._json(HTTPStatus.OK, self.app.state(str(role)))
        if path == "/favicon.ico":  # browsers ask; none, without a 404 in the console
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
            return None
        if path == "/api/map.png":
            return self._send(HTTPStatus.OK, self.app.map_png(), "image/png")
        if path == "/api/scene.html":
            page = self.app.scene_page()
            found = PAGE_CSP.search(page)
            csp = (found.group(1) if found else CSP) + "; frame-ancestors 'self'"
            return self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8", csp)
        return self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {path}"})

    def do_POST(self) -> None:
        """``/api/clock``, ``/api/act``, ``/api/checkpoint``, ``/api/rewind``."""
        role = self._role()
        if role is None:
            return self._refuse()
        path = urlsplit(self.path).path
        if path in ("/api/clock", "/api/checkpoint", "/api/rewind") and role != "trainer":
            return self._refuse("the clock, checkpoints and rewinds are the trainer's")
        try:
            body = self._body()
            if path == "/api/clock":
                self.app.clock(play=body.get("play"), speed=body.get("speed"),
                               step=bool(body.get("step", False)))  # fmt: skip
                out: Any = {"ok": True}
            elif path == "/api/act":
                out = self.app.act(body.get("kind"), body.get("args"), view=role)
            elif path == "/api/checkpoint":
                out = {"checkpoint": self.app.checkpoint(body.get("name"))}
            elif path == "/api/rewind":
                out = {"branch": self.app.rewind(body.get("checkpoint"))}
            else:
                return self._json(HTTPStatus.NOT_FOUND, {"error": f"no action {path}"})
        except TwinError as exc:
            return self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        self._json(HTTPStatus.OK, _plain(out))

    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            raise UserInputError(Problem("request body too large or unsized",
                                         fix=f"send at most {MAX_BODY} bytes of JSON"))  # fmt: skip
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserInputError(Problem(f"not JSON: {exc}", fix="send a JSON object")) from None
        if not isinstance(body, dict):
            raise UserInputError(Problem("the body is not a JSON object", fix="send {...}"))
        return body


def make_server(app: DrillApp, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """An HTTP server for ``app`` bound to ``host:port`` (port 0: any free port); call
    ``serve_forever()`` on it. The URL is ``url(server, app)``."""
    handler = type("DrillHandler", (_Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def url(server: ThreadingHTTPServer, app: DrillApp, view: str = "trainer") -> str:
    """The page's URL with the access token of ``view`` (``trainer`` or ``trainee``)."""
    host, port = server.server_address[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    token = app.token if view == "trainer" else app.trainee_token
    return f"http://{shown}:{port}/?token={token}"


def serve(app: DrillApp, *, host: str = "127.0.0.1", port: int = 8080,
          on_url: Any = print, out: Path | None = None) -> Path | None:  # fmt: skip
    """Serve ``app`` until Ctrl-C, then stop the clock and the server cleanly; with
    ``out``, write the drill log there (``drill_log.yaml``) and return its path."""
    from twin.drill import write_log

    server = make_server(app, host, port)
    app.start()
    for view in ("trainer", "trainee"):
        on_url(f"{view}: {url(server, app, view)}")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.stop()
    if out is None:
        return None
    with app.lock:
        return write_log(app.session.log(), Path(out) / "drill_log.yaml")
