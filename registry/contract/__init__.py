"""The job contract: the one part of ``registry/`` that ``workers/`` imports (a test checks it), and free of torch.

- ``kinds``: one params model per job kind, registered under the kind's name (``@job_kind``).
- ``handlers``: ``@handles(ParamsModel)`` registers the kind's handler, ``handler(context, params)``.
- ``context``: what a running handler sees (progress, cancellation, logs, input artifacts, outputs).
- ``running``: claiming and finishing a job, registering its outputs (through ``registry.domain``).
- ``sweeper``: the recovery loop every worker runs; ``platform``: settings, runtime, Celery, presence.
"""
