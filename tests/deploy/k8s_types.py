"""The Kubernetes API fields deploy/ uses, as types to check manifests against (a subset of the
API's OpenAPI schema: apps/v1 DaemonSet, v1 Namespace and Service, and the Prometheus Operator's
monitoring.coreos.com/v1 ServiceMonitor and PrometheusRule). A field not listed here is an
error: a typo ("livenesProbe") is caught, not ignored as the API server's non-strict decoding
would. Keys ending in "!" are required.

Types: str, int, bool; QTY (a resource quantity), INT_OR_STR, DURATION (Prometheus duration);
("enum", values...); ("map", type) for string-keyed maps; [type] for lists; dicts for objects.
"""

QTY = "quantity"
INT_OR_STR = "int-or-string"
DURATION = "duration"
ANY_OBJECT = "object"


def enum(*values):
    return ("enum",) + values


def mapping(value_type):
    return ("map", value_type)


LABELS = mapping(str)

OBJECT_META = {"name!": str, "namespace": str, "labels": LABELS, "annotations": LABELS}
TEMPLATE_META = {"labels": LABELS, "annotations": LABELS}

LABEL_SELECTOR = {
    "matchLabels": LABELS,
    "matchExpressions": [{"key!": str, "operator!": enum("In", "NotIn", "Exists", "DoesNotExist"),
                          "values": [str]}],
}

PROBE = {
    "httpGet": {"path": str, "port!": INT_OR_STR, "host": str, "scheme": enum("HTTP", "HTTPS"),
                "httpHeaders": [{"name!": str, "value!": str}]},
    "tcpSocket": {"port!": INT_OR_STR, "host": str},
    "exec": {"command": [str]},
    "initialDelaySeconds": int,
    "periodSeconds": int,
    "timeoutSeconds": int,
    "successThreshold": int,
    "failureThreshold": int,
    "terminationGracePeriodSeconds": int,
}

SECCOMP = {"type!": enum("RuntimeDefault", "Localhost", "Unconfined"), "localhostProfile": str}

CONTAINER_SECURITY = {
    "capabilities": {"add": [str], "drop": [str]},
    "allowPrivilegeEscalation": bool,
    "privileged": bool,
    "readOnlyRootFilesystem": bool,
    "runAsUser": int,
    "runAsGroup": int,
    "runAsNonRoot": bool,
    "seccompProfile": SECCOMP,
}

POD_SECURITY = {
    "runAsUser": int,
    "runAsGroup": int,
    "runAsNonRoot": bool,
    "fsGroup": int,
    "supplementalGroups": [int],
    "seccompProfile": SECCOMP,
}

CONTAINER = {
    "name!": str,
    "image": str,
    "imagePullPolicy": enum("Always", "IfNotPresent", "Never"),
    "command": [str],
    "args": [str],
    "workingDir": str,
    "env": [{"name!": str, "value": str, "valueFrom": ANY_OBJECT}],
    "ports": [{"name": str, "containerPort!": int, "hostPort": int,
               "protocol": enum("TCP", "UDP", "SCTP")}],
    "securityContext": CONTAINER_SECURITY,
    "volumeMounts": [{"name!": str, "mountPath!": str, "readOnly": bool, "subPath": str}],
    "resources": {"requests": mapping(QTY), "limits": mapping(QTY)},
    "readinessProbe": PROBE,
    "livenessProbe": PROBE,
    "startupProbe": PROBE,
}

POD_SPEC = {
    "hostNetwork": bool,
    "hostPID": bool,
    "dnsPolicy": enum("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"),
    "nodeSelector": LABELS,
    "tolerations": [{"key": str, "operator": enum("Exists", "Equal"), "value": str,
                     "effect": enum("NoSchedule", "PreferNoSchedule", "NoExecute"),
                     "tolerationSeconds": int}],
    "automountServiceAccountToken": bool,
    "serviceAccountName": str,
    "priorityClassName": str,
    "securityContext": POD_SECURITY,
    "containers!": [CONTAINER],
    "initContainers": [CONTAINER],
    "volumes": [{"name!": str, "emptyDir": {"medium": enum("", "Memory"), "sizeLimit": QTY},
                 "configMap": ANY_OBJECT}],
    "terminationGracePeriodSeconds": int,
}

DAEMONSET = {
    "apiVersion!": str, "kind!": str, "metadata!": OBJECT_META,
    "spec!": {
        "selector!": LABEL_SELECTOR,
        "template!": {"metadata": TEMPLATE_META, "spec!": POD_SPEC},
        "updateStrategy": {"type": enum("RollingUpdate", "OnDelete"),
                           "rollingUpdate": {"maxUnavailable": INT_OR_STR,
                                             "maxSurge": INT_OR_STR}},
        "minReadySeconds": int,
        "revisionHistoryLimit": int,
    },
}

NAMESPACE = {"apiVersion!": str, "kind!": str, "metadata!": OBJECT_META}

SERVICE = {
    "apiVersion!": str, "kind!": str, "metadata!": OBJECT_META,
    "spec!": {
        "type": enum("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"),
        "clusterIP": str,
        "selector": LABELS,
        "ports!": [{"name": str, "port!": int, "targetPort": INT_OR_STR,
                    "protocol": enum("TCP", "UDP", "SCTP")}],
    },
}

RELABEL = {
    "sourceLabels": [str], "separator": str, "targetLabel": str, "regex": str, "modulus": int,
    "replacement": str,
    "action": enum("replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
                   "lowercase", "uppercase", "keepequal", "dropequal"),
}

SERVICE_MONITOR = {
    "apiVersion!": str, "kind!": str, "metadata!": OBJECT_META,
    "spec!": {
        "selector!": LABEL_SELECTOR,
        "namespaceSelector": {"matchNames": [str], "any": bool},
        "jobLabel": str,
        "targetLabels": [str],
        "podTargetLabels": [str],
        "endpoints!": [{"port": str, "targetPort": INT_OR_STR, "path": str, "scheme": str,
                        "interval": DURATION, "scrapeTimeout": DURATION, "honorLabels": bool,
                        "relabelings": [RELABEL], "metricRelabelings": [RELABEL]}],
    },
}

PROMETHEUS_RULE = {
    "apiVersion!": str, "kind!": str, "metadata!": OBJECT_META,
    "spec!": {
        "groups!": [{"name!": str, "interval": DURATION,
                     "rules!": [{"alert": str, "record": str, "expr!": str, "for": DURATION,
                                 "labels": LABELS, "annotations": LABELS}]}],
    },
}

# (apiVersion, kind) -> (type, namespaced)
KINDS = {
    ("v1", "Namespace"): (NAMESPACE, False),
    ("v1", "Service"): (SERVICE, True),
    ("apps/v1", "DaemonSet"): (DAEMONSET, True),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): (SERVICE_MONITOR, True),
    ("monitoring.coreos.com/v1", "PrometheusRule"): (PROMETHEUS_RULE, True),
}

# Linux capabilities as Kubernetes names them (capabilities(7) without CAP_), and ALL.
CAPABILITIES = {
    "ALL", "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE",
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER",
    "KILL", "LEASE", "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
    "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT",
    "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG",
    "WAKE_ALARM",
}
