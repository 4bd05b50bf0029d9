# The Airflow image for the SEND warehouse: the official image extended with the send_warehouse
# package (which brings dbt, Great Expectations and the providers it pins).
#
# Extended the way the Airflow image docs recommend ("Building the image": add packages as the
# airflow user, name apache-airflow==${AIRFLOW_VERSION} in the same pip call so that no dependency
# can upgrade or downgrade Airflow itself). constraints.txt locks the rest of the tree.
# The Airflow version here must match the apache-airflow pin in pyproject.toml (a test checks it).
FROM apache/airflow:3.3.2-python3.11

USER airflow

# Only what the install needs: DAGs, dbt project, expectations and plugins are mounted by
# docker-compose.yml, so editing them needs no rebuild.
COPY --chown=airflow:0 pyproject.toml constraints.txt README.md /tmp/send-warehouse/
COPY --chown=airflow:0 send_warehouse/ /tmp/send-warehouse/send_warehouse/

RUN pip install --no-cache-dir \
        "apache-airflow==${AIRFLOW_VERSION}" \
        --constraint /tmp/send-warehouse/constraints.txt \
        /tmp/send-warehouse \
    && rm -rf /tmp/send-warehouse

# Mount point of the send-data volume (run artefacts): created here so that a new named volume
# starts out owned by the airflow user.
RUN mkdir -p /opt/airflow/send-data
