"""``kubectl seaway``: status, logs, restarts, scaling and smoke checks for Seaway services.

A kubectl plugin (the console script ``kubectl-seaway``) built on the Kubernetes Python client. It finds
Seaway services by the ``seaway.dev/service`` label on Deployments and honours the current kubeconfig,
``--context`` and ``-n/--namespace`` like kubectl does. ``cli`` wires the commands; each other module
holds one concern, and the ones that decide things (``status``, ``logline``, ``rollout``) are pure
functions over the client's model objects.
"""
