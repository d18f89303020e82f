"""kubetm/labs/config.py: the env checks on a dict-backed Kube; Secret values stay hidden (no cluster)."""

from __future__ import annotations

import base64

from kubetm.labs import config

from .conftest import DictKube, _ctx


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _config_kube():
    pod1 = {
        "metadata": {"name": "pod-1"},
        "spec": {
            "containers": [
                {
                    "envFrom": [
                        {"configMapRef": {"name": "cm-dev"}},
                        {"secretRef": {"name": "sec-dev"}},
                    ]
                }
            ]
        },
    }
    podf = {
        "metadata": {"name": "pod-file"},
        "spec": {
            "containers": [
                {
                    "env": [
                        {
                            "name": "file-c",
                            "valueFrom": {
                                "configMapKeyRef": {"name": "cm-file", "key": "file-c.txt"}
                            },
                        },
                        {
                            "name": "file-s",
                            "valueFrom": {
                                "secretKeyRef": {"name": "sec-file", "key": "file-s.txt"}
                            },
                        },
                    ]
                }
            ]
        },
    }
    return DictKube(
        objects={
            ("Pod", "pod-1"): pod1,
            ("Pod", "pod-file"): podf,
            ("ConfigMap", "cm-dev"): {"data": {"SSH": "False", "User": "dev"}},
            ("Secret", "sec-dev"): {"data": {"Key": _b64("s3cr3t-1234")}},
            ("ConfigMap", "cm-file"): {"data": {"file-c.txt": "cm content\n"}},
            ("Secret", "sec-file"): {"data": {"file-s.txt": _b64("very secret file\n")}},
        },
        exec_out={
            "pod-1": "PATH=/bin\0SSH=False\0User=dev\0Key=s3cr3t-1234\0",
            "pod-file": "file-c=cm content\n\0file-s=very secret file\n\0HOME=/root\0",
        },
    )


def test_config_env_checks_pass_and_hide_secrets(no_wait):
    kube = _config_kube()
    ok, detail = config.env_from_literals(_ctx(kube))
    assert ok, detail
    assert "SSH=False" in detail and "User=dev" in detail
    assert "s3cr3t" not in detail and "<hidden, 11 bytes>" in detail
    ok, detail = config.env_from_files(_ctx(kube))
    assert ok, detail
    assert "very secret" not in detail and "cm content" in detail


def test_config_show_secrets_reveals(no_wait):
    ok, detail = config.env_from_literals(_ctx(_config_kube(), show_secrets=True))
    assert ok and "s3cr3t-1234" in detail


def test_config_env_mismatch_fails_without_printing_the_secret(no_wait):
    kube = _config_kube()
    kube.exec_out["pod-1"] = "SSH=False\0User=dev\0Key=other-value\0"
    ok, detail = config.env_from_literals(_ctx(kube))
    assert not ok and "DIFFERS" in detail and "other-value" not in detail and "s3cr3t" not in detail
