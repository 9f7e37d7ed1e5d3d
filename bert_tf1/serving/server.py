"""A REST server speaking TensorFlow Serving's API over a Predictor (bert-tf1-serve).

TF Serving's REST API, so that clients can later move to a TF Serving model server unchanged
(it serves the same SavedModel's token-id signature; this server also tokenizes):

  GET  /v1/models/NAME                 {"model_version_status": [{"version": "1", "state":
                                        "AVAILABLE", "status": {"error_code": "OK",
                                        "error_message": ""}}]}
  GET  /v1/models/NAME/metadata        {"model_spec": ..., "metadata": {"signature_def": ...},
                                        "bert_tf1": <the export's bert_tf1_export.json>}
  POST /v1/models/NAME:predict         {"instances": ["text", {"text": a, "text_b": b}, [a, b]]}
                                        -> {"predictions": [{"predicted_label": ...,
                                        "probabilities": {label: p}}, ...]}
                                       {"inputs": [...]} (or columnar {"inputs": {"text": [...],
                                        "text_b": [...]}}) -> {"outputs": [...]}
  (also under /v1/models/NAME/versions/1/...)

Errors are JSON {"error": "..."}: 400 malformed JSON or a bad instance (named by its index),
404 unknown model name or path, 405 wrong method, 413 body over max_body_bytes (answered by
waitress itself, before the body is read, with a text body), 503 when the batching queue is
full or the server is shutting down, 500 otherwise.

Pieces: werkzeug (already in the lock for tensorboard) routes and parses requests; waitress, a
production WSGI server in pure Python, serves them from a thread pool; bert_tf1.serving.batching
groups concurrent requests into one session run. Tokenization runs in the request threads, so
a bad instance is refused before it reaches the queue. SIGTERM (and SIGINT) drain: the listening
socket closes, requests already received are answered, then the process exits 0.
"""
import json
import signal
import sys
import threading
import time

import waitress
from waitress import channel as waitress_channel
from waitress import wasyncore
from werkzeug import exceptions, routing
from werkzeug.wrappers import Request, Response

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import outputs
from bert_tf1.serving import batching
from bert_tf1.serving.predictor import Predictor

DEFAULT_PORT = 8501  # TF Serving's REST port
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
MODEL_VERSION = "1"


def _json_response(value, status=200):
    return Response(outputs.dumps_json(value, ensure_ascii=False), status=status,
                    mimetype="application/json")


def _error(status, message):
    return _json_response({"error": message}, status)


