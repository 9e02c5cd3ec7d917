"""The SASRec teacher as a real HTTP service (seed notes 001, B.2), its client, and the context manager
that starts and stops it around the step that needs it.

Service (`create_app`, run by `python -m recforge.methods.reclm.teacher --model DIR --port N`):
- `POST /inference` with the seed's body `{"users": [u, ...], "item_lengths": [n, ...], "k": k,
  "item_lists": [[item ids], ...]}` answers `{"inference": [[top-k item ids], ...]}`: one list per
  user (the seed answered the first user only), ranked by the foundation's SASRec model artifact
  (recforge.methods.sasrec, the train-phase model, never the train+valid refit) over the full catalogue
  minus the items of that user's list. `item_lengths` must match the lists; optional keys of the seed
  (`immediately`, `candidate_item_lists`, `target_category`) are refused rather than ignored.
- `GET /health` -> `{"status": "ok", "service": SERVICE, "items": n}`.
- It binds to 127.0.0.1 only, on an integer port (config.check_port).

`TeacherService(model_dir, port)`: starts the service as a child process, polls /health until it
answers with SERVICE (bounded by `start_timeout_s`; a child that exits early, e.g. because the port is
taken, is reported with its log), yields a `TeacherClient`, and stops the child on exit.
`TeacherClient.top_k` raises `TeacherUnavailable` naming the URL when the service is down.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from recforge.methods.reclm.config import check_port

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
SERVICE = "recforge-sasrec-teacher"


class TeacherUnavailable(RuntimeError):
    """The teacher service did not answer (not started, killed, or failing)."""


# ------------------------------------------------------------------------------------ service
def create_app(model: Any):
    """The FastAPI app over a loaded recforge.methods.sasrec.SASRec model."""
    from fastapi import Body, FastAPI, HTTPException
    from pydantic import BaseModel, ConfigDict, ValidationError

    from recforge.methods import sasrec

    class Request(BaseModel):
        model_config = ConfigDict(extra="forbid")
        users: list[str]
        item_lengths: list[int]
        k: int
        item_lists: list[list[str]]

    app = FastAPI(title=SERVICE)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "service": SERVICE, "items": len(model.items)}

    @app.post("/inference")
    def inference(body: dict = Body(...)) -> dict:  # noqa: B008 (FastAPI's idiom)
        try:
            req = Request.model_validate(body)
        except ValidationError as exc:
            raise HTTPException(422, str(exc)) from None
        if not (len(req.users) == len(req.item_lengths) == len(req.item_lists)):
            raise HTTPException(422, "users, item_lengths and item_lists must have the same length")
        if any(n != len(items) for n, items in zip(req.item_lengths, req.item_lists)):
            raise HTTPException(422, "item_lengths must equal the lengths of item_lists")
        if req.k < 1:
            raise HTTPException(422, "k must be >= 1")
        return {"inference": sasrec.recommend(model, [list(map(str, h)) for h in req.item_lists], req.k,
                                              exclude_history=True)}

    return app


def serve(model_dir: str | Path, port: int, threads: int = 1) -> None:
    import torch
    import uvicorn

    from recforge.methods import sasrec

    torch.set_num_threads(threads)
    app = create_app(sasrec.load(model_dir))
    uvicorn.run(app, host=HOST, port=check_port(port), log_level="warning")


# ------------------------------------------------------------------------------------ client
class TeacherClient:
    def __init__(self, port: int, timeout_s: float = 60.0):
        self.url = f"http://{HOST}:{check_port(port)}"
        self.timeout_s = timeout_s

    def _call(self, path: str, body: dict | None = None, timeout_s: float | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="GET" if body is None else "POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s or self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise TeacherUnavailable(f"teacher service {self.url}{path} answered {exc.code}: "
                                     f"{exc.read().decode(errors='replace')[:500]}") from exc
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
            raise TeacherUnavailable(f"teacher service at {self.url} is down ({path}: {exc}); it is started "
                                     f"by the rule that needs it (recforge.methods.reclm.teacher)") from exc

    def health(self, timeout_s: float | None = None) -> dict:
        return self._call("/health", timeout_s=timeout_s)

    def top_k(self, users: Sequence[str], histories: Sequence[Sequence[str]], k: int) -> list[list[str]]:
        """The teacher's top-k per user, its history's items excluded."""
        body = {"users": [str(u) for u in users], "item_lengths": [len(h) for h in histories], "k": int(k),
                "item_lists": [[str(i) for i in h] for h in histories]}
        answer = self._call("/inference", body)["inference"]
        if len(answer) != len(users):
            raise TeacherUnavailable(f"teacher answered {len(answer)} lists for {len(users)} users")
        return answer


class TeacherService:
    """`with TeacherService(model_dir, port) as client: ...`: the service runs for the block only."""

    def __init__(self, model_dir: str | Path, port: int, start_timeout_s: float = 120.0,
                 request_timeout_s: float = 60.0, threads: int = 1):
        self.model_dir, self.port = str(model_dir), check_port(port)
        self.start_timeout_s, self.threads = start_timeout_s, threads
        self.client = TeacherClient(self.port, request_timeout_s)
        self.process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> TeacherClient:
        try:
            self.client.health(timeout_s=2.0)
        except TeacherUnavailable:
            pass
        else:
            raise TeacherUnavailable(f"port {self.port} already answers /health: another teacher (or service) runs "
                                     f"there; stop it or choose methods.reclm.teacher.port")
        self._log = tempfile.TemporaryFile(mode="w+")
        command = [sys.executable, "-m", "recforge.methods.reclm.teacher", "--model", self.model_dir,
                   "--port", str(self.port), "--threads", str(self.threads)]
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=dict(os.environ))
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self.process.poll() is not None:
                self._log.seek(0)
                output = self._log.read()[-2000:]
                self.stop()
                raise TeacherUnavailable(f"teacher service exited with code {self.process.returncode} while "
                                         f"starting on port {self.port}:\n{output}")
            try:
                info = self.client.health(timeout_s=2.0)
                if info.get("service") == SERVICE:
                    log.info("teacher service up at %s (%d items)", self.client.url, info.get("items", -1))
                    return self.client
            except TeacherUnavailable:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TeacherUnavailable(f"teacher service on port {self.port} not healthy after "
                                         f"{self.start_timeout_s:.0f} s")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SASRec teacher service (POST /inference, GET /health)")
    parser.add_argument("--model", required=True, help="a recforge SASRec model directory")
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    serve(args.model, args.port, args.threads)


if __name__ == "__main__":
    main()
