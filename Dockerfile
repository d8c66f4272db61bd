FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml ./
COPY config ./config
COPY apps ./apps
COPY sandbox ./sandbox
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir .
RUN useradd --create-home bookbridge && chown -R bookbridge /app
USER bookbridge
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "8", "--worker-tmp-dir", "/dev/shm"]
