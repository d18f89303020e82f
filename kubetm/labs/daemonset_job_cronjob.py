"""Lab `daemonset-job-cronjob` — DaemonSet, Job, CronJob.

manifests/daemonset-job-cronjob/: daemonset-1 (app, hostPort 18080), daemonset-2 (nodeSelector
kubetm.io/ds=true), job-1 (completions 6, parallelism 2), job-deadline (activeDeadlineSeconds 15),
cron-job (every minute), cron-allow / cron-forbid / cron-replace (concurrencyPolicy).
Exclusive: a check labels a node kubetm.io/ds=true; `lab delete` removes that label from every node.
"""

from kubetm.labs.base import Check, Lab, LabContext, not_implemented

DS_LABEL = "kubetm.io/ds"


def remove_ds_labels(ctx: LabContext) -> None:
    """Cleanup: take kubetm.io/ds off every node (a strategic-merge patch with null removes a label)."""
    kube = ctx.kube
    for node in kube.list("Node", selector=DS_LABEL):
        name = node["metadata"]["name"]
        kube.call(kube.core.patch_node, name, {"metadata": {"labels": {DS_LABEL: None}}},
                  what=f"remove label {DS_LABEL} from node {name}")


LAB = Lab(
    name="daemonset-job-cronjob",
    title="데몬셋, 잡, 크론잡 — DaemonSet, Job, CronJob",
    lesson="DaemonSet: one pod per node; Job: pods that finish; CronJob: Jobs on a schedule with a concurrency policy",
    exclusive=True,
    exclusive_reason="a check labels nodes (kubetm.io/ds) and daemonset-1 holds hostPort 18080 on every worker",
    cleanup=remove_ds_labels,
    checks=(
        Check("daemonset-one-per-node", not_implemented(),
              "daemonset-1 runs exactly one pod on each schedulable worker", timeout=90),
        Check("daemonset-hostport", not_implemented(),
              "every worker answers on hostPort 18080 (127.0.0.x:18080 on kind) from its own pod", timeout=90),
        Check("daemonset-node-selector", not_implemented(),
              "daemonset-2 has no pod until k8s-node1 gets kubetm.io/ds=true, then exactly one there; removing the label removes it", timeout=120),
        Check("job-completions-parallelism", not_implemented(),
              "job-1 completes 6 pods, never more than 2 running at once; pods end Completed, not restarted", timeout=120),
        Check("job-active-deadline", not_implemented(),
              "job-deadline fails with reason DeadlineExceeded after 15 s and its pod is gone", timeout=90),
        Check("cronjob-every-minute", not_implemented(),
              "cron-job creates a Job on the minute and it completes", timeout=150),
        Check("cronjob-concurrency-allow", not_implemented(),
              "cron-allow runs two Jobs at once when the 80 s run overlaps the next minute", timeout=180),
        Check("cronjob-concurrency-forbid", not_implemented(),
              "cron-forbid never has two active Jobs: the overlapping run is skipped", timeout=180),
        Check("cronjob-concurrency-replace", not_implemented(),
              "cron-replace deletes the running Job and starts the new one", timeout=180),
    ),
)