class ServingApp(object):
    """The WSGI application: TF Serving's REST API over a Predictor and a MicroBatcher.

    Args:
      predictor: a bert_tf1.serving.Predictor (or an object with encode, predict_encoded,
        metadata and signature_def).
      model_name: the NAME in /v1/models/NAME.
      max_batch_size, max_wait_ms, max_queue: see batching.MicroBatcher.
      max_body_bytes: larger bodies are refused with 413.
    """

    def __init__(self, predictor, model_name="default", max_batch_size=32, max_wait_ms=5.0,
                 max_queue=32, max_body_bytes=DEFAULT_MAX_BODY_BYTES):
        self.predictor = predictor
        self.model_name = model_name
        self.max_body_bytes = max_body_bytes
        self.batcher = batching.MicroBatcher(predictor.predict_encoded, max_batch_size,
                                             max_wait_ms, max_queue)
        self.draining = False
        self._in_flight = 0
        self._idle = threading.Condition()
        version = "/versions/<version>"
        self._urls = routing.Map([
            routing.Rule("/v1/models/<name>", endpoint="status", methods=["GET"]),
            routing.Rule("/v1/models/<name>" + version, endpoint="status", methods=["GET"]),
            routing.Rule("/v1/models/<name>/metadata", endpoint="metadata", methods=["GET"]),
            routing.Rule("/v1/models/<name>%s/metadata" % version, endpoint="metadata",
                         methods=["GET"]),
            routing.Rule("/v1/models/<name>:predict", endpoint="predict", methods=["POST"]),
            routing.Rule("/v1/models/<name>%s:predict" % version, endpoint="predict",
                         methods=["POST"]),
        ])

    # ---- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        with self._idle:
            self._in_flight += 1
        try:
            request = Request(environ)
            request.max_content_length = self.max_body_bytes
            return self.dispatch(request)(environ, start_response)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout=None):
        """Waits until no request is being handled; returns False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def dispatch(self, request):
        adapter = self._urls.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except exceptions.NotFound:
            return _error(404, "no such path: %s %s (expected /v1/models/%s, "
                               "/v1/models/%s/metadata or POST /v1/models/%s:predict)"
                          % (request.method, request.path, self.model_name, self.model_name,
                             self.model_name))
        except exceptions.MethodNotAllowed as error:
            return _error(405, "%s %s: method not allowed (allowed: %s)" % (
                request.method, request.path, ", ".join(error.valid_methods or [])))
        if values["name"] != self.model_name:
            return _error(404, "Servable not found for request: Latest(%s) (this server serves "
                               "model '%s')" % (values["name"], self.model_name))
        if values.get("version", MODEL_VERSION) != MODEL_VERSION:
            return _error(404, "Servable not found for request: Specific(%s, %s) (version %s "
                               "only)" % (values["name"], values["version"], MODEL_VERSION))
        try:
            return getattr(self, "_" + endpoint)(request)
        except exceptions.RequestEntityTooLarge:
            return _error(413, "request body over %d bytes" % self.max_body_bytes)
        except Exception as error:  # pylint: disable=broad-except
            return _error(500, "%s: %s" % (type(error).__name__, error))

    # ---- endpoints ------------------------------------------------------------------------

    def _status(self, request):
        del request
        return _json_response({"model_version_status": [{
            "version": MODEL_VERSION, "state": "UNLOADING" if self.draining else "AVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]})

    def _metadata(self, request):
        del request
        return _json_response({
            "model_spec": {"name": self.model_name, "signature_name": "",
                           "version": MODEL_VERSION},
            "metadata": {"signature_def": {"signature_def": {
                "serving_default": self.predictor.signature_def}}},
            "bert_tf1": self.predictor.metadata,
        })

    def _predict(self, request):
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return _error(413, "request body of %d bytes is over %d bytes"
                          % (request.content_length, self.max_body_bytes))
        if self.draining:
            return _error(503, "the server is shutting down")
        try:
            instances, key = parse_predict_body(request.get_data())
            encoded = self.predictor.encode(instances, where=key + "[{}]")
        except BertTF1Error as error:
            return _error(400, str(error))
        try:
            future = self.batcher.submit(encoded)
        except batching.QueueFull as error:
            return _error(503, "server overloaded: %s; retry later" % error)
        except batching.Closed:
            return _error(503, "the server is shutting down")
        predictions = future.result()
        return _json_response({"predictions" if key == "instances" else "outputs": predictions})


def parse_predict_body(body):
    """The instances of a predict request body.

    Args:
      body: bytes, a JSON object with "instances" (a list) or "inputs" (a list, or columnar:
        an object of equal-length lists such as {"text": [...], "text_b": [...]}).

    Returns:
      (list of instances, "instances" or "inputs").

    Raises:
      BertTF1Error saying what is wrong (answered with 400).
    """
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BertTF1Error("request body is not valid JSON (%s)" % error)
    if not isinstance(value, dict):
        raise BertTF1Error("expected a JSON object with \"instances\" (a list), found %s"
                           % type(value).__name__)
    keys = [key for key in ("instances", "inputs") if key in value]
    if len(keys) != 1:
        raise BertTF1Error("expected exactly one of \"instances\" or \"inputs\", found keys %s"
                           % (", ".join(sorted(value)) or "none"))
    key = keys[0]
    instances = value[key]
    if key == "inputs" and isinstance(instances, dict):
        columns = instances
        lengths = {name: len(column) for name, column in columns.items()
                   if isinstance(column, list)}
        if len(lengths) != len(columns) or len(set(lengths.values())) > 1:
            raise BertTF1Error("\"inputs\" as an object must map names to lists of one length, "
                               "found %s" % ", ".join("%s: %s" % (name, lengths.get(
                                   name, type(column).__name__)) for name, column in
                                                      sorted(columns.items())))
        count = next(iter(lengths.values()), 0)
        instances = [{name: column[i] for name, column in columns.items()} for i in range(count)]
    if not isinstance(instances, list):
        raise BertTF1Error("\"%s\" must be a list, found %s" % (key, type(instances).__name__))
    if not instances:
        raise BertTF1Error("\"%s\" is empty" % key)
    return instances, key


class ModelServer(object):
    """A waitress server over a ServingApp, stoppable with a drain.

    Args:
      app: the ServingApp.
      host, port: where to listen (port 0: any free port; see `port` after construction).
      threads: request threads. Each waits while its request is batched, so it should exceed
        app.batcher.max_queue: otherwise requests queue inside waitress, unbounded, and the
        batcher's 503 never comes.
    """

    def __init__(self, app, host="127.0.0.1", port=DEFAULT_PORT, threads=64):
        self.app = app
        # waitress refuses a Content-Length >= its limit before reading the body.
        self._server = waitress.create_server(
            app, host=host, port=port, threads=threads, ident="bert-tf1-serve",
            max_request_body_size=app.max_body_bytes + 1, clear_untrusted_proxy_headers=True)
        self.host, self.port = self._server.effective_host, int(self._server.effective_port)
        self._stopping = threading.Event()
        self.stopped = threading.Event()

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    def run(self):
        """Serves until shutdown() (or a drain started by a signal) completes."""
        try:
            self._server.run()
        finally:
            self._server.task_dispatcher.shutdown()
            self.stopped.set()

    def run_until_signalled(self):
        """run() with SIGTERM and SIGINT starting a drain (main thread only). Returns 0."""
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda signum, frame: self.shutdown(wait=False))
        self.run()
        return 0

    def shutdown(self, wait=True, timeout=60.0):
        """Stops accepting, answers requests already received, then ends run().

        Safe from a signal handler (wait=False): the work happens in a helper thread.
        """
        if not self._stopping.is_set():
            self._stopping.set()
            self.app.draining = True
            threading.Thread(target=self._drain, args=(timeout,), name="bert-tf1-drain",
                             daemon=True).start()
        if wait:
            self.stopped.wait(timeout)

    # waitress has no graceful stop of its own (its serve() ends on KeyboardInterrupt, dropping
    # responses still in the buffers), so the drain below uses its event-loop trigger, socket
    # map and channels' close_when_flushed flag: internals of the pinned waitress 2.1.2, covered
    # by tests/serving/test_server.py's SIGTERM test.

    def _in_loop(self, thunk):
        """Runs `thunk` in waitress's event-loop thread (its sockets are not thread-safe)."""
        done = threading.Event()

        def run():
            try:
                thunk()
            finally:
                done.set()

        self._server.trigger.pull_trigger(run)
        done.wait(5.0)

    def _channels(self):
        return [c for c in list(self._server._map.values())  # pylint: disable=protected-access
                if isinstance(c, waitress_channel.HTTPChannel)]

    def _drain(self, timeout):
        deadline = time.monotonic() + timeout
        # 1. No new connections: close the listening socket (not the trigger, still needed).
        self._in_loop(lambda: wasyncore.dispatcher.close(self._server))
        # 2. Requests being handled finish (their batches run), then the batcher stops.
        self.app.wait_idle(max(0.0, deadline - time.monotonic()))
        self.app.batcher.close(max(0.0, deadline - time.monotonic()))
        # 3. Connections close once their responses are flushed (keep-alive ones included).
        while True:
            def close_when_flushed():
                for channel in self._channels():
                    if not channel.requests:
                        channel.close_when_flushed = True
            self._in_loop(close_when_flushed)
            if not self._channels() or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        # 4. An empty socket map ends waitress's loop, and so run().
        self._in_loop(lambda: wasyncore.close_all(self._server._map))  # pylint: disable=W0212


def serve(export_dir, host="127.0.0.1", port=DEFAULT_PORT, model_name="default",
          max_batch_size=32, max_wait_ms=5.0, max_queue=32, max_body_bytes=DEFAULT_MAX_BODY_BYTES,
          threads=64, log=sys.stderr):
    """Loads the export, serves it until SIGTERM/SIGINT, drains; returns the exit code (0).

    Prints "serving ... on http://HOST:PORT/v1/models/NAME" to `log` once listening.
    """
    predictor = Predictor(export_dir, batch_size=max_batch_size)
    app = ServingApp(predictor, model_name, max_batch_size, max_wait_ms, max_queue,
                     max_body_bytes)
    server = ModelServer(app, host, port, threads)
    print("bert-tf1-serve: serving %s as '%s' on %s/v1/models/%s (SIGTERM or Ctrl-C drains and "
          "stops)" % (export_dir, model_name, server.url, model_name), file=log, flush=True)
    code = server.run_until_signalled()
    predictor.close()
    print("bert-tf1-serve: drained, stopped", file=log, flush=True)
    return code
