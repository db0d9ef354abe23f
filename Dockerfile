# The callcore daemon image. Asterisk and PostgreSQL run beside it (see README: compose example).
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
