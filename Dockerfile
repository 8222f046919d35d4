# One image for the web server (daphne) and the worker (django-q2 qcluster).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NUMBA_CACHE_DIR=/tmp/numba-cache DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings to load; these throwaway values exist only during the build.
RUN DEBUG=0 SECRET_KEY=build-only-$(date +%s)-not-a-secret-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx \
    ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput \
 && useradd --create-home --uid 1000 trader && mkdir -p /data && chown trader /data
USER trader
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "tradingbot.asgi:application"]
