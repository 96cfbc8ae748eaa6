# One image per service, built from the repository root with only that service's
# dependencies:  docker build -f deploy/docker/service.Dockerfile \
#                  --build-arg SERVICE=cases-api --build-arg MODULE=cases_api .
FROM python:3.11-slim AS build
ARG SERVICE
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock ./
# Every workspace member, even for one service: uv reads them all to check the lock.
COPY shared shared
COPY services services
COPY clients clients
# The lock pins everything; --package keeps only this service and the baton kit.
RUN uv sync --frozen --no-dev --no-editable --package "baton-${SERVICE}" \
      --python /usr/local/bin/python3.11

FROM python:3.11-slim
ARG MODULE
RUN useradd --system --uid 10001 --no-create-home baton \
    && install -d -o 10001 -m 0700 /var/lib/baton/signing-keys /var/lib/baton/cases-keys \
       /var/lib/baton/referrals-keys
COPY --from=build /src/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    BATON_SERVICE_MODULE=${MODULE}
USER 10001
EXPOSE 8000
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"$BATON_SERVICE_MODULE\" \"$@\"", "--"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
