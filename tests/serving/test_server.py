"""bert-tf1-serve: TF Serving's REST API, micro-batching, errors, overload and SIGTERM drain.

No timed assertions: overload and in-flight requests are produced by holding the batcher's
worker on an Event (or a pipe) the test controls.
"""
import contextlib
import http.client
import json
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from serving_helpers import assert_same_predictions, python_env

from bert_tf1.serving import Predictor
from bert_tf1.serving.batching import Closed, MicroBatcher, QueueFull
from bert_tf1.serving.server import ModelServer, ServingApp

WAIT = 60  # seconds a test waits for something that must happen (a hang fails, never a delay)


# ---- MicroBatcher alone (no TensorFlow) ------------------------------------------------------

class Gate(object):
    """predict_fn that records its batches and, while closed, holds the worker."""

    def __init__(self, predict_fn=lambda items: [item * 10 for item in items]):
        self.predict_fn = predict_fn
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.batches = []

    def __call__(self, items):
        self.batches.append(list(items))
        self.entered.set()
        assert self.opened.wait(WAIT)
        return self.predict_fn(items)


def test_batcher_groups_requests_that_wait_together():
    gate = Gate()
    batcher = MicroBatcher(gate, max_batch_size=4, max_wait_ms=0, max_queue=8)
    first = batcher.submit([1])
    assert gate.entered.wait(WAIT)  # the worker holds request [1]
    queued = [batcher.submit([2, 3]), batcher.submit([4]), batcher.submit([5, 6])]
    assert batcher.pending == 3
    gate.opened.set()
    assert first.result(WAIT) == [10]
    assert [f.result(WAIT) for f in queued] == [[20, 30], [40], [50, 60]]
    # [2, 3] + [4] fill 3 of 4 places; [5, 6] would make 5: it waits for the next batch.
    assert gate.batches == [[1], [2, 3, 4], [5, 6]]
    batcher.close(WAIT)
    with pytest.raises(Closed):
        batcher.submit([7])


def test_batcher_queue_is_bounded_and_errors_reach_every_request():
    gate = Gate(predict_fn=lambda items: 1 / 0)
    batcher = MicroBatcher(gate, max_batch_size=1, max_wait_ms=0, max_queue=1)
    first = batcher.submit(["a"])
    assert gate.entered.wait(WAIT)
    second = batcher.submit(["b"])
    with pytest.raises(QueueFull, match="1 requests are waiting"):
        batcher.submit(["c"])
    gate.opened.set()
    for future in (first, second):
        with pytest.raises(ZeroDivisionError):
            future.result(WAIT)
    batcher.close(WAIT)


# ---- the REST server in this process ---------------------------------------------------------

@pytest.fixture(scope="module")
def predictor(trained):
    with Predictor(trained.export("pair"), batch_size=8) as loaded:
        yield loaded


