# One image for the web server (daphne) and the worker (django-q2 qcluster).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 NUMBA_CACHE_DIR=/tmp/numba-cache DATA_DIR=/data \
    STATIC_ROOT=/app/staticfiles
WORKDIR /app
# gettext: msgfmt, to compile the translations (locale/*.po -> .mo, not committed) below.
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic and compilemessages need settings to load; these throwaway values exist only during the build.
RUN DEBUG=0 SECRET_KEY=build-only-$(date +%s)-not-a-secret-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx \
    ENCRYPTION_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ALLOWED_HOSTS=build \
    sh -c 'python manage.py collectstatic --noinput && python manage.py compilemessages --ignore=".venv" --verbosity 0' \
 && useradd --create-home --uid 1000 trader && mkdir -p /data && chown trader /data
USER trader
EXPOSE 8000
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "tradingbot.asgi:application"]
