"""fetch-weights: torchvision's files downloaded over HTTP into torch hub's cache, hash-checked.

A small file is served on 127.0.0.1; no test needs the internet.
"""

import functools
import hashlib
import http.server
import socket
import threading

import pytest
import torch

from hmrlib.models import weights
from hmrlib.models.weights import WeightsNotFound, download_weights, fetch_imagenet_weights, resolve_imagenet_weights

PAYLOAD = b"not really a ResNet, but bytes with a known SHA-256\n" * 100


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """torch hub's cache moved into the test's folder."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


@pytest.fixture
def server(tmp_path):
    """A folder served over HTTP on 127.0.0.1: (folder, base url)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def named_by_hash(data: bytes, stem: str = "resnet50") -> str:
    return f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.pth"


def test_a_served_file_is_downloaded_with_its_hash_checked(hub, server):
    served, url = server
    name = named_by_hash(PAYLOAD)
    (served / name).write_bytes(PAYLOAD)
    path = download_weights(url + name, progress=False)
    assert path == hub / name and path.read_bytes() == PAYLOAD
    (served / name).unlink()  # a second call keeps the file it has: no download
    assert download_weights(url + name, progress=False) == path


def test_a_wrong_file_is_refused_and_nothing_is_left(hub, server):
    served, url = server
    name = named_by_hash(b"what the name promises")
    (served / name).write_bytes(PAYLOAD)
    with pytest.raises(WeightsNotFound, match="not torchvision's"):
        download_weights(url + name, progress=False)
    assert not hub.exists() or not any(hub.iterdir())


def test_offline_says_the_url_and_the_folder(hub):
    with socket.socket() as s:  # a port with nobody listening: what a closed network answers
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{named_by_hash(PAYLOAD)}"
    with pytest.raises(WeightsNotFound) as err:
        download_weights(url, progress=False)
    assert url in str(err.value) and str(hub) in str(err.value)


def test_fetch_uses_torchvisions_file_name_and_download_mode_fetches_once(hub, server, monkeypatch):
    served, url = server
    name = named_by_hash(PAYLOAD, "resnext50_32x4d")
    monkeypatch.setitem(weights.WEIGHT_FILES, "resnext50", [name])
    monkeypatch.setattr(weights, "DOWNLOAD_ROOT", url)
    (served / name).write_bytes(PAYLOAD)
    assert resolve_imagenet_weights("resnext50", "if-available") is None
    with pytest.raises(WeightsNotFound, match="fetch-weights resnext50"):
        resolve_imagenet_weights("resnext50", "required")
    assert fetch_imagenet_weights("resnext50", base_url=url, progress=False) == hub / name
    assert resolve_imagenet_weights("resnext50", "required") == hub / name
    assert resolve_imagenet_weights("resnext50", "none") is None


def test_download_mode_fetches_a_missing_file(hub, server, monkeypatch):
    served, url = server
    name = named_by_hash(PAYLOAD)
    monkeypatch.setitem(weights.WEIGHT_FILES, "resnet50", [name])
    monkeypatch.setattr(weights, "DOWNLOAD_ROOT", url)
    (served / name).write_bytes(PAYLOAD)
    assert resolve_imagenet_weights("resnet50", "download") == hub / name


def test_the_command_line_reports_offline_in_one_line(hub, capsys):
    from hmrlib.__main__ import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["fetch-weights", "resnet50", "--base-url", f"http://127.0.0.1:{port}/"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("hmrlib: error: could not download") and "\n" not in error
