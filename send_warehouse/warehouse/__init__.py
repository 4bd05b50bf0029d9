"""The warehouse: connections, the embedded default server and the schemas the pipeline owns."""
