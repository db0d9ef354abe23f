# The callcore daemon image, with the browser console it serves. Asterisk and PostgreSQL run beside it
# (see README: compose example).

# The console (console/): built with Debian 12's own Node.js 18 and npm 9, the toolchain the project
# supports and scripts/install-system.sh installs where a machine has none (still patched by Debian,
# unlike upstream's Node 18 and 20 images). Only dist/ is kept; node_modules stays in this stage.
FROM debian:bookworm-slim AS console
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /console
# The lock first: the dependencies' layer is reused until package-lock.json changes.
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY console/ ./
# Type check, then Vite; fails past the initial-JS limit (vite.config.ts).
RUN npm run build

FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng ffmpeg sox \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 callcore

WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY callcore ./callcore
COPY agi_scripts ./agi_scripts
COPY db ./db
COPY ivr ./ivr
COPY queues ./queues
COPY asterisk-conf ./asterisk-conf
# Editable so migrations (db/), menus (ivr/) and templates (asterisk-conf/) are found beside the code.
RUN pip install --no-cache-dir -r requirements.lock && pip install --no-cache-dir --no-deps -e . && mkdir -p /var/lib/callcore && chown callcore /var/lib/callcore
# Where the daemon looks by default (callcore/console/assets.py: console/dist beside the package, here
# /app/console/dist), so no CALLCORE_CONSOLE_DIR is needed.
COPY --from=console /console/dist ./console/dist

USER callcore
# Secrets come from the environment (CALLCORE_ARI_PASSWORD, CALLCORE_AMI_SECRET, CALLCORE_API_TOKEN; agents'
# SIP passwords are per agent, in the store); everything else from CALLCORE_* variables or a TOML file in CALLCORE_CONFIG.
ENV CALLCORE_RUN_DIR=/var/lib/callcore \
    CALLCORE_API_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
EXPOSE 8096 4574
VOLUME ["/var/lib/callcore"]
ENTRYPOINT ["callcore"]
CMD ["run"]
