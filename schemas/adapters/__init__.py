"""The contract's one touch of a library's private names: `schemas.adapters.vietnam_provinces`, the
official 2024 -> 2025 conversion tables, which vietnam_provinces ships only as private modules;
tests/test_adapter_vietnam_provinces.py goes red when the library publishes them (drop the adapter then)
or changes their shape. Kafka and framework adapters live in stack/adapters/ (the contract imports none).
"""

__all__ = ["vietnam_provinces"]
