# One image for every p06 service (worker, sink, gateway): the command picks the role.
FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 P06_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml constraints.txt README.md p06.py ./
COPY schemas schemas
COPY producers producers
COPY stack stack
COPY streams streams
COPY sinks sinks
COPY auth auth
COPY bench bench
# uid 1000, as apache/kafka's user: the broker reads the TLS files kafka-certs writes (docker-compose.yml)
RUN pip install -c constraints.txt . && useradd --create-home --uid 1000 p06 \
    && mkdir -p /data /kafka-tls /kafka-ca /kafka-users && chown p06 /data /kafka-tls /kafka-ca /kafka-users
USER p06
VOLUME ["/data"]
ENTRYPOINT ["p06"]
