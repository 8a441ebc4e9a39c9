"""Running the WSGI app under gunicorn, the production server."""

from collections.abc import Callable

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):
    """Gunicorn with its options given in code rather than a config file."""

    def __init__(self, load_app: Callable, options: dict) -> None:
        self._load_app = load_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        # Called in each worker after the fork, so every worker gets its own
        # database pool and HTTP connections.
        return self._load_app()


def serve(
    load_app: Callable, *, host: str, port: int, workers: int, threads: int
) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 30,
        "accesslog": None,
        "loglevel": "warning",
    }
    GunicornServer(load_app, options).run()
