# The Placenet API image: the service, its CLI (`placenet`) and its fixtures, installed from
# pyproject.toml exactly as `pip install .` builds it. docker-compose.yml runs it as the api service
# and as the one-off migrate and fixtures services.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md piccolo_conf.py ./
COPY api ./api
COPY models ./models
COPY fixtures ./fixtures
RUN pip install --no-cache-dir . \
    && useradd --system --no-create-home --home-dir /app placenet \
    && chown placenet /app
# Unprivileged: under compose all state is in PostgreSQL and Redis; /app itself is writable only so
# that a bare `docker run` can fall back to the default SQLite file.
USER placenet
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["placenet", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
