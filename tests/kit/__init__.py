"""The tests' kit: the pipeline under test as real processes, and what each case checks it with.

Not shipped in the wheel (tests/ is not a package of it). Processes are started through the product's
own runner (stack.processes); expected figures come from the independent recount (sinks.checks.recount).

- pipeline: the worker as a process, publishing raw events, reading the live figures, operators' credentials
- sinkstream: the sink as a process, events made and published for it, what it archived
- faults: the sink process and the checks every fault case ends with (live, ClickHouse, reconcile agree)
- producers_support: reading back what the publisher and the gateway wrote to a topic
- cluster: a three-node cluster's health, and the province senders that keep publishing through its drills
"""
