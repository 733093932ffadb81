# One image for api, worker and migrate (docker-compose.yml picks the command).
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements/constraints.txt requirements/constraints.txt
COPY agent/ agent/
COPY backend/ backend/
# The server needs no PyTorch; the agent package is included for `gradsight sync`.
RUN pip install --no-cache-dir -c requirements/constraints.txt ./agent ./backend
COPY --from=frontend /src/frontend/dist /app/static
RUN useradd --system --uid 10001 --home /data gradsight && mkdir -p /data && chown gradsight /data
ENV GRADSIGHT_STATIC_DIR=/app/static GRADSIGHT_DATA_DIR=/data
USER gradsight
EXPOSE 8000
CMD ["gradsight-server", "serve", "--host", "0.0.0.0", "--port", "8000"]
