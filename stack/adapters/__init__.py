"""Every use of a third-party library's private name, one module per library, each with a test that
goes red when the touch is removed or upstream's behaviour returns:

- `stack.adapters.faust`: the partition a table write goes to (`acting_for`), the aiokafka producer
  under Faust's (`aiokafka_producer`), and Faust's transport with a short fetch wait and a flush that
  flushes (`App`); tests/test_transport.py, tests/test_adapter_faust.py.
- `stack.adapters.aiokafka`: the consumer's fetch wait (`set_fetch_max_wait`) and a metadata refresh
  (`refresh_metadata`); tests/test_transport.py, tests/test_adapter_aiokafka.py.
- `stack.adapters.kafka_python`: a producer closed now, whatever it still holds (`close_now`);
  tests/test_adapter_kafka_python.py.

Import the submodule you need: each imports its library, and Faust is heavy to import.
"""

__all__ = ["aiokafka", "faust", "kafka_python"]