@contextlib.contextmanager
def running(app, threads=16):
    server = ModelServer(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown(timeout=WAIT)
        thread.join(WAIT)
        assert not thread.is_alive()


@pytest.fixture(scope="module")
def served(predictor):
    app = ServingApp(predictor, model_name="pairs", max_batch_size=8, max_wait_ms=20,
                     max_queue=32, max_body_bytes=4096)
    with running(app, threads=40) as server:
        yield server


def call(server, method, path, body=None, port=None):
    """(status, JSON body or text) of one request on a fresh connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port or server.port, timeout=WAIT)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        connection.request(method, path, body=body,
                           headers={"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        data = response.read().decode("utf-8")
    finally:
        connection.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data


@pytest.mark.e2e
def test_status_and_metadata(served, predictor):
    assert call(served, "GET", "/v1/models/pairs") == (200, {"model_version_status": [{
        "version": "1", "state": "AVAILABLE", "status": {"error_code": "OK",
                                                          "error_message": ""}}]})
    assert call(served, "GET", "/v1/models/pairs/versions/1")[0] == 200
    status, metadata = call(served, "GET", "/v1/models/pairs/metadata")
    assert status == 200
    assert metadata["model_spec"] == {"name": "pairs", "signature_name": "", "version": "1"}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sorted(signature["inputs"]) == ["input_ids", "input_mask", "segment_ids"]
    assert signature["methodName"] == "tensorflow/serving/predict"
    assert metadata["bert_tf1"]["labels"] == predictor.labels
    assert metadata["bert_tf1"]["task"] == "mrpc"


@pytest.mark.e2e
def test_predict_equals_the_runs_predictions(served, trained):
    rows = trained.predictions("pair")
    instances = [[r["text_a"], r["text_b"]] for r in rows[:6]] + \
        [{"text": r["text_a"], "text_b": r["text_b"]} for r in rows[6:]]
    status, body = call(served, "POST", "/v1/models/pairs:predict", {"instances": instances})
    assert status == 200 and sorted(body) == ["predictions"]
    assert_same_predictions(body["predictions"], rows)
    columnar = {"inputs": {"text": [r["text_a"] for r in rows],
                           "text_b": [r["text_b"] for r in rows]}}
    status, body = call(served, "POST", "/v1/models/pairs/versions/1:predict", columnar)
    assert status == 200
    assert_same_predictions(body["outputs"], rows)


@pytest.mark.e2e
def test_concurrent_clients_get_their_own_answers(served, predictor, trained):
    rows = trained.predictions("pair")
    pairs = [[r["text_a"], r["text_b"]] for r in rows]
    expected = predictor.predict(pairs)
    answers, errors = {}, []

    def client(number):
        try:
            for request in range(3):
                start = (number * 3 + request) % len(pairs)
                size = 1 + (number + request) % 4
                picked = [(start + k) % len(pairs) for k in range(size)]
                status, body = call(served, "POST", "/v1/models/pairs:predict",
                                    {"instances": [pairs[i] for i in picked]})
                answers[(number, request)] = (status, picked, body)
        except Exception as error:  # pylint: disable=broad-except
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not errors and len(answers) == 24
    for status, picked, body in answers.values():
        assert status == 200
        assert_same_predictions(body["predictions"], [expected[i] for i in picked], atol=1e-6)


@pytest.mark.e2e
@pytest.mark.parametrize("method, path, body, status, message", [
    ("POST", "/v1/models/pairs:predict", "{not json", 400, "request body is not valid JSON"),
    ("POST", "/v1/models/pairs:predict", [1, 2], 400,
     'expected a JSON object with "instances" (a list), found list'),
    ("POST", "/v1/models/pairs:predict", {"signature_name": "x"}, 400,
     'expected exactly one of "instances" or "inputs", found keys signature_name'),
    ("POST", "/v1/models/pairs:predict", {"instances": "text"}, 400,
     '"instances" must be a list, found str'),
    ("POST", "/v1/models/pairs:predict", {"instances": []}, 400, '"instances" is empty'),
    ("POST", "/v1/models/pairs:predict", {"instances": ["ok", {"txt": "x"}]}, 400,
     "instances[1]: expected an object with a 'text_a' or 'text' string, found keys txt"),
    ("POST", "/v1/models/pairs:predict", {"inputs": {"text": ["a"], "text_b": ["b", "c"]}},
     400, '"inputs" as an object must map names to lists of one length'),
    ("POST", "/v1/models/other:predict", {"instances": ["x"]}, 404,
     "Servable not found for request: Latest(other)"),
    ("GET", "/v1/models/other", None, 404, "Servable not found for request: Latest(other)"),
    ("GET", "/v1/models/pairs/versions/2", None, 404, "version 1 only"),
    ("GET", "/v2/anything", None, 404, "no such path: GET /v2/anything"),
    ("GET", "/v1/models/pairs/metadata/x", None, 404, "no such path"),
    ("PUT", "/v1/models/pairs:predict", {"instances": ["x"]}, 405, "method not allowed"),
])
def test_errors_are_json_naming_the_problem(served, method, path, body, status, message):
    found_status, found = call(served, method, path, body)
    assert found_status == status, found
    assert sorted(found) == ["error"] and message in found["error"], found


@pytest.mark.e2e
def test_oversized_body_is_refused(served):
    status, body = call(served, "POST", "/v1/models/pairs:predict",
                        {"instances": ["x" * 5000]})
    assert status == 413, body
    # Just under the limit is served.
    text = "good " * 700
    assert call(served, "POST", "/v1/models/pairs:predict", {"instances": [text]})[0] == 200


class GatedPredictor(object):
    """A Predictor whose batches wait for the test (overload made deterministic)."""

    def __init__(self, predictor):
        self.predictor = predictor
        self.gate = Gate(predictor.predict_encoded)

    def predict_encoded(self, encoded):
        return self.gate(encoded)

    def __getattr__(self, name):
        return getattr(self.predictor, name)


@pytest.mark.e2e
def test_full_queue_answers_503_and_the_others_are_served(predictor):
    gated = GatedPredictor(predictor)
    app = ServingApp(gated, max_batch_size=1, max_wait_ms=0, max_queue=1)
    with running(app, threads=8) as server:
        results = {}

        def post(key, text):
            results[key] = call(server, "POST", "/v1/models/default:predict",
                                {"instances": [text]})

        first = threading.Thread(target=post, args=("first", "good"))
        first.start()
        assert gated.gate.entered.wait(WAIT)  # the worker holds the first request
        second = threading.Thread(target=post, args=("second", "bad"))
        second.start()
        while app.batcher.pending < 1:  # the second request is queued (polled, not timed)
            assert second.is_alive()
            threading.Event().wait(0.01)
        status, body = call(server, "POST", "/v1/models/default:predict", {"instances": ["x"]})
        assert status == 503 and "server overloaded: 1 requests are waiting" in body["error"]
        gated.gate.opened.set()
        first.join(WAIT)
        second.join(WAIT)
    expected = predictor.predict(["good", "bad"])
    assert results["first"][0] == results["second"][0] == 200
    assert_same_predictions(results["first"][1]["predictions"] +
                            results["second"][1]["predictions"], expected, atol=1e-6)


# ---- a server process and SIGTERM --------------------------------------------------------------

GATED_SERVER = textwrap.dedent("""
    import sys
    from bert_tf1 import compat
    from bert_tf1.serving import Predictor
    from bert_tf1.serving.server import ModelServer, ServingApp

    compat.setup_tf1()
    predictor = Predictor(sys.argv[1])

    class Gated(object):
        def predict_encoded(self, encoded):
            print("ENTERED", flush=True)
            sys.stdin.readline()  # the test releases the batch by writing a line
            return predictor.predict_encoded(encoded)

        def __getattr__(self, name):
            return getattr(predictor, name)

    class Announced(ModelServer):
        def shutdown(self, wait=True, timeout=60.0):
            super(Announced, self).shutdown(wait=False, timeout=timeout)
            print("DRAINING", flush=True)  # the drain has begun: the test may release

    server = Announced(ServingApp(Gated(), max_wait_ms=0), host="127.0.0.1", port=0)
    print("PORT %d" % server.port, flush=True)
    sys.exit(server.run_until_signalled())
""")


@pytest.mark.e2e
def test_sigterm_answers_the_request_in_flight_then_exits_0(trained, tmp_path):
    script = tmp_path / "gated_server.py"
    script.write_text(GATED_SERVER)
    process = subprocess.Popen([sys.executable, str(script), trained.export("pooled")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, universal_newlines=True, env=python_env())
    try:
        port = int(process.stdout.readline().split()[1])
        answer = {}
        client = threading.Thread(target=lambda: answer.update(response=call(
            None, "POST", "/v1/models/default:predict", {"instances": ["good"]}, port=port)))
        client.start()
        assert process.stdout.readline().strip() == "ENTERED"  # the request is in flight
        process.send_signal(signal.SIGTERM)
        assert process.stdout.readline().strip() == "DRAINING"  # while the request waits
        process.stdin.write("\n")
        process.stdin.flush()
        client.join(WAIT)
        assert process.wait(WAIT) == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    status, body = answer["response"]
    assert status == 200
    with Predictor(trained.export("pooled")) as predictor:
        assert_same_predictions(body["predictions"], predictor.predict(["good"]), atol=1e-6)


@pytest.mark.e2e
def test_serve_cli_serves_and_stops_on_sigterm(trained):
    process = subprocess.Popen(
        [sys.executable, "-m", "bert_tf1.cli.serve", "--model", trained.export("pair"),
         "--port", "0", "--model_name", "mrpc"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True, env=python_env())
    try:
        line = process.stderr.readline()
        assert "bert-tf1-serve: serving" in line and "as 'mrpc' on http://127.0.0.1:" in line
        port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        assert call(None, "GET", "/v1/models/mrpc", port=port)[1]["model_version_status"][0][
            "state"] == "AVAILABLE"
        status, body = call(None, "POST", "/v1/models/mrpc:predict",
                            {"instances": [["a good film", "a fine film"]]}, port=port)
        assert status == 200 and len(body["predictions"]) == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT) == 0
        assert "drained, stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
