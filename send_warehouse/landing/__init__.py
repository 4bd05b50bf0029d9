"""Landing: source rows into the raw schemas with lineage, rejected rows into audit.quarantine."""
