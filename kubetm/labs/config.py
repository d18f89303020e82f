"""Lab `config` — ConfigMap, Secret: environment from literals and files, files in a volume.

manifests/config/: cm-dev + sec-dev + pod-1 (envFrom), cm-file + sec-file + pod-file (valueFrom key),
pod-mount (cm-file mounted at /mount). Checks never print secret values.
"""

from kubetm.labs.base import Check, Lab, not_implemented

LAB = Lab(
    name="config",
    title="컨피그맵, 시크릿 — ConfigMap, Secret",
    lesson="Env (Literal), Env (File), Volume Mount (File): configuration kept out of the image",
    checks=(
        Check("env-from-literals", not_implemented(),
              "pod-1's environment has SSH and User from cm-dev and Key from sec-dev", timeout=90),
        Check("env-from-files", not_implemented(),
              "pod-file's file-c / file-s variables hold the contents of file-c.txt and file-s.txt", timeout=90),
        Check("volume-mount-files", not_implemented(),
              "pod-mount sees /mount/file-c.txt; a change to cm-file reaches the file (env would not change)", timeout=150),
    ),
)
