"""The validation layer: Great Expectations suites run in the warehouse after a source lands.

A source whose night fails a `block` expectation (schema drift, an empty or collapsed object, a
volume jump, broken keys, code sets or references at scale) is not rebuilt by dbt tonight;
row-level findings are warnings recorded in audit.validation_result. Importing this package
does not import great_expectations (that happens inside `validate_source`).
"""

from send_warehouse.validation.runner import ValidationBlocked, ValidationOutcome, validate_source

__all__ = ["ValidationBlocked", "ValidationOutcome", "validate_source"]
