"""URL hub handles are bounded: a silent server, a refused connection and a stale download lock
each give one BertTF1Error naming the URL (or the lock file), never a hang or a raw URLError."""
import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import hub_bert


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def silent_server():
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except socket.timeout:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/bert_module.tar.gz" % listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_never_answers_times_out_with_one_error(hub_cache, silent_server):
    with pytest.raises(BertTF1Error) as info:
        hub_bert.resolve_url_handle(silent_server, timeout=0.5)
    assert str(info.value) == ("hub module %s: cannot download it: no answer within 0.5 s "
                               "(BERT_TF1_URL_TIMEOUT sets the limit)" % silent_server)
    module_dir, lock_file = hub_bert.hub_cache_paths(silent_server)
    assert not os.path.exists(lock_file) and not os.path.exists(module_dir)  # nothing left
    assert socket.getdefaulttimeout() is None  # the process-wide default is restored


def test_a_refused_connection_is_one_error_naming_the_url(hub_cache):
    url = "http://127.0.0.1:%d/m.tar.gz" % free_port()
    with pytest.raises(BertTF1Error, match=r"^hub module %s: cannot download it: .*refused"
                       % url.replace(".", r"\.")):
        hub_bert.check_hub_module(url)


def test_the_timeout_comes_from_the_environment():
    assert hub_bert.url_timeout_seconds({}) == hub_bert.URL_TIMEOUT_SECONDS
    assert hub_bert.url_timeout_seconds({"BERT_TF1_URL_TIMEOUT": "2.5"}) == 2.5
    for bad in ("0", "nan", "soon"):
        with pytest.raises(BertTF1Error, match="BERT_TF1_URL_TIMEOUT=%s" % bad):
            hub_bert.url_timeout_seconds({"BERT_TF1_URL_TIMEOUT": bad})


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_lock_left_by_a_dead_process_is_reported_with_the_file_to_delete(hub_cache):
    url = "http://127.0.0.1:%d/m.tar.gz" % free_port()
    module_dir, lock_file = hub_bert.hub_cache_paths(url)
    os.makedirs(str(hub_cache))
    with open(lock_file, "w") as handle:
        handle.write("%s.%d.%s" % (socket.gethostname(), dead_pid(), "ab" * 16))
    with pytest.raises(BertTF1Error) as info:
        hub_bert.resolve_url_handle(url, timeout=0.5)
    message = str(info.value)
    assert "download lock %s is stale (its owner, process" % lock_file in message
    assert "delete that file" in message


def test_an_idle_lock_of_another_host_is_stale_after_the_limit(tmp_path):
    lock_file = str(tmp_path / "abc.lock")
    with open(lock_file, "w") as handle:
        handle.write("other-host.example.123.%s" % ("cd" * 16))
    mtime = os.path.getmtime(lock_file)
    assert hub_bert.stale_lock_problem(lock_file, now=mtime + 60) is None
    assert "has not progressed for 11 minutes" in hub_bert.stale_lock_problem(
        lock_file, now=mtime + 11 * 60)


def test_a_live_owners_lock_is_not_stale(tmp_path):
    lock_file = str(tmp_path / "abc.lock")
    with open(lock_file, "w") as handle:
        handle.write("%s.%d.%s" % (socket.gethostname(), os.getpid(), "ef" * 16))
    assert hub_bert.stale_lock_problem(lock_file) is None


def test_a_download_that_is_not_a_module_archive(hub_cache, tmp_path):
    class NotATar(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>not a module</html>")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotATar)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    url = "http://127.0.0.1:%d/m.tar.gz" % server.server_address[1]
    try:
        with pytest.raises(BertTF1Error, match="hub module %s: the download is not a TF1 Hub "
                           "module archive" % url.replace(".", r"\.")):
            hub_bert.resolve_url_handle(url, timeout=5)
    finally:
        thread.join(5)
        server.server_close()
