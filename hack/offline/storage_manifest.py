"""Rewrite local-path-provisioner's own deploy manifest for the offline kind node.

Usage: storage_manifest.py UPSTREAM_YAML PROVISIONER_IMAGE HELPER_IMAGE  (prints YAML)
Same result as kind's default storage: StorageClass "standard" (default class, local-path
provisioner, WaitForFirstConsumer), volumes under /var/local-path-provisioner, images preloaded.
"""

import json
import sys

import yaml

src, provisioner, helper = sys.argv[1:4]
docs = [d for d in yaml.safe_load_all(open(src)) if d]
for d in docs:
    kind = d["kind"]
    if kind == "Deployment":
        spec = d["spec"]["template"]["spec"]
        spec["tolerations"] = [
            {
                "key": "node-role.kubernetes.io/control-plane",
                "operator": "Exists",
                "effect": "NoSchedule",
            }
        ]
        for c in spec["containers"]:
            c["image"] = provisioner
            c["imagePullPolicy"] = "IfNotPresent"
            c["command"] = [
                "local-path-provisioner",
                "--debug",
                "start",
                "--helper-image",
                helper,
                "--config",
                "/etc/config/config.json",
            ]
    elif kind == "StorageClass":
        d["metadata"]["name"] = "standard"
        d["metadata"].setdefault("annotations", {})[
            "storageclass.kubernetes.io/is-default-class"
        ] = "true"
    elif kind == "ConfigMap" and "config.json" in d.get("data", {}):
        d["data"]["config.json"] = json.dumps(
            {
                "nodePathMap": [
                    {
                        "node": "DEFAULT_PATH_FOR_NON_LISTED_NODES",
                        "paths": ["/var/local-path-provisioner"],
                    }
                ]
            },
            indent=2,
        )
        pod = yaml.safe_load(d["data"]["helperPod.yaml"])
        for c in pod["spec"]["containers"]:
            c["image"] = helper
            c["imagePullPolicy"] = "IfNotPresent"
        d["data"]["helperPod.yaml"] = yaml.safe_dump(pod, sort_keys=False)
print(yaml.safe_dump_all(docs, sort_keys=False), end="")
