"""Serve a Gradio app on 127.0.0.1 from a background thread, for the app and browser tests.

`demo.launch()` gives up ("localhost is not accessible") when its own request to the page
takes more than 3 s, which happens on a busy 2-core machine; uvicorn serving
`gr.mount_gradio_app` is the same app (queue, routes, limits) without that check.
"""

import contextlib
import socket
import threading
import time

import gradio as gr
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(demo: gr.Blocks, timeout: float = 120, **options):
    """Yield the URL of `demo` served on a free port; `options` as for `demo.launch`
    (the subset `gr.mount_gradio_app` takes). Errors stay as short as with launch()."""
    port = free_port()
    app = gr.mount_gradio_app(FastAPI(), demo, path="", server_name="127.0.0.1", server_port=port,
                              show_error=False, **options)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"gradio-test-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server on port {port} did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
