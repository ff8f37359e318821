# The Placenet API image: the service, its CLI (`placenet`) and its fixtures.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md piccolo_conf.py ./
COPY api ./api
COPY models ./models
COPY fixtures ./fixtures
RUN pip install --no-cache-dir .
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
CMD ["placenet", "serve", "--host", "0.0.0.0", "--port", "8000"]
